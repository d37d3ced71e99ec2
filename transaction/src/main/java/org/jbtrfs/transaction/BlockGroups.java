package org.jbtrfs.transaction;

import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;

/** Mount-time block group reading (block-group.c). */
public final class BlockGroups {
    private BlockGroups() { }

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
