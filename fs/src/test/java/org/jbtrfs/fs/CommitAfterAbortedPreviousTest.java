package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.DiskIo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A transaction started while the previous one was UNBLOCKED (its roots switched, no longer the running transaction, its
 * tree blocks not yet written) must never be committed once that previous commit failed to write: its trees point at
 * blocks the failed transaction COWed and never wrote.
 *
 * <p>Kernel or port: <b>port bug</b>, found by the 10-minute every-fix hunt of stop 67 (class {@code 51e362db}, seed
 * 67014, cycle 4285: an injected {@code write-and-wait-transaction-eio} in a kworker's commit, a second abort on a read
 * of a block the failed write never wrote, and at umount a block group's reserved bytes, the global reserve and 11
 * delayed ref heads left over). Read: 5.11 transaction.c btrfs_commit_transaction (its test after COMMIT_START, lines
 * 2120–2146: {@code wait_for_commit(prev_trans)} — which waits for COMPLETED only — then {@code ret =
 * READ_ONCE(prev_trans->aborted); if (ret) goto cleanup_transaction}, and with no previous transaction left on
 * trans_list, {@code BTRFS_FS_STATE_TRANS_ABORTED} → -EROFS, "to prevent writing a new superblock that reflects a corrupt
 * state (pointing to trees with unwritten nodes/leafs)"), wait_for_commit, cleanup_transaction; mainline reads the same.
 * The port waited for the previous transaction to be COMPLETED <em>or aborted</em> and committed on in both cases; a
 * caller waiting for another task's commit got no error when that commit failed.
 */
class CommitAfterAbortedPreviousTest {

    /** The previous transaction still on trans_list when the commit looks: its abort is this commit's error. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aCommitWaitingForAPreviousTransactionThatFailsToWriteFailsWithItsError(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            FailingCommit c = aFailingCommitAfterAGoodOne(r);
            Btrfs fs = c.fs();
            fs.createFile("lost-2"); // a new transaction: the first one is UNBLOCKED, no longer the running one
            TestThread<Void> second = TestThread.run("sync-2", fs::sync).describedBy(r::sleepingOn)
                .awaitBlockedOn("commit: wait for the previous transaction");
            r.mod.hooks().disarm(Hook.COMMIT_AFTER_UNBLOCKED);
            assertInstanceOf(BtrfsException.class, c.first().failure());
            BtrfsException e = assertInstanceOf(BtrfsException.class, second.failure(), "the commit must not go on");
            assertEquals(Errno.EIO, e.errno(), "prev_trans->aborted: the failed write's -EIO");
            assertNothingCommittedAfter(r, fs, c.committed(), crc);
        }
    }

    /** The previous transaction already torn down and off trans_list: BTRFS_FS_STATE_TRANS_ABORTED refuses (-EROFS). */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aCommitAfterThePreviousTransactionFailedAndLeftTheListIsRefused(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            FailingCommit c = aFailingCommitAfterAGoodOne(r);
            Btrfs fs = c.fs();
            // quota enable's handle (btrfs_start_transaction) opens the next transaction and holds it up to its commit
            r.mod.hooks().parkAt(Hook.QGROUP_ENABLE_BEFORE_COMMIT, Role.USER);
            TestThread<Void> quota = TestThread.run("quota-enable", fs::quotaEnable);
            r.mod.hooks().awaitParked(Hook.QGROUP_ENABLE_BEFORE_COMMIT, Repro.WAIT);
            r.mod.hooks().disarm(Hook.COMMIT_AFTER_UNBLOCKED);
            assertInstanceOf(BtrfsException.class, c.first().failure()); // torn down: off trans_list
            r.mod.hooks().arm(Hook.COMMIT_AFTER_UNBLOCKED, HookAction.count());
            r.mod.hooks().disarm(Hook.QGROUP_ENABLE_BEFORE_COMMIT);
            BtrfsException e = assertInstanceOf(BtrfsException.class, quota.failure(), "the commit must not go on");
            assertEquals(Errno.EROFS, e.errno());
            // refused before btrfs_run_delayed_items: the port's commit ran on to UNBLOCKED and failed at the write
            // (btree_write_cache_pages' -EROFS), the same errno for another reason
            assertEquals(0, r.mod.hooks().hits(Hook.COMMIT_AFTER_UNBLOCKED), "the refused commit went on");
            assertNothingCommittedAfter(r, fs, c.committed(), crc);
        }
    }

    /** The filesystem, the generation of its last good commit ("kept"), and the sync of "lost-1" held UNBLOCKED. */
    private record FailingCommit(Btrfs fs, long committed, TestThread<Void> first) { }

    private static FailingCommit aFailingCommitAfterAGoodOne(Repro r) {
        Btrfs fs = r.mountSettled("");
        fs.createFile("kept");
        fs.sync();
        long committed = superGeneration(r);
        fs.createFile("lost-1");
        return new FailingCommit(fs, committed, failingCommitParkedUnblocked(r, fs));
    }

    /** A sync whose commit is held UNBLOCKED, its write to fail with -EIO (btrfs_write_and_wait_transaction). */
    private static TestThread<Void> failingCommitParkedUnblocked(Repro r, Btrfs fs) {
        r.mod.faults().armOnce(Fault.WRITE_AND_WAIT_TRANSACTION_EIO);
        r.mod.hooks().parkAt(Hook.COMMIT_AFTER_UNBLOCKED, Role.USER);
        TestThread<Void> first = TestThread.run("sync-1", fs::sync);
        r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_UNBLOCKED, Repro.WAIT);
        return first;
    }

    /** No superblock after {@code committed}; the image checks clean and mounts with what that commit had. */
    private static void assertNothingCommittedAfter(Repro r, Btrfs fs, long committed, Crc32cImpl crc) {
        assertEquals(committed, superGeneration(r), "a superblock written on top of trees never written");
        fs.umount();
        r.assertCommittedImageHolds(crc, List.of("kept"));
    }

    private static long superGeneration(Repro r) {
        SuperBlock sb = DiskIo.readSuper(r.dev, r.mod.kernel().crc32c());
        return sb.generation;
    }
}
