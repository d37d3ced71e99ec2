package org.jbtrfs.stress.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * A hung task waiting for a kernel lock is named by the lock's waiter, not '?': an umount behind a remount that holds
 * s_umount (held at a hook) waits in the rwsem, which is no kernel sleep of {@link Watchdog#blockingFrame}.
 */
class LockFrameTest {
    @Test
    void anUmountBehindARemountHoldingSUmountIsNamedByItsLockWait() {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults())) {
            var dev = mod.createDevice("sdb", 64L << 20);
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            mod.hooks().parkAt(Hook.REMOUNT_AFTER_SET_RO);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            mod.hooks().awaitParked(Hook.REMOUNT_AFTER_SET_RO, Duration.ofSeconds(10)); // holding s_umount
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within(Duration.ofSeconds(10)).until(() -> Watchdog.lockFrame(umount.thread()) != null);
            assertNull(Watchdog.blockingFrame(umount.thread()), "no kernel sleep: the old '?'");
            assertEquals("lock <- Btrfs.umount", Watchdog.hungFrame(umount.thread()));
            mod.hooks().release(Hook.REMOUNT_AFTER_SET_RO);
            remount.join();
            umount.join();
        }
    }
}
