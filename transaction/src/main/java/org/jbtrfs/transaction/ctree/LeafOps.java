package org.jbtrfs.transaction.ctree;

import java.util.Arrays;

import org.jbtrfs.core.disk.Key;

/**
 * Edits inside one leaf of fs/btrfs/ctree.c: making room for an item, growing, shrinking and
 * removing items. Item data is packed from the end of the block backwards in slot order (item 0's
 * data last in the block), so every edit at a slot shifts the data of the later slots and their
 * offsets, and nothing else. The leaf must already have room: the search made it.
 */
final class LeafOps {
    private LeafOps() { }

    /**
     * kernel: setup_items_for_insert() in fs/btrfs/ctree.c (one item) — opens slot
     * {@code path.slots[0]} for {@code key} with {@code dataSize} bytes of zeroed data.
     */
    static void setupItemForInsert(TreeBlockManager mgr, BtrfsPath path, Key key, int dataSize) {
        // The new item becomes the leaf's first: its key is the low key of the ancestors too.
        if (path.slots[0] == 0) {
            NodeOps.fixupLowKeys(mgr, path, key, 1);
        }
        ExtentBuffer leaf = path.nodes[0];
        int slot = path.slots[0];
        int nritems = leaf.nritems();
        int dataEnd = leaf.leafDataEnd();
        int totalSize = dataSize + ExtentBuffer.ITEM_SIZE;
        if (leaf.leafFreeSpace() < totalSize) {
            throw new IllegalStateException("not enough freespace need " + totalSize + " have " + leaf.leafFreeSpace() + " in " + leaf);
        }
        if (slot != nritems) {
            int oldData = leaf.itemDataEnd(slot);
            leaf.shiftItemOffsets(slot, nritems, -dataSize);
            leaf.memmoveLeafItems(slot + 1, slot, nritems - slot);
            leaf.memmoveLeafData(dataEnd - dataSize, dataEnd, oldData - dataEnd);
            dataEnd = oldData;
        }
        int offset = dataEnd - dataSize;
        leaf.setItemKey(slot, key);
        leaf.setItemOffset(slot, offset);
        leaf.setItemSize(slot, dataSize);
        // Stale bytes of moved data must not show through as the new item's contents.
        Arrays.fill(leaf.array(), ExtentBuffer.HEADER_SIZE + offset, ExtentBuffer.HEADER_SIZE + dataEnd, (byte) 0);
        leaf.setNritems(nritems + 1);
        mgr.markDirty(leaf);
    }

    /** kernel: btrfs_extend_item() in fs/btrfs/ctree.c — item {@code path.slots[0]} grows by {@code dataSize} bytes at its end. */
    static void extendItem(TreeBlockManager mgr, BtrfsPath path, int dataSize) {
        ExtentBuffer leaf = path.nodes[0];
        int slot = path.slots[0];
        int nritems = leaf.nritems();
        if (leaf.leafFreeSpace() < dataSize || slot >= nritems) {
            throw new IllegalStateException("extend_item by " + dataSize + " at slot " + slot + " of " + leaf
                + " with free space " + leaf.leafFreeSpace());
        }
        int dataEnd = leaf.leafDataEnd();
        int oldData = leaf.itemDataEnd(slot);
        leaf.shiftItemOffsets(slot, nritems, -dataSize);
        leaf.memmoveLeafData(dataEnd - dataSize, dataEnd, oldData - dataEnd);
        leaf.setItemSize(slot, leaf.itemSize(slot) + dataSize);
        mgr.markDirty(leaf);
    }

    /** kernel: btrfs_truncate_item() in fs/btrfs/ctree.c, from_end = 1 — item {@code path.slots[0]} loses its tail down to {@code newSize} bytes. */
    static void truncateItem(TreeBlockManager mgr, BtrfsPath path, int newSize) {
        ExtentBuffer leaf = path.nodes[0];
        int slot = path.slots[0];
        int oldSize = leaf.itemSize(slot);
        if (oldSize == newSize) {
            return;
        }
        int nritems = leaf.nritems();
        int dataEnd = leaf.leafDataEnd();
        int oldDataStart = leaf.itemOffset(slot);
        int sizeDiff = oldSize - newSize;
        leaf.shiftItemOffsets(slot, nritems, sizeDiff);
        leaf.memmoveLeafData(dataEnd + sizeDiff, dataEnd, oldDataStart + newSize - dataEnd);
        leaf.setItemSize(slot, newSize);
        mgr.markDirty(leaf);
    }

    /**
     * The in-leaf half of btrfs_del_items() in fs/btrfs/ctree.c: removes items [slot, slot+nr),
     * closing the gap in the headers and in the data. Rebalancing is the caller's.
     */
    static void removeItems(ExtentBuffer leaf, int slot, int nr) {
        int nritems = leaf.nritems();
        if (slot + nr != nritems) {
            int lastOff = leaf.itemOffset(slot + nr - 1);
            int dataEnd = leaf.leafDataEnd();
            int dsize = 0;
            for (int i = 0; i < nr; i++) {
                dsize += leaf.itemSize(slot + i);
            }
            leaf.memmoveLeafData(dataEnd + dsize, dataEnd, lastOff - dataEnd);
            leaf.shiftItemOffsets(slot + nr, nritems, dsize);
            leaf.memmoveLeafItems(slot, slot + nr, nritems - slot - nr);
        }
        leaf.setNritems(nritems - nr);
    }

    /**
     * Re-derives every item offset of a leaf whose data is packed in slot order against the end of
     * the block (the loop after the moves in __push_leaf_right() / __push_leaf_left()).
     */
    static void repackItemOffsets(ExtentBuffer leaf) {
        int pushSpace = ExtentBuffer.LEAF_DATA_SIZE;
        int nritems = leaf.nritems();
        for (int i = 0; i < nritems; i++) {
            pushSpace -= leaf.itemSize(i);
            leaf.setItemOffset(i, pushSpace);
        }
    }
}
