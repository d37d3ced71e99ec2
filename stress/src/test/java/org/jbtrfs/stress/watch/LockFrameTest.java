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
            assertEquals("lock <- Btrfs.umountHoldingTheMount", Watchdog.hungFrame(umount.thread()));
            mod.hooks().release(Hook.REMOUNT_AFTER_SET_RO);
            remount.join();
            umount.join();
        }
    }

    /**
     * Port bug (stop 47, the explorer's watchdog): a mount waiting in down(uuid_tree_rescan_sem) for a uuid scan in
     * progress (its btrfs-uuid kthread holds the semaphore) is a lock wait, not a kernel sleep for an event — a slow
     * scan is no stall. A first 5.11 mount does wait so: start_pre_rw_mount's btrfs_create_uuid_tree starts the scan,
     * and open_ctree's "checking UUID tree" (the superblock's uuid_tree_generation not yet current) downs the semaphore
     * for btrfs_check_uuid_tree. Stop 46 made down() a module sleep a panic ends, and stall sampling then named it:
     * CI's ShardProcessTest, four JVMs on two CPUs, got {@code stall:mount in Sched.down <- UuidScan.down}. A hang there
     * is still named, by its waiter.
     */
    @Test
    void aMountWaitingForAUuidScanIsALockWaitNotAStall() {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults())) {
            var dev = mod.createDevice("sdb", 64L << 20);
            mod.mkfs(dev);
            mod.hooks().parkAt(Hook.UUID_SCAN_NEXT_ROOT);
            TestThread<Btrfs> mount = TestThread.call("mount", () -> mod.mount(dev, ""));
            mod.hooks().awaitParked(Hook.UUID_SCAN_NEXT_ROOT, Duration.ofSeconds(10)); // the scan holds the semaphore
            Waits.within(Duration.ofSeconds(10)).until(() -> Watchdog.lockFrame(mount.thread()) != null);
            assertNull(Watchdog.blockingFrame(mount.thread()), "not a kernel sleep for an event: no stall");
            assertEquals("lock <- UuidScan.down", Watchdog.hungFrame(mount.thread()));
            mod.hooks().release(Hook.UUID_SCAN_NEXT_ROOT); // the scan goes on and ends
            mount.join().umount();
        }
    }
}
