package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * BTRFS_IOC_START_SYNC and BTRFS_IOC_WAIT_SYNC (v5.11 ioctl.c btrfs_ioctl_start_sync, btrfs_ioctl_wait_sync;
 * transaction.c btrfs_wait_for_commit), and btrfs_attach_transaction_barrier in btrfs_sync_fs and btrfs_freeze.
 */
class SyncIoctlsTest {

    /** Both ways of committing: the 5.11 kworker (the switch reverted) and the v5.17 transaction kthread. */
    @ParameterizedTest(name = "commit in a system_wq kworker (5.11)={0}")
    @ValueSource(booleans = {true, false})
    void startSyncCommitsTheRunningTransactionAndWaitSyncWaitsForIt(boolean kworker) {
        FixSwitch[] reverted = kworker ? new FixSwitch[] {FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD} : new FixSwitch[0];
        try (Repro r = new Repro(Crc32cImpl.GENERIC, reverted)) {
            Btrfs fs = r.mountSettled("");
            long before = fs.inspect().generation();
            assertEquals(before, fs.startSync(), "nothing running: the last committed transaction");
            fs.createFile("f");
            long transid = fs.startSync();
            assertEquals(before + 1, transid);
            fs.waitSync(transid);
            assertEquals(transid, fs.inspect().generation());
            fs.waitSync(0); // nothing committing now
            fs.waitSync(1); // long committed
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.waitSync(transid + 5));
            assertEquals(Errno.EINVAL, e.errno());
            assertThrows(IllegalArgumentException.class, () -> fs.waitSync(-1));
            fs.createFile("g"); // the filesystem stays usable
            assertEquals(0, fs.readFile("g").length);
            fs.umount();
            var rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** Neither ioctl takes write access: on a read-only mount START_SYNC finds nothing to commit and starts nothing. */
    @Test
    void aReadOnlyMountAnswersWithoutATransaction() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.umount();
            fs = r.mountSettled("ro");
            long generation = fs.inspect().generation();
            assertEquals(generation, fs.startSync());
            fs.waitSync(generation);
            assertTrue(fs.inspect().openTransactions().isEmpty());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A port bug fixed in stop 53: btrfs_sync_fs attached without the barrier, so a sync arriving while another task's
     * commit was UNBLOCKED (no longer the running transaction, its superblock not yet written) returned at once — before
     * what it was asked to make durable was on disk. btrfs_attach_transaction_barrier waits for that commit to complete.
     */
    @Test
    void syncWaitsForACommitThatIsUnblockedButNotYetComplete() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            r.mod.hooks().parkAt(Hook.COMMIT_AFTER_UNBLOCKED, Role.USER);
            TestThread<Void> first = TestThread.run("sync-1", fs::sync);
            r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_UNBLOCKED, Repro.WAIT);
            // the first sync's commit holds there (the arm was for one arrival); a second sync must wait for it
            TestThread<Void> second = TestThread.run("sync-2", fs::sync).describedBy(r::sleepingOn)
                .awaitBlockedOn("wait_for_commit");
            r.mod.hooks().disarm(Hook.COMMIT_AFTER_UNBLOCKED);
            first.join();
            second.join();
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
