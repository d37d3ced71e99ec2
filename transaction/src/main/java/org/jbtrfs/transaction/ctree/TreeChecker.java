package org.jbtrfs.transaction.ctree;

import java.util.function.LongFunction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.Key;

/**
 * Structural checks of tree blocks (kernel: fs/btrfs/tree-checker.c) and of a whole tree (what
 * {@code btrfs check} verifies of a tree's shape). A violation throws BtrfsException(EUCLEAN) with
 * the kernel's "corrupt leaf" / "corrupt node" wording, naming the tree and the block.
 */
public final class TreeChecker {
    private TreeChecker() { }

    /** The shape of a checked tree. {@code height} is the root level + 1. */
    public record TreeShape(int height, long nodes, long leaves, long items) { }

    /**
     * Checks every block reachable from {@code rootNode}: each block on its own (see
     * {@link #checkLeaf} / {@link #checkNode}), each pointer against its child (level, generation,
     * first key), and each subtree's keys against the range its parent gives it.
     */
    public static TreeShape check(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode) {
        Counter counter = new Counter();
        walk(reader, rootNode, true, null, null, counter);
        return new TreeShape(rootNode.level() + 1, counter.nodes, counter.leaves, counter.items);
    }

    private static final class Counter {
        long nodes;
        long leaves;
        long items;
    }

    /** Checks {@code eb} and its subtree; all its keys must lie in [low, high) (null: unbounded). */
    private static void walk(LongFunction<ExtentBuffer> reader, ExtentBuffer eb, boolean isRoot, Key low, Key high, Counter counter) {
        int nritems = eb.nritems();
        if (nritems > 0) {
            if (low != null && eb.compareKey(0, low) < 0) {
                throw corrupt(eb, 0, "first key " + eb.firstKey() + " below the parent's key " + low);
            }
            if (high != null && eb.compareKey(nritems - 1, high) >= 0) {
                throw corrupt(eb, nritems - 1, "last key not below the next parent key " + high);
            }
        }
        if (eb.isLeaf()) {
            checkLeaf(eb, isRoot);
            counter.leaves++;
            counter.items += nritems;
            return;
        }
        checkNode(eb);
        counter.nodes++;
        for (int slot = 0; slot < nritems; slot++) {
            ExtentBuffer child = Ctree.readNodeSlot(reader, eb, slot);
            Key childHigh = slot + 1 < nritems ? eb.nodeKey(slot + 1) : high;
            walk(reader, child, false, eb.nodeKey(slot), childHigh, counter);
        }
    }

    /**
     * kernel: check_leaf() in fs/btrfs/tree-checker.c — keys strictly ascending, item data packed
     * from the end of the block without gaps or overlaps, headers not running into the data. Only
     * the root may be an empty leaf.
     */
    public static void checkLeaf(ExtentBuffer leaf, boolean isRoot) {
        int nritems = leaf.nritems();
        if (nritems == 0) {
            if (!isRoot) {
                throw corrupt(leaf, -1, "empty leaf that is not a tree root");
            }
            return;
        }
        if ((long) nritems * ExtentBuffer.ITEM_SIZE > ExtentBuffer.LEAF_DATA_SIZE) {
            throw corrupt(leaf, -1, "nritems " + nritems + " do not fit in a leaf");
        }
        int expectedEnd = ExtentBuffer.LEAF_DATA_SIZE;
        for (int slot = 0; slot < nritems; slot++) {
            if (slot > 0 && leaf.compareItemKey(slot - 1, leaf.itemKey(slot)) >= 0) {
                throw corrupt(leaf, slot, "bad key order, prev " + leaf.itemKey(slot - 1) + " current " + leaf.itemKey(slot));
            }
            int end = leaf.itemDataEnd(slot);
            if (end != expectedEnd) {
                throw corrupt(leaf, slot, "unexpected item end, have " + end + " expect " + expectedEnd);
            }
            if (leaf.itemSize(slot) < 0 || leaf.itemOffset(slot) < ExtentBuffer.itemHeaderOffset(nritems) - ExtentBuffer.HEADER_SIZE) {
                throw corrupt(leaf, slot, "item data overlaps the item headers (offset " + leaf.itemOffset(slot) + ")");
            }
            expectedEnd = leaf.itemOffset(slot);
        }
    }

    /** kernel: btrfs_check_node() in fs/btrfs/tree-checker.c — pointer count in range, keys strictly ascending, no null pointers. */
    public static void checkNode(ExtentBuffer node) {
        int nritems = node.nritems();
        if (nritems == 0 || nritems > ExtentBuffer.NODEPTRS_PER_BLOCK) {
            throw corrupt(node, -1, "invalid number of items, have " + nritems + " expect [1, " + ExtentBuffer.NODEPTRS_PER_BLOCK + "]");
        }
        if (node.level() >= BtrfsPath.MAX_LEVEL) {
            throw corrupt(node, -1, "invalid level " + node.level());
        }
        for (int slot = 0; slot < nritems; slot++) {
            if (node.blockPtr(slot) == 0) {
                throw corrupt(node, slot, "invalid NULL node pointer");
            }
            if (slot > 0 && node.compareNodeKey(slot - 1, node.nodeKey(slot)) >= 0) {
                throw corrupt(node, slot, "bad key order, prev " + node.nodeKey(slot - 1) + " current " + node.nodeKey(slot));
            }
        }
    }

    /**
     * kernel: check_sibling_keys() in fs/btrfs/ctree.c — before items or pointers move between
     * neighbours, the left block's last key must sort before the right block's first.
     */
    static void checkSiblingKeys(ExtentBuffer left, ExtentBuffer right) {
        int nrLeft = left.nritems();
        if (nrLeft == 0 || right.nritems() == 0) {
            return;
        }
        Key rightFirst = right.firstKey();
        if (left.compareKey(nrLeft - 1, rightFirst) >= 0) {
            Key leftLast = left.isLeaf() ? left.itemKey(nrLeft - 1) : left.nodeKey(nrLeft - 1);
            throw new BtrfsException(Errno.EUCLEAN, "bad key order, sibling blocks, left last " + leftLast
                + " right first " + rightFirst + " (left " + left.bytenr() + ", right " + right.bytenr() + ")");
        }
    }

    private static BtrfsException corrupt(ExtentBuffer eb, int slot, String what) {
        String kind = eb.isLeaf() ? "leaf" : "node";
        return new BtrfsException(Errno.EUCLEAN, "corrupt " + kind + ": root=" + eb.owner() + " block=" + eb.bytenr()
            + (slot >= 0 ? " slot=" + slot : "") + ", " + what);
    }
}
