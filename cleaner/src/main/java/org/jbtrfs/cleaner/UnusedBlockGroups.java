package org.jbtrfs.cleaner;

import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FreeSpaceTree;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;

/** kernel: btrfs_delete_unused_bgs() in fs/btrfs/block-group.c */
public final class UnusedBlockGroups {
    private final FsInfo fs;
    private final FreeSpaceInodes freeSpaceInodes;

    public UnusedBlockGroups(FsInfo fs, FreeSpaceInodes freeSpaceInodes) {
        this.fs = fs;
        this.freeSpaceInodes = freeSpaceInodes;
    }

    /**
     * kernel: btrfs_delete_unused_bgs() — for each group on unused_bgs: unlink it (from then on no other
     * caller can see it: the third patch 3/5 variant), re-check it under delete_unused_bgs_mutex, mark it
     * read-only, start the remove-block-group transaction, remove the chunk, and end the transaction
     * without committing it. Runs from the cleaner, from remount RO and from close_ctree.
     *
     * <p>Errors are the function's own, as the kernel's: a transaction that cannot start (ENOSPC, or EROFS on a
     * filesystem in error) makes the group writable again and stops the removals — every group still on the
     * list is taken off and put ({@code if (ret || ...) continue}); a failed removal aborts its transaction
     * (btrfs_remove_chunk). Nothing is thrown to the cleaner, the remount or close_ctree, which return void.
     */
    public void deleteUnusedBgs() {
        if (!fs.flags.test(FsFlag.OPEN)) {
            return;
        }
        BlockGroup bg;
        boolean failed = false;
        while ((bg = fs.space.pollUnused()) != null) {
            if (failed) {
                fs.space.putBlockGroup(bg);
                continue;
            }
            fs.discard.cancelWork(bg);
            fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
            fs.deleteUnusedBgsMutex.lock();
            try {
                if (fs.mountOpt.test(MountOpt.DISCARD_ASYNC) && !fs.space.isFreeSpaceTrimmed(bg)) {
                    // async discard discards a group before it is removed: not fully trimmed, back to its lists
                    fs.discard.queueWork(bg);
                    continue;
                }
                if (!fs.space.tryMarkRoForRemoval(bg)) {
                    continue;
                }
                TransHandle h;
                try {
                    h = Transactions.startFallbackGlobalRsv(fs, fs.extentRoot(), 3 + 1, "btrfs_start_trans_remove_block_group");
                } catch (org.jbtrfs.core.BtrfsException e) {
                    fs.space.decBlockGroupRo(bg);
                    failed = true;
                    continue;
                }
                try {
                    // btrfs_remove_chunk() → btrfs_remove_block_group(): the group's v1 cache inode is
                    // orphaned and handed to a delayed iput (none wakes us: we are the running cleaner), its
                    // free space tree items and its block group item go; the chunk is released at commit
                    freeSpaceInodes.removeFreeSpaceInode(h, bg);
                    FreeSpaceTree.removeBlockGroupFreeSpace(h, bg);
                    Trees.delete(h, fs.extentRoot(), new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()));
                    fs.space.removeBlockGroup(bg);
                    Transactions.addDeletedBlockGroup(h, bg);
                } catch (org.jbtrfs.core.BtrfsException e) {
                    Transactions.abort(h, "btrfs_remove_chunk", e);
                    failed = true;
                } finally {
                    Transactions.end(h);
                }
            } finally {
                fs.deleteUnusedBgsMutex.unlock();
                fs.space.putBlockGroup(bg);
            }
        }
    }
}
