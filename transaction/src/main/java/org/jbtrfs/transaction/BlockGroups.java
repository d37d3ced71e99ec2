package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;

/** Mount-time block group reading, and marking a group read-only for scrub (block-group.c). */
public final class BlockGroups {
    private BlockGroups() { }

    /**
     * kernel: btrfs_inc_block_group_ro(cache, do_chunk_alloc=false) in fs/btrfs/block-group.c (v5.11), as scrub calls
     * it — mark {@code bg} read-only for one more holder (inc_block_group_ro(cache, 0)) under ro_block_group_mutex,
     * inside a joined transaction: btrfs_join_transaction starts one when none runs, on a read-only filesystem too,
     * where nothing will commit it. With {@link FixSwitch#SCRUB_RO_MOUNT_TRANSACTION} (2d192fc4c1ab, v5.17) a read-only
     * superblock skips the transaction. Not modelled: the back-off when the transaction's dirty block groups are being
     * written (BTRFS_TRANS_DIRTY_BG_RUN: the port writes them in commit_cowonly_roots, after COMMIT_DOING blocks
     * joins, so a joined handle never sees it), and the chunk allocation, which scrub does not ask for.
     *
     * @return false for -ENOSPC (the space_info cannot spare the group's free bytes)
     * @throws BtrfsException from the join (an aborted filesystem: EROFS)
     */
    public static boolean incBlockGroupRo(FsInfo fs, BlockGroup bg) { return incBlockGroupRo(fs, bg, false); }

    /**
     * {@link #incBlockGroupRo(FsInfo, BlockGroup)} with do_chunk_alloc (a dev-replace's copy, which must have every group
     * read-only): a group that cannot be set read-only now gets a new chunk of its type allocated
     * (btrfs_chunk_alloc, CHUNK_ALLOC_FORCE, through the joined handle) and is tried again; -ENOSPC (false) when no
     * chunk fits. A read-only filesystem with the later fix allocates nothing.
     */
    public static boolean incBlockGroupRo(FsInfo fs, BlockGroup bg, boolean doChunkAlloc) {
        if (fs.applied(FixSwitch.SCRUB_RO_MOUNT_TRANSACTION) && fs.sbRdonly()) {
            // "read-only scrub on read-only mount ... we should not start a new transaction on read-only fs"
            return incUnderRoBlockGroupMutex(fs, bg);
        }
        TransHandle h = Transactions.join(fs, fs.extentRoot(), "btrfs_inc_block_group_ro");
        try {
            fs.roBlockGroupMutex.lock();
            try {
                if (fs.space.incBlockGroupRo(bg)) {
                    return true;
                }
                return doChunkAlloc && fs.space.allocChunkForcedFor(bg.type(), h.newBgs) && fs.space.incBlockGroupRo(bg);
            } finally {
                fs.roBlockGroupMutex.unlock();
            }
        } finally {
            Transactions.end(h);
        }
    }

    /** inc_block_group_ro(cache, 0) under ro_block_group_mutex. */
    private static boolean incUnderRoBlockGroupMutex(FsInfo fs, BlockGroup bg) {
        fs.roBlockGroupMutex.lock();
        try {
            return fs.space.incBlockGroupRo(bg);
        } finally {
            fs.roBlockGroupMutex.unlock();
        }
    }

    /**
     * kernel: btrfs_read_block_groups() plus the free-space caching of caching_kthread — one block group
     * per item, then every extent item marks its range allocated. Empty groups go on unused_bgs. With
     * space_cache=v1 a super cache_generation other than the super's generation (mkfs's (u64)-1, or a mount
     * without v1 since) or clear_cache means no cache can be trusted (need_clear: DC_CLEAR); otherwise each
     * group's cache is loaded and checked (load_free_space_cache; the port caches every group at mount).
     */
    public static void readBlockGroups(FsInfo fs) {
        long generation;
        long cacheGen;
        synchronized (fs.transLock) {
            generation = fs.superCopy.generation;
            cacheGen = fs.superCopy.cacheGeneration;
        }
        boolean spaceCache = fs.mountOpt.test(MountOpt.SPACE_CACHE);
        boolean needClear = spaceCache && generation != cacheGen || fs.mountOpt.test(MountOpt.CLEAR_CACHE);
        for (TreeItem it : Trees.range(fs, fs.extentRoot(), Key.MIN, Key.MAX)) {
            Key k = it.key();
            if (k.type() == ItemType.BLOCK_GROUP_ITEM) {
                BlockGroupItem bgi = BlockGroupItem.decode(it.data());
                BlockGroup bg = fs.space.addBlockGroup(k.objectid(), k.offset(), BlockGroupType.of(bgi.flags()), bgi.used());
                if (needClear && spaceCache) {
                    fs.space.setDiskCacheState(bg, BlockGroup.DiskCacheState.CLEAR);
                }
            }
        }
        for (TreeItem it : Trees.range(fs, fs.extentRoot(), Key.MIN, Key.MAX)) {
            Key k = it.key();
            if (k.type() == ItemType.METADATA_ITEM) {
                fs.space.markAllocated(k.objectid(), SuperBlock.NODESIZE);
            } else if (k.type() == ItemType.EXTENT_ITEM) {
                fs.space.markAllocated(k.objectid(), k.offset());
            }
        }
        if (spaceCache) {
            for (BlockGroup bg : fs.space.blockGroups()) {
                FreeSpaceCache.loadFreeSpaceCache(fs, bg);
            }
        }
        fs.space.rsvs.fillGlobal();
    }
}
