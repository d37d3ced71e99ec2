package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * A hung module is "rebooted" by a kernel panic: every uninterruptible sleep of it ends with
 * KernelPanic, every later call is refused with it, and the module can still be unloaded — it reports
 * what the never-closed filesystem held, and no thread of it survives.
 */
class KernelPanicTest {

    @Test
    void aPanicEndsARemountWaitingForTheCleanerAndTheModuleStillUnloads() throws Exception {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_CLEAR_RUNNING); // a pass that never ends
            assertTrue(fs.wakeCleaner());
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_CLEAR_RUNNING, Repro.WAIT);
            TestThread<Void> remount = TestThread.run("mount -o remount,ro", () -> fs.remount("ro"));
            Waits.within(Repro.WAIT).until(() -> fs.fsInfo().flags.waiters(FsFlag.CLEANER_RUNNING) == 1);

            r.mod.kernel().panic("hung task: mount blocked for more than 120 seconds");

            Throwable e = remount.failure();
            assertInstanceOf(KernelPanic.class, e);
            assertTrue(e.getMessage().startsWith("Kernel panic - not syncing: hung task"), e.getMessage());
            Waits.within(Repro.WAIT).until(() -> fs.fsInfo().cleanerKthread().hasExited()); // its hook sleep ended too
            assertEquals(1, r.mod.log().count(LogEntry.Kind.PANIC));
            assertThrows(KernelPanic.class, fs::umount, "nothing runs kernel code after a panic");
            assertThrows(KernelPanic.class, () -> r.mod.mount(r.dev, ""));

            UnloadReport rep = r.mod.unload();
            assertEquals(List.of(), rep.threadsAlive(), "no thread of the module survives the panic and the unload");
            assertTrue(r.mod.log().contains("workqueue: btrfs-worker (device sdc) was not destroyed before module unload"),
                "what the never-closed filesystem held is reported: " + r.mod.log().dmesg());
            assertEquals(List.of(), r.mod.mounts());
        }
    }
}
