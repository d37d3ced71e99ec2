package org.jbtrfs.transaction;

import org.jbtrfs.transaction.ctree.ExtentBuffer;

/** Extent allocation and freeing for the layers above (extent-tree.c entry points). */
public final class Extents {
    private Extents() { }

    /**
     * kernel: btrfs_reserve_extent() + btrfs_alloc_reserved_file_extent() — reserve a data extent of
     * {@code len} bytes for tree {@code ownerRoot} and queue its add ref; returns its bytenr.
     */
    public static long allocDataExtent(TransHandle h, long ownerRoot, long len) {
        long bytenr = h.fsInfo.space.reserveDataExtent(len);
        long rounded = ((len + 4095) / 4096) * 4096;
        h.transaction.delayedRefs.addDataRef(bytenr, rounded, ownerRoot, +1, true);
        return bytenr;
    }

    /** kernel: btrfs_free_extent() for a data extent — queue the drop ref. */
    public static void freeDataExtent(TransHandle h, long ownerRoot, long bytenr, long len) {
        h.transaction.delayedRefs.addDataRef(bytenr, len, ownerRoot, -1, false);
        h.blocksTouched++;
    }

    /** kernel: btrfs_free_tree_block() of a block no longer referenced (drop_snapshot's walk). */
    public static void freeTreeBlock(TransHandle h, ExtentBuffer eb) {
        new TransTreeBlockManager(h).freeTreeBlock(eb);
    }

    /** Reads a tree block through the btree inode (verified). */
    public static ExtentBuffer readTreeBlock(FsInfo fs, long bytenr) { return fs.btreeInode.readTreeBlock(bytenr); }

    /** kernel: btrfs_alloc_tree_block() for the root leaf of a new tree (subvolume, quota tree). */
    public static ExtentBuffer allocRootLeaf(TransHandle h, long owner) {
        return new TransTreeBlockManager(h).allocTreeBlock(owner, 0);
    }
}
