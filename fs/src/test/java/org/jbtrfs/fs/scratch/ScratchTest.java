package org.jbtrfs.fs.scratch;

import java.time.Duration;
import org.jbtrfs.core.*;
import org.jbtrfs.fs.*;
import org.junit.jupiter.api.Test;

class ScratchTest {
    @Test
    void p5() {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().revert(FixSwitch.DELAYED_IPUTS_RO_REMOUNT));
        BlockDevice dev = mod.createDevice("sdc", 64L << 20);
        mod.mkfs(dev);
        Btrfs fs = mod.mount(dev, "");
        fs.createFile("a"); fs.createFile("b");
        FileHandle a = fs.open("a"); FileHandle b = fs.open("b");
        fs.unlink("a"); fs.unlink("b");
        mod.hooks().arm(Hook.CLEANER_BEFORE_CLEAR_RUNNING, HookAction.park());
        a.closeFromWorker();
        mod.hooks().awaitParked(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Duration.ofSeconds(5));
        b.closeFromWorker();
        System.out.println("iputs pending " + fs.inspect().delayedIputs());
        mod.hooks().disarm(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
        fs.remount("ro");
        System.out.println("after remount iputs pending " + fs.inspect().delayedIputs() + " trans " + fs.inspect().openTransactions());
        try { fs.umount(); } catch (RuntimeException e) { System.out.println("umount: " + e); }
        System.out.println(mod.unload());
    }

    @Test
    void costs() {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().crc32c(Crc32cImpl.GENERIC));
        BlockDevice dev = mod.createDevice("sdc", 64L << 20);
        long t0 = System.nanoTime();
        mod.mkfs(dev);
        long t1 = System.nanoTime();
        System.out.println("mkfs us " + (t1 - t0) / 1000);
        for (int round = 0; round < 3; round++) {
            t0 = System.nanoTime();
            int n = 2000;
            for (int i = 0; i < n; i++) {
                Btrfs fs = mod.mount(dev, "");
                fs.createFile("f");
                fs.unlink("f");
                fs.remount("ro");
                fs.umount();
            }
            t1 = System.nanoTime();
            System.out.println("minimal cycle us " + (t1 - t0) / 1000 / n);
        }
        Btrfs fs = mod.mount(dev, "");
        t0 = System.nanoTime();
        fs.createFile("g");
        for (int i = 0; i < 1000; i++) fs.writeFile("g", new byte[1]);
        t1 = System.nanoTime();
        System.out.println("1-byte write us " + (t1 - t0) / 1000 / 1000);
        t0 = System.nanoTime();
        fs.sync();
        System.out.println("sync us " + (System.nanoTime() - t0) / 1000);
        fs.quotaEnable();
        t0 = System.nanoTime();
        fs.quotaRescanWait();
        System.out.println("rescan wait us " + (System.nanoTime() - t0) / 1000 + " " + fs.qgroupUsage());
        t0 = System.nanoTime();
        try { for (int i = 0; i < 9; i++) { fs.createFile("big" + i); fs.writeFile("big" + i, new byte[1 << 20]); } } catch (RuntimeException e) { e.printStackTrace(System.out); throw e; }
        System.out.println("9MiB write us " + (System.nanoTime() - t0) / 1000);
        fs.sync();
        for (int i = 0; i < 9; i++) fs.unlink("big" + i);
        fs.sync();
        System.out.println(fs.fsInfo().space.unusedCount() + " unused");
        fs.remount("ro");
        fs.umount();
        System.out.println(mod.unload().clean() + "\n" + mod.log().dmesg().lines().filter(l -> !l.contains("info")).limit(40).toList());
    }
}
