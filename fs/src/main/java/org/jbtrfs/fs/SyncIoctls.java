package org.jbtrfs.fs;

import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;

/**
 * The transaction-commit ioctls of fs/btrfs/ioctl.c: BTRFS_IOC_START_SYNC and BTRFS_IOC_WAIT_SYNC, what btrfs-progs'
 * wait_for_commit() issues after {@code btrfs subvolume delete -c}. Neither takes write access: both work on a
 * read-only mount.
 */
final class SyncIoctls {
    private SyncIoctls() { }

    /**
     * kernel: btrfs_ioctl_start_sync() — attach to the running transaction (a barrier: with none, wait for one still
     * committing) and commit it asynchronously (btrfs_commit_transaction_async: returns once the commit has started);
     * with no transaction running, the id of the last committed one. Returns the transaction id to wait for.
     */
    static long startSync(FsContext ctx, Root root) {
        FsInfo fs = ctx.fs;
        TransHandle trans = Transactions.attachBarrier(fs, root, "btrfs_ioctl_start_sync");
        if (trans == null) {
            return fs.lastTransCommitted(); // no running transaction, don't bother
        }
        long transid = trans.transid();
        try {
            Transactions.commitAsync(trans);
        } catch (RuntimeException e) {
            if (!trans.isEnded()) {
                Transactions.end(trans); // the async commit could not join its handle
            }
            throw e;
        }
        return transid;
    }

    /**
     * kernel: btrfs_ioctl_wait_sync() — btrfs_wait_for_commit(fs_info, transid): 0 waits for the newest transaction
     * committing; EINVAL for a transaction that does not exist yet.
     */
    static void waitSync(FsContext ctx, long transid) {
        Transactions.waitForCommit(ctx.fs, transid);
    }
}
