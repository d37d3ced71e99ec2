package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.ExtentBuffer.NODEPTRS_PER_BLOCK;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.Key;

/**
 * Operations on internal nodes (level &gt; 0) of fs/btrfs/ctree.c: key pointer insertion and removal,
 * keeping the low keys of ancestors right, splitting on the way down for an insertion and
 * merging on the way down for a deletion.
 *
 * <p>Every block passed in as "on the path" has already been COWed by the search; siblings are
 * COWed here before they are touched.
 */
final class NodeOps {
    /** push_node_left() leaves at least this many pointers in a node it does not empty. */
    private static final int MIN_PTRS_LEFT_BEHIND = 8;

    private NodeOps() { }

    /**
     * kernel: fixup_low_keys() in fs/btrfs/ctree.c — the first key of the block at {@code level - 1}
     * changed to {@code key}: rewrite the pointer key above it, and keep going up while the pointer
     * is the first of its node (its key is the low key of the node above too).
     */
    static void fixupLowKeys(TreeBlockManager mgr, BtrfsPath path, Key key, int level) {
        for (int i = level; i < BtrfsPath.MAX_LEVEL; i++) {
            ExtentBuffer t = path.nodes[i];
            if (t == null) {
                break;
            }
            int tslot = path.slots[i];
            t.setNodeKey(tslot, key);
            mgr.markDirty(t);
            if (tslot != 0) {
                break;
            }
        }
    }

    /** kernel: insert_ptr() in fs/btrfs/ctree.c — a pointer to the new block {@code bytenr} at {@code slot} of {@code path.nodes[level]}. */
    static void insertPtr(TreeBlockManager mgr, BtrfsPath path, Key key, long bytenr, int slot, int level) {
        ExtentBuffer lower = path.nodes[level];
        int nritems = lower.nritems();
        if (slot > nritems || nritems >= NODEPTRS_PER_BLOCK) {
            // kernel: BUG_ON — the search guarantees room before descending.
            throw new IllegalStateException("insert_ptr: slot " + slot + " nritems " + nritems + " in " + lower);
        }
        if (slot != nritems) {
            lower.memmoveKeyPtrs(slot + 1, slot, nritems - slot);
        }
        lower.setKeyPtr(slot, key, bytenr, mgr.transid());
        lower.setNritems(nritems + 1);
        mgr.markDirty(lower);
    }

    /**
     * kernel: btrfs_del_ptr() in fs/btrfs/ctree.c — removes pointer {@code slot} of
     * {@code path.nodes[level]}. The tree was balanced on the way down, so only the root can become
     * empty: then the tree has no blocks left below it and the root turns into an empty leaf.
     */
    static void delPtr(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int level, int slot) {
        ExtentBuffer parent = path.nodes[level];
        int nritems = parent.nritems();
        if (slot != nritems - 1) {
            parent.memmoveKeyPtrs(slot, slot + 1, nritems - slot - 1);
        }
        nritems--;
        parent.setNritems(nritems);
        if (nritems == 0) {
            if (!isRoot(root, parent) || parent.level() != 1) {
                throw new IllegalStateException("del_ptr emptied " + parent + " which is not a level 1 root");
            }
            parent.setLevel(0);
        } else if (slot == 0) {
            fixupLowKeys(mgr, path, parent.nodeKey(0), level + 1);
        }
        mgr.markDirty(parent);
    }

    /**
     * kernel: insert_new_root() in fs/btrfs/ctree.c — the tree grows by one level: a new root at
     * {@code level} with a single pointer to the old root.
     */
    static void insertNewRoot(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int level) {
        ExtentBuffer lower = path.nodes[level - 1];
        if (path.nodes[level] != null || !isRoot(root, lower)) {
            throw new IllegalStateException("insert_new_root at level " + level + " but " + lower + " is not the root");
        }
        ExtentBuffer c = mgr.allocTreeBlock(root.objectid(), level);
        c.setNritems(1);
        c.setKeyPtr(0, lower.firstKey(), lower.bytenr(), lower.generation());
        mgr.markDirty(c);
        root.setNode(c);
        path.nodes[level] = c;
        path.slots[level] = 0;
    }

