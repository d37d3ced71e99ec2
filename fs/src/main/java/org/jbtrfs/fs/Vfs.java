package org.jbtrfs.fs;

import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.WbSyncMode;

/** The few VFS and super.c entry points the lifecycle uses. */
final class Vfs {
    private Vfs() { }

    /**
     * kernel: sync_filesystem() in fs/sync.c — nothing on a read-only superblock; else
     * __sync_filesystem(sb, 0) (writeback_inodes_sb, then sync_fs(sb, 0)) and __sync_filesystem(sb, 1)
     * (sync_inodes_sb — WB_SYNC_ALL, the btree inode's dirty pages through btrfs_submit_metadata_bio —
     * then sync_fs(sb, 1)). syncfs(2), every RW umount (generic_shutdown_super) and every remount of an RW
     * superblock (btrfs_remount, before BTRFS_FS_STATE_REMOUNTING is set) run it.
     */
    static void syncFilesystem(FsContext ctx) {
        if (ctx.fs.sbRdonly()) {
            return;
        }
        ctx.writeback.writebackInodesSb();
        syncFs(ctx, false);
        ctx.writeback.syncInodesSb();
        syncFs(ctx, true);
    }

    /**
     * kernel: btrfs_sync_fs() in fs/btrfs/super.c — wait=0: filemap_flush of the btree mapping
     * (WB_SYNC_NONE: nothing below the dirty metadata threshold). wait=1: wait for every ordered extent
     * (btrfs_wait_ordered_roots), then commit the running transaction, if there is one
     * (btrfs_attach_transaction_barrier: nothing running, nothing to do; pending_changes is not modelled).
     */
    static void syncFs(FsContext ctx, boolean wait) {
        if (!wait) {
            ctx.fs.btreeInode.writepages(WbSyncMode.NONE);
            return;
        }
        ctx.ordered.waitOrderedRoots();
        TransHandle h = Transactions.attach(ctx.fs, ctx.fs.treeRoot(), "btrfs_sync_fs");
        if (h != null) {
            Transactions.commit(h);
        }
    }
}
