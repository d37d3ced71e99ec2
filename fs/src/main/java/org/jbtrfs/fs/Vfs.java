package org.jbtrfs.fs;

import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;

/** The few VFS and super.c entry points the lifecycle uses. */
final class Vfs {
    private Vfs() { }

    /**
     * kernel: btrfs_sync_fs() in fs/btrfs/super.c — commit the running transaction, if there is one
     * (btrfs_attach_transaction_barrier: nothing running, nothing to do).
     */
    static void syncFs(FsContext ctx) {
        TransHandle h = Transactions.attach(ctx.fs, ctx.fs.treeRoot, "btrfs_sync_fs");
        if (h != null) {
            Transactions.commit(h);
        }
    }
}
