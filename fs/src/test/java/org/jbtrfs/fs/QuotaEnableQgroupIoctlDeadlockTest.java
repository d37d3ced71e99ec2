package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * {@link FixSwitch#QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK} both ways — a kernel bug, kept: 5.11's btrfs_quota_enable()
 * commits holding qgroup_ioctl_lock, and BTRFS_IOC_QGROUP_CREATE joins a transaction before it takes that mutex. Found by
 * the port's lockdep once it had btrfs' transaction-state annotations (stop 47): {@link LockdepLifecycleTest}'s lifecycle
 * (a subvolume created, then quotas enabled) reported {@code &fs_info->qgroup_ioctl_lock -> btrfs_trans_num_extwriters}.
 * Decision: the kernel's — read btrfs_quota_enable, btrfs_create_qgroup, btrfs_ioctl_qgroup_create, btrfs_qgroup_inherit
 * and btrfs_commit_transaction (v5.11): the enable's commit is inside its qgroup_ioctl_lock section, and upstream fixed
 * the deadlock in v5.16 (232796df8c14, syzkaller's report of the same two tasks). The subvolume create of the lifecycle
 * cannot deadlock with the enable (both hold subvol_sem), which is why lockdep's report is the first sign; the qgroup
 * create ioctl holds no subvol_sem and hangs.
 */
class QuotaEnableQgroupIoctlDeadlockTest {

    /** The two tasks: quota enable, and the qgroup create that joined its transaction. */
    private record Racers(TestThread<Void> enable, TestThread<Void> create) { }

    /** Quota enable parked with its quota tree created (qgroup_ioctl_lock held); a qgroup create joins and waits for it. */
    private static Racers createBehindTheEnable(Repro r, Btrfs fs) {
        r.mod.hooks().parkAt(Hook.QGROUP_ENABLE_BEFORE_COMMIT);
        TestThread<Void> enable = TestThread.run("enable", fs::quotaEnable);
        r.mod.hooks().awaitParked(Hook.QGROUP_ENABLE_BEFORE_COMMIT, Repro.WAIT);
        TestThread<Void> create = TestThread.run("create", () -> fs.qgroupCreate(256));
        create.awaitBlockedIn("QgroupFsInfo", "mutexLock"); // joined the enable's transaction, then qgroup_ioctl_lock
        r.mod.hooks().release(Hook.QGROUP_ENABLE_BEFORE_COMMIT);
        return new Racers(enable, create);
    }

    @Test
    void revertedTheEnablesCommitWaitsForTheCreateThatWaitsForItsMutex() {
        try (Repro r = new Repro(c -> c.revert(FixSwitch.QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK))) {
            Btrfs fs = r.mountSettled("");
            Racers racers = createBehindTheEnable(r, fs);
            TestThread<Void> create = racers.create();
            Repro.awaitBlockedOn(fs, "enable", "commit: wait for writers");
            create.awaitBlockedIn("QgroupFsInfo", "mutexLock"); // still in mutex_lock(qgroup_ioctl_lock): the deadlock
            r.mod.kernel().panic("hung task: enable blocked in 'quota enable'");
            assertInstanceOf(KernelPanic.class, racers.enable().failure());
            // the create's mutex_lock is no sleep a panic ends: it gets the mutex the unwound enable gave back (ENOTCONN)
            assertInstanceOf(BtrfsException.class, create.failure());
        }
    }

    @Test
    void appliedTheEnableCommitsWithoutTheMutexAndTheCreateFindsQuotasOff() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            Racers racers = createBehindTheEnable(r, fs);
            TestThread<Void> create = racers.create();
            racers.enable().join();
            // the create took the mutex while the enable committed: quota_root is published only after the commit
            BtrfsException e = assertInstanceOf(BtrfsException.class, create.failure());
            assertEquals(Errno.ENOTCONN, e.errno());
            fs.qgroupCreate(256);
            assertEquals(Errno.EEXIST, assertThrows(BtrfsException.class, () -> fs.qgroupCreate(256)).errno());
            assertTrue(fs.qgroupUsage().stream().anyMatch(u -> u.qgroupid() == 256), fs.qgroupUsage().toString());
            fs.umount();
        }
    }

    /** Lockdep sees the cycle without a hang: a subvolume create (a handle, then the mutex), then quota enable. */
    private static Lockdep subvolumeThenEnable(boolean fixed) {
        try (Repro r = new Repro(c -> fixed ? c.lockdep(true) : c.lockdep(true).revert(FixSwitch.QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK))) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv"); // btrfs_qgroup_inherit: qgroup_ioctl_lock under the create's handle
            fs.quotaEnable(); // its commit under qgroup_ioctl_lock might wait for every handle
            fs.umount();
            return r.mod.kernel().lockdep();
        }
    }

    @Test
    void revertedLockdepReportsTheCycle() {
        Lockdep ld = subvolumeThenEnable(false);
        assertTrue(ld.reported(), "no report");
        assertTrue(ld.report().startsWith(Lockdep.CIRCULAR + "&fs_info->qgroup_ioctl_lock -> btrfs_trans_num_extwriters"),
            ld.report());
    }

    @Test
    void appliedLockdepHasNoCycle() {
        Lockdep ld = subvolumeThenEnable(true);
        assertFalse(ld.reported(), ld.report());
    }

    @Test
    void badInputGetsAClearError() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> fs.qgroupCreate(0)).errno());
            assertThrows(IllegalArgumentException.class, () -> fs.qgroupCreate(1L << 48 | 5));
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, () -> fs.qgroupCreate(256)).errno());
            fs.remount("ro");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> fs.qgroupCreate(256)).errno());
            fs.umount();
        }
    }
}
