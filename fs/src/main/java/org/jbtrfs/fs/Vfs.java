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
     *
     * <p>5.11's __sync_filesystem() drops what ->sync_fs returns (v5.17's 5679897eb104 forwards it): a
     * commit that fails in btrfs_sync_fs — its transaction aborted, the filesystem forced read-only — does
     * not stop the umount or the remount that called it. The port returns that error instead of dropping
     * it, for syncfs(2) (see {@link Btrfs#sync()}); generic_shutdown_super and btrfs_remount ignore it.
     *
     * @return the error btrfs_sync_fs returned, or null
     */
    static org.jbtrfs.core.BtrfsException syncFilesystem(FsContext ctx) {
        if (ctx.fs.sbRdonly()) {
            return null;
        }
        ctx.writeback.writebackInodesSb();
        org.jbtrfs.core.BtrfsException first = syncFsReturning(ctx, false);
        ctx.writeback.syncInodesSb();
        org.jbtrfs.core.BtrfsException second = syncFsReturning(ctx, true);
        return first != null ? first : second;
    }

    /** ->sync_fs(sb, wait), its error returned (as the kernel's callers see a return value) instead of thrown. */
    private static org.jbtrfs.core.BtrfsException syncFsReturning(FsContext ctx, boolean wait) {
        try {
            syncFs(ctx, wait);
            return null;
        } catch (org.jbtrfs.core.BtrfsException e) {
            return e;
        }
    }

    /**
     * kernel: btrfs_sync_fs() in fs/btrfs/super.c — wait=0: filemap_flush of the btree mapping
     * (WB_SYNC_NONE: nothing below the dirty metadata threshold). wait=1: wait for every ordered extent
     * (btrfs_wait_ordered_roots), then commit the running transaction, if there is one
     * (btrfs_attach_transaction_barrier: with nothing running, wait for a transaction still committing to complete;
     * pending_changes is not modelled).
     */
    static void syncFs(FsContext ctx, boolean wait) {
        if (!wait) {
            ctx.fs.btreeInode.writepages(WbSyncMode.NONE);
            return;
        }
        ctx.ordered.waitOrderedRoots();
        TransHandle h = Transactions.attachBarrier(ctx.fs, ctx.fs.treeRoot(), "btrfs_sync_fs");
        if (h != null) {
            Transactions.commit(h);
        }
    }
}