    /**
     * kernel: split_node() in fs/btrfs/ctree.c — makes room for at least three more pointers in
     * {@code path.nodes[level]}, by pushing to a sibling or splitting it in two; the path is moved
     * to whichever block now holds its slot.
     */
    static void splitNode(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int level) {
        ExtentBuffer c = path.nodes[level];
        if (isRoot(root, c)) {
            insertNewRoot(mgr, root, path, level + 1);
        } else {
            boolean pushed = pushNodesForInsert(mgr, root, path, level);
            c = path.nodes[level];
            if (pushed && c.nritems() < NODEPTRS_PER_BLOCK - 3) {
                return;
            }
        }
        int cNritems = c.nritems();
        int mid = (cNritems + 1) / 2;
        Key splitKey = c.nodeKey(mid);
        ExtentBuffer split = mgr.allocTreeBlock(root.objectid(), level);
        split.copyKeyPtrs(c, 0, mid, cNritems - mid);
        split.setNritems(cNritems - mid);
        c.setNritems(mid);
        mgr.markDirty(c);
        mgr.markDirty(split);

        insertPtr(mgr, path, splitKey, split.bytenr(), path.slots[level + 1] + 1, level + 1);
        if (path.slots[level] >= mid) {
            path.slots[level] -= mid;
            path.nodes[level] = split;
            path.slots[level + 1] += 1;
        }
    }

