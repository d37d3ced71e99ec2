package org.jbtrfs.cleaner;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.disk.FreeSpaceHeader;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FreeSpaceCache;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;

/**
 * The VFS side of the v1 free space cache inodes (free-space-cache.c): removing a block group's cache
 * inode — an orphan item in the root tree, clear_nlink (which the VFS counts in s_remove_count), the
 * group's reference dropped and the lookup reference handed to btrfs_add_delayed_iput, so the inode is
 * evicted (truncated, its items deleted, in a transaction) by whoever runs delayed iputs next.
 */
public final class FreeSpaceInodes {
    private final FsInfo fs;
    private final Inodes inodes;
    private final DelayedIputs delayedIputs;

    public FreeSpaceInodes(FsInfo fs, Inodes inodes, DelayedIputs delayedIputs) {
        this.fs = fs;
        this.inodes = inodes;
        this.delayedIputs = delayedIputs;
    }

    /**
     * kernel: btrfs_remove_free_space_inode() in fs/btrfs/free-space-cache.c (5.11; inline in
     * btrfs_remove_block_group in 5.10) — look the cache inode up (a reference), give it an orphan item,
     * clear its link count, drop the group's reference, queue the lookup reference as a delayed iput, and
     * delete the free space header. A group without a cache inode: nothing to do.
     *
     * <p>The group's own reference (block_group->inode) is the group's iref flag in the port, so dropping it
     * is clearing the flag; the lookup reference is the in-memory inode's i_count of 1, which
     * btrfs_add_delayed_iput, being the last, queues. When the caller is the running cleaner, no wake-up
     * comes with it (CLEANER_RUNNING is set): the inode waits for the next pass — or, on a filesystem gone
     * read-only, for close_ctree's assertion.
     */
    public void removeFreeSpaceInode(TransHandle h, BlockGroup bg) {
        Key location = FreeSpaceCache.lookupInodeKey(fs, bg);
        if (location == null) {
            return; // -ENOENT: the group never had a cache inode
        }
        Inode inode;
        try {
            inode = inodes.iget(fs.treeRoot(), location.objectid());
        } catch (BtrfsException e) {
            if (e.errno() == Errno.ENOENT) {
                return;
            }
            throw e;
        }
        fs.space.grabCacheInodeRef(bg); // lookup_free_space_inode takes the group's reference if it had none
        try {
            inodes.orphanAdd(h, fs.treeRoot(), location.objectid());
        } catch (RuntimeException e) {
            delayedIputs.add(inode);
            throw e;
        }
        inodes.setNlink(inode, 0); // clear_nlink(): s_remove_count++
        // "One for the block groups ref": iput, never the last one here (we hold the lookup reference)
        fs.space.dropCacheInodeRef(bg);
        // "One for the lookup ref"
        delayedIputs.add(inode);
        if (Trees.lookup(fs, fs.treeRoot(), FreeSpaceHeader.key(bg.start())) != null) {
            Trees.delete(h, fs.treeRoot(), FreeSpaceHeader.key(bg.start()));
        }
    }

    /**
     * kernel: btrfs_set_free_space_cache_v1_active(fs_info, false) with cleanup_free_space_cache_v1() (5.11)
     * — a read-write mount without space_cache=v1 on a filesystem whose super still has a cache_generation:
     * every block group's cache inode is removed and the commit zeroes cache_generation.
     */
    public void disableSpaceCacheV1() {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_set_free_space_cache_v1_active");
        try {
            fs.flags.set(FsFlag.CLEANUP_SPACE_CACHE_V1);
            fs.log().info(fs.sbId(), "cleaning free space cache v1");
            for (BlockGroup bg : fs.space.blockGroups()) {
                removeFreeSpaceInode(h, bg);
            }
        } catch (RuntimeException e) {
            Transactions.abort(h, "btrfs_set_free_space_cache_v1_active", e);
            Transactions.end(h);
            fs.flags.clear(FsFlag.CLEANUP_SPACE_CACHE_V1);
            throw e;
        }
        try {
            Transactions.commit(h);
        } finally {
            fs.flags.clear(FsFlag.CLEANUP_SPACE_CACHE_V1);
        }
    }

    /** kernel: btrfs_set_free_space_cache_v1_active(fs_info, true) — a commit records cache_generation. */
    public void enableSpaceCacheV1() {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_set_free_space_cache_v1_active");
        Transactions.commit(h);
    }
}
