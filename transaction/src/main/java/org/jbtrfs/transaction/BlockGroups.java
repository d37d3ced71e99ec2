package org.jbtrfs.transaction;

import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.space.BlockGroupType;

/** Mount-time block group reading (block-group.c). */
public final class BlockGroups {
    private BlockGroups() { }

    /**
     * kernel: btrfs_read_block_groups() plus the free-space caching of caching_kthread — one block group
     * per item, then every extent item marks its range allocated. Empty groups go on unused_bgs.
     */
    public static void readBlockGroups(FsInfo fs) {
        for (TreeItem it : Trees.range(fs, fs.extentRoot, Key.MIN, Key.MAX)) {
            Key k = it.key();
            if (k.type() == ItemType.BLOCK_GROUP_ITEM) {
                BlockGroupItem bgi = BlockGroupItem.decode(it.data());
                fs.space.addBlockGroup(k.objectid(), k.offset(), BlockGroupType.of(bgi.flags()), bgi.used());
            }
        }
        for (TreeItem it : Trees.range(fs, fs.extentRoot, Key.MIN, Key.MAX)) {
            Key k = it.key();
            if (k.type() == ItemType.METADATA_ITEM) {
                fs.space.markAllocated(k.objectid(), SuperBlock.NODESIZE);
            } else if (k.type() == ItemType.EXTENT_ITEM) {
                fs.space.markAllocated(k.objectid(), k.offset());
            }
        }
        fs.space.fillGlobalRsv();
    }
}