    /**
     * kernel: push_nodes_for_insert() in fs/btrfs/ctree.c — before splitting a full node, try to
     * move some of its pointers into the left sibling, else into the right one.
     *
     * @return true when pointers moved (the path follows its slot)
     */
    private static boolean pushNodesForInsert(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int level) {
        ExtentBuffer mid = path.nodes[level];
        ExtentBuffer parent = path.parentOf(level);
        if (parent == null) {
            return false;
        }
        int pslot = path.slots[level + 1];
        int origSlot = path.slots[level];

        if (pslot > 0) {
            ExtentBuffer left = Ctree.readNodeSlot(mgr.reader(), parent, pslot - 1);
            int leftNr = left.nritems();
            if (leftNr < NODEPTRS_PER_BLOCK - 1) {
                left = CowBlock.cow(mgr, root, left, parent, pslot - 1);
                if (pushNodeLeft(mgr, left, mid, false)) {
                    origSlot += leftNr;
                    parent.setNodeKey(pslot, mid.nodeKey(0));
                    mgr.markDirty(parent);
                    followSlot(path, level, left, origSlot);
                    return true;
                }
            }
        }
        if (pslot + 1 < parent.nritems()) {
            ExtentBuffer right = Ctree.readNodeSlot(mgr.reader(), parent, pslot + 1);
            if (right.nritems() < NODEPTRS_PER_BLOCK - 1) {
                right = CowBlock.cow(mgr, root, right, parent, pslot + 1);
                if (balanceNodeRight(mgr, right, mid)) {
                    parent.setNodeKey(pslot + 1, right.nodeKey(0));
                    mgr.markDirty(parent);
                    if (mid.nritems() <= origSlot) {
                        path.nodes[level] = right;
                        path.slots[level + 1] += 1;
                        path.slots[level] = origSlot - mid.nritems();
                    }
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * kernel: balance_level() in fs/btrfs/ctree.c — on the way down for a deletion: a root with a
     * single child hands the root over to that child (the tree shrinks; path.nodes[level] becomes
     * null and the caller restarts its search); a node at most a quarter full is merged with its
     * siblings, and never left with a single pointer, so a deletion below cannot empty it.
     */
    static void balanceLevel(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int level) {
        ExtentBuffer mid = path.nodes[level];
        int origSlot = path.slots[level];
        long origPtr = mid.blockPtr(origSlot);
        ExtentBuffer parent = path.parentOf(level);

        if (parent == null) {
            if (mid.nritems() != 1) {
                return;
            }
            // Promote the only child to root.
            ExtentBuffer child = Ctree.readNodeSlot(mgr.reader(), mid, 0);
            child = CowBlock.cow(mgr, root, child, mid, 0);
            root.setNode(child);
            path.nodes[level] = null;
            mgr.freeTreeBlock(mid);
            return;
        }
        if (mid.nritems() > NODEPTRS_PER_BLOCK / 4) {
            return;
        }
        int pslot = path.slots[level + 1];
        ExtentBuffer left = null;
        ExtentBuffer right = null;
        if (pslot > 0) {
            left = CowBlock.cow(mgr, root, Ctree.readNodeSlot(mgr.reader(), parent, pslot - 1), parent, pslot - 1);
        }
        if (pslot + 1 < parent.nritems()) {
            right = CowBlock.cow(mgr, root, Ctree.readNodeSlot(mgr.reader(), parent, pslot + 1), parent, pslot + 1);
        }

        // First, try to make some room in the middle buffer.
        if (left != null) {
            origSlot += left.nritems();
            pushNodeLeft(mgr, left, mid, true);
        }
        // Then try to empty the right most buffer into the middle.
        if (right != null) {
            pushNodeLeft(mgr, mid, right, true);
            if (right.nritems() == 0) {
                delPtr(mgr, root, path, level + 1, pslot + 1);
                mgr.freeTreeBlock(right);
            } else {
                parent.setNodeKey(pslot + 1, right.nodeKey(0));
                mgr.markDirty(parent);
            }
        }
        if (mid.nritems() == 1) {
            // A node with one pointer could be emptied by a deletion further down, so pull some
            // pointers from the left. There is a left sibling: without one, the right sibling's
            // pointers would have been pulled in above.
            if (left == null) {
                throw new BtrfsException(Errno.EUCLEAN, "missing left child when middle child only has 1 item, parent bytenr "
                    + parent.bytenr() + " level " + parent.level() + " mid bytenr " + mid.bytenr() + " root " + root.objectid());
            }
            if (!balanceNodeRight(mgr, mid, left) && !pushNodeLeft(mgr, left, mid, true)) {
                throw new IllegalStateException("balance_level could not rebalance single-pointer node " + mid);
            }
        }
        if (mid.nritems() == 0) {
            delPtr(mgr, root, path, level + 1, pslot);
            mgr.freeTreeBlock(mid);
        } else {
            parent.setNodeKey(pslot, mid.nodeKey(0));
            mgr.markDirty(parent);
        }

        if (left != null) {
            followSlot(path, level, left, origSlot);
        }
        ExtentBuffer now = path.nodes[level];
        if (now.blockPtr(path.slots[level]) != origPtr) {
            throw new IllegalStateException("balance_level lost the path: wanted " + origPtr + " at " + path);
        }
    }

    /**
     * The path's slot at {@code level} is {@code slot} counted from the start of {@code left} (the
     * left sibling of path.nodes[level], now holding the front of the combined pointers): move the
     * path into {@code left} if the slot is there, else keep it in the middle block.
     */
    private static void followSlot(BtrfsPath path, int level, ExtentBuffer left, int slot) {
        if (left.nritems() > slot) {
            path.nodes[level] = left;
            path.slots[level + 1] -= 1;
            path.slots[level] = slot;
        } else {
            path.slots[level] = slot - left.nritems();
        }
    }

    /**
     * kernel: push_node_left() in fs/btrfs/ctree.c — moves pointers from the front of {@code src}
     * to the end of its left sibling {@code dst}; all of them when {@code empty} and they fit.
     *
     * @return true when pointers moved
     */
    static boolean pushNodeLeft(TreeBlockManager mgr, ExtentBuffer dst, ExtentBuffer src, boolean empty) {
        int srcNritems = src.nritems();
        int dstNritems = dst.nritems();
        int pushItems = NODEPTRS_PER_BLOCK - dstNritems;
        if (!empty && srcNritems <= MIN_PTRS_LEFT_BEHIND) {
            return false;
        }
        if (pushItems <= 0) {
            return false;
        }
        if (empty) {
            pushItems = Math.min(srcNritems, pushItems);
            if (pushItems < srcNritems && srcNritems - pushItems < MIN_PTRS_LEFT_BEHIND) {
                if (pushItems <= MIN_PTRS_LEFT_BEHIND) {
                    return false;
                }
                pushItems -= MIN_PTRS_LEFT_BEHIND;
            }
        } else {
            pushItems = Math.min(srcNritems - MIN_PTRS_LEFT_BEHIND, pushItems);
        }
        TreeChecker.checkSiblingKeys(dst, src);
        dst.copyKeyPtrs(src, dstNritems, 0, pushItems);
        if (pushItems < srcNritems) {
            src.memmoveKeyPtrs(0, pushItems, srcNritems - pushItems);
        }
        src.setNritems(srcNritems - pushItems);
        dst.setNritems(dstNritems + pushItems);
        mgr.markDirty(src);
        mgr.markDirty(dst);
        return true;
    }

    /**
     * kernel: balance_node_right() in fs/btrfs/ctree.c — moves up to half of {@code src}'s pointers
     * (from its end) to the front of its right sibling {@code dst}; never empties {@code src}.
     *
     * @return true when pointers moved
     */
    static boolean balanceNodeRight(TreeBlockManager mgr, ExtentBuffer dst, ExtentBuffer src) {
        int srcNritems = src.nritems();
        int dstNritems = dst.nritems();
        int pushItems = NODEPTRS_PER_BLOCK - dstNritems;
        if (pushItems <= 0 || srcNritems < 4) {
            return false;
        }
        int maxPush = srcNritems / 2 + 1;
        if (maxPush >= srcNritems) {
            return false;
        }
        pushItems = Math.min(pushItems, maxPush);
        TreeChecker.checkSiblingKeys(src, dst);
        dst.memmoveKeyPtrs(pushItems, 0, dstNritems);
        dst.copyKeyPtrs(src, 0, srcNritems - pushItems, pushItems);
        src.setNritems(srcNritems - pushItems);
        dst.setNritems(dstNritems + pushItems);
        mgr.markDirty(src);
        mgr.markDirty(dst);
        return true;
    }

    /** Whether {@code eb} is the tree's current root block. */
    static boolean isRoot(TreeRoot root, ExtentBuffer eb) {
        return root.node().bytenr() == eb.bytenr();
    }
}
