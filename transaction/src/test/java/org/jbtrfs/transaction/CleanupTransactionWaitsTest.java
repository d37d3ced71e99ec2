package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * btrfs_cleanup_transaction() (fs/btrfs/disk-io.c, v5.11), run by the transaction kthread once the filesystem is in
 * error state and by close_ctree's btrfs_error_commit_super: the running transaction is set COMMIT_DOING and waited for
 * until no handle is left in it ("we wait for 0 num_writers since we don't hold a trans handle open currently for this
 * transaction"); only then is it torn down and running_transaction cleared.
 *
 * <p>Stop 61, port bug, kernel functions read: btrfs_cleanup_transaction, cleanup_transaction, btrfs_cow_block (5.11).
 * The port tore every transaction on the list down at once and cleared running_transaction under a writer still in it:
 * its next COW warned "trans N running none" (class 8b955327 of stop 60's hunt, seed 60002, a create's COW after an
 * ENOSPC abort while a scrub ran). Fails on the old code: the cleanup does not wait.
 */
class CleanupTransactionWaitsTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void theCleanupWaitsForTheWritersOfTheRunningTransaction() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_writer");
        Transaction cur = h.transaction();
        Transactions.abort(fs, cur, new BtrfsException(Errno.EIO, "test abort"));
        TestThread<Void> cleanup = TestThread.run("cleanup", () -> Transactions.cleanupTransaction(fs));
        Waits.within().until(() -> "btrfs_cleanup_transaction: wait for writers".equals(t.kernel.sched().blocked().get("cleanup")));
        synchronized (fs.transLock) {
            assertSame(cur, fs.runningTransaction, "still the running transaction while a handle is in it");
            assertEquals(TransState.COMMIT_DOING, cur.state);
        }
        // the writer's next change fails on the abort, without btrfs_cow_block's "trans N running none"
        assertThrows(BtrfsException.class, () -> Trees.insert(h, fs.fsRoot(), key(1), new byte[] {1}));
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        Transactions.end(h);
        cleanup.join();
        synchronized (fs.transLock) {
            assertTrue(fs.runningTransaction == null && fs.transList.isEmpty(), "torn down once its last handle ended");
        }
        t.closeTail(fs);
    }
}
