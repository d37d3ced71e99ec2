package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.ExtentBuffer.ITEM_SIZE;
import static org.jbtrfs.transaction.ctree.ExtentBuffer.LEAF_DATA_SIZE;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.Key;

/**
 * Moving items between leaves, from fs/btrfs/ctree.c: making room for an insertion or extension
 * (push to a neighbour, else split), and emptying mostly-empty leaves after a deletion.
 *
 * <p>The push helpers return true when they moved something (the kernel's 0) and false when they
 * could not (the kernel's 1); either way the path stays valid and points at the caller's slot.
 */
final class LeafBalance {
    private LeafBalance() { }

    /**
     * kernel: split_leaf() in fs/btrfs/ctree.c — makes at least {@code dataSize} bytes free in the
     * path's leaf for inserting {@code insKey} at {@code path.slots[0]} (or, with {@code extend},
     * for growing the item there), first by pushing items to the neighbours, else by splitting the
     * leaf (twice when a big item lands in the middle of a full leaf).
     */
    static void splitLeaf(TreeBlockManager mgr, TreeRoot root, Key insKey, BtrfsPath path, int dataSize, boolean extend) {
        ExtentBuffer l = path.nodes[0];
        int slot = path.slots[0];
        if (extend && dataSize + l.itemSize(slot) + ITEM_SIZE > LEAF_DATA_SIZE) {
            // kernel: -EOVERFLOW
            throw new BtrfsException(Errno.EINVAL, "item " + insKey + " cannot grow by " + dataSize + " bytes from "
                + l.itemSize(slot) + ": over the maximum item size " + ExtentBuffer.MAX_ITEM_SIZE);
        }

        // First try to make some room by pushing left and right.
        if (path.nodes[1] != null) {
            int spaceNeeded = dataSize;
            if (slot < l.nritems()) {
                spaceNeeded -= l.leafFreeSpace();
            }
            if (!pushLeafRight(mgr, root, path, spaceNeeded, spaceNeeded, false, 0)) {
                spaceNeeded = dataSize;
                if (slot > 0) {
                    spaceNeeded -= l.leafFreeSpace();
                }
                pushLeafLeft(mgr, root, path, spaceNeeded, spaceNeeded, false, Integer.MAX_VALUE);
            }
            if (path.nodes[0].leafFreeSpace() >= dataSize) {
                return;
            }
        }
        if (path.nodes[1] == null) {
            NodeOps.insertNewRoot(mgr, root, path, 1);
        }

        boolean triedAvoidDouble = false;
        int numDoubles = 0;
        while (true) {
            l = path.nodes[0];
            slot = path.slots[0];
            int nritems = l.nritems();
            int mid = (nritems + 1) / 2;
            int split = 1;             // 0: new empty leaf for the item, 1: split at mid, 2: split twice
            boolean needsDouble = false;

            if (mid <= slot) {
                if (nritems == 1 || l.leafSpaceUsed(mid, nritems - mid) + dataSize > LEAF_DATA_SIZE) {
                    if (slot >= nritems) {
                        split = 0;
                    } else {
                        mid = slot;
                        needsDouble = mid != nritems && l.leafSpaceUsed(mid, nritems - mid) + dataSize > LEAF_DATA_SIZE;
                    }
                }
            } else if (l.leafSpaceUsed(0, mid) + dataSize > LEAF_DATA_SIZE) {
                if (!extend && slot == 0) {
                    split = 0;
                } else if (extend && slot == 0) {
                    mid = 1;
                } else {
                    mid = slot;
                    needsDouble = mid != nritems && l.leafSpaceUsed(mid, nritems - mid) + dataSize > LEAF_DATA_SIZE;
                }
            }
            if (needsDouble) {
                if (!triedAvoidDouble) {
                    pushForDoubleSplit(mgr, root, path, dataSize);
                    triedAvoidDouble = true;
                    if (path.nodes[0].leafFreeSpace() >= dataSize) {
                        return;
                    }
                    continue;
                }
                split = 2;
            }

            ExtentBuffer right = mgr.allocTreeBlock(root.objectid(), 0);
            if (split == 0) {
                // The item goes alone into a new empty leaf, after or before this one.
                if (mid <= slot) {
                    NodeOps.insertPtr(mgr, path, insKey, right.bytenr(), path.slots[1] + 1, 1);
                    path.slots[1] += 1;
                } else {
                    NodeOps.insertPtr(mgr, path, insKey, right.bytenr(), path.slots[1], 1);
                    if (path.slots[1] == 0) {
                        NodeOps.fixupLowKeys(mgr, path, insKey, 1);
                    }
                }
                path.nodes[0] = right;
                path.slots[0] = 0;
                return;
            }
            copyForSplit(mgr, path, l, right, slot, mid, nritems);
            if (split == 2) {
                if (numDoubles++ > 0) {
                    throw new IllegalStateException("split_leaf: third split needed for " + insKey + " size " + dataSize);
                }
                continue;
            }
            return;
        }
    }

    /**
     * kernel: copy_for_split() in fs/btrfs/ctree.c — moves items [mid, nritems) of {@code l} into the
     * new empty leaf {@code right}, links {@code right} in after {@code l}, and moves the path there
     * if its slot went along.
     */
    private static void copyForSplit(TreeBlockManager mgr, BtrfsPath path, ExtentBuffer l, ExtentBuffer right,
                                     int slot, int mid, int nritems) {
        int nr = nritems - mid;
        int dataCopySize = l.itemDataEnd(mid) - l.leafDataEnd();
        right.setNritems(nr);
        right.copyLeafItems(l, 0, mid, nr);
        right.copyLeafData(l, LEAF_DATA_SIZE - dataCopySize, l.leafDataEnd(), dataCopySize);
        right.shiftItemOffsets(0, nr, LEAF_DATA_SIZE - l.itemDataEnd(mid));
        l.setNritems(mid);

        NodeOps.insertPtr(mgr, path, right.itemKey(0), right.bytenr(), path.slots[1] + 1, 1);
        mgr.markDirty(right);
        mgr.markDirty(l);
        if (mid <= slot) {
            path.nodes[0] = right;
            path.slots[0] -= mid;
            path.slots[1] += 1;
        }
    }

    /**
     * kernel: push_for_double_split() in fs/btrfs/ctree.c — a big item in the middle of a full leaf
     * would need two splits (three mostly empty leaves); try to move the items after it to the right
     * neighbour and the items before it to the left one instead.
     */
    private static void pushForDoubleSplit(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int dataSize) {
        int slot = path.slots[0];
        int spaceNeeded = dataSize;
        if (slot < path.nodes[0].nritems()) {
            spaceNeeded -= path.nodes[0].leafFreeSpace();
        }
        // Try to push all the items after our slot into the right leaf.
        pushLeafRight(mgr, root, path, 1, spaceNeeded, false, slot);

        // The goal is our slot at the start or end of a leaf: then a single split suffices.
        int nritems = path.nodes[0].nritems();
        if (path.slots[0] == 0 || path.slots[0] == nritems || path.nodes[0].leafFreeSpace() >= dataSize) {
            return;
        }
        // Try to push all the items before our slot into the left leaf.
        slot = path.slots[0];
        spaceNeeded = dataSize;
        if (slot > 0) {
            spaceNeeded -= path.nodes[0].leafFreeSpace();
        }
        pushLeafLeft(mgr, root, path, 1, spaceNeeded, false, slot);
    }

    /**
     * kernel: push_leaf_right() in fs/btrfs/ctree.c — moves items from the end of the path's leaf
     * into its right neighbour (COWed first) to free at least {@code dataSize} bytes; never items
     * below {@code minSlot}; all of them when {@code empty}.
     */
    static boolean pushLeafRight(TreeBlockManager mgr, TreeRoot root, BtrfsPath path,
                                 int minDataSize, int dataSize, boolean empty, int minSlot) {
        ExtentBuffer left = path.nodes[0];
        ExtentBuffer upper = path.nodes[1];
        if (upper == null) {
            return false;
        }
        int slot = path.slots[1];
        if (slot >= upper.nritems() - 1) {
            return false;
        }
        ExtentBuffer right = Ctree.readNodeSlot(mgr.reader(), upper, slot + 1);
        int freeSpace = right.leafFreeSpace();
        if (freeSpace < dataSize) {
            return false;
        }
        right = CowBlock.cow(mgr, root, right, upper, slot + 1);
        int leftNritems = left.nritems();
        if (leftNritems == 0) {
            return false;
        }
        TreeChecker.checkSiblingKeys(left, right);
        if (path.slots[0] == leftNritems && !empty) {
            // The key sorts after everything in our leaf and the right neighbour has room for it:
            // insert there, without touching our leaf at all.
            path.nodes[0] = right;
            path.slots[0] = 0;
            path.slots[1] += 1;
            return true;
        }
        return pushItemsRight(mgr, path, minDataSize, empty, right, freeSpace, leftNritems, minSlot);
    }

    /** kernel: __push_leaf_right() in fs/btrfs/ctree.c. */
    private static boolean pushItemsRight(TreeBlockManager mgr, BtrfsPath path, int dataSize, boolean empty,
                                          ExtentBuffer right, int freeSpace, int leftNritems, int minSlot) {
        ExtentBuffer left = path.nodes[0];
        ExtentBuffer upper = path.nodes[1];
        int nr = empty ? 0 : Math.max(1, minSlot);
        int pushSpace = 0;
        int pushItems = 0;
        if (path.slots[0] >= leftNritems) {
            pushSpace += dataSize;
        }
        for (int i = leftNritems - 1; i >= nr; i--) {
            if (!empty && pushItems > 0) {
                if (path.slots[0] > i) {
                    break;
                }
                // Moving our slot over only pays if it leaves more room here than it takes there.
                if (path.slots[0] == i && left.leafFreeSpace() + pushSpace * 2 > freeSpace) {
                    break;
                }
            }
            if (path.slots[0] == i) {
                pushSpace += dataSize;
            }
            int thisItemSize = left.itemSize(i);
            if (thisItemSize + ITEM_SIZE + pushSpace > freeSpace) {
                break;
            }
            pushItems++;
            pushSpace += thisItemSize + ITEM_SIZE;
        }
        if (pushItems == 0) {
            return false;
        }

        int rightNritems = right.nritems();
        int leftDataEnd = left.leafDataEnd();
        int moveBytes = left.itemDataEnd(leftNritems - pushItems) - leftDataEnd;
        // Make room in the right data area, then copy the data and headers from the left.
        int rightDataEnd = right.leafDataEnd();
        right.memmoveLeafData(rightDataEnd - moveBytes, rightDataEnd, LEAF_DATA_SIZE - rightDataEnd);
        right.copyLeafData(left, LEAF_DATA_SIZE - moveBytes, leftDataEnd, moveBytes);
        right.memmoveLeafItems(pushItems, 0, rightNritems);
        right.copyLeafItems(left, 0, leftNritems - pushItems, pushItems);
        right.setNritems(rightNritems + pushItems);
        LeafOps.repackItemOffsets(right);

        leftNritems -= pushItems;
        left.setNritems(leftNritems);
        if (leftNritems > 0) {
            mgr.markDirty(left);
        }
        mgr.markDirty(right);
        upper.setNodeKey(path.slots[1] + 1, right.itemKey(0));
        mgr.markDirty(upper);

        if (path.slots[0] >= leftNritems) {
            path.slots[0] -= leftNritems;
            path.nodes[0] = right;
            path.slots[1] += 1;
        }
        return true;
    }

    /**
     * kernel: push_leaf_left() in fs/btrfs/ctree.c — moves items from the front of the path's leaf
     * into its left neighbour (COWed first) to free at least {@code dataSize} bytes; never item
     * {@code maxSlot} or later; all of them when {@code empty}.
     */
    static boolean pushLeafLeft(TreeBlockManager mgr, TreeRoot root, BtrfsPath path,
                                int minDataSize, int dataSize, boolean empty, int maxSlot) {
        ExtentBuffer right = path.nodes[0];
        int slot = path.slots[1];
        if (slot == 0 || path.nodes[1] == null) {
            return false;
        }
        int rightNritems = right.nritems();
        if (rightNritems == 0) {
            return false;
        }
        ExtentBuffer left = Ctree.readNodeSlot(mgr.reader(), path.nodes[1], slot - 1);
        int freeSpace = left.leafFreeSpace();
        if (freeSpace < dataSize) {
            return false;
        }
        left = CowBlock.cow(mgr, root, left, path.nodes[1], slot - 1);
        TreeChecker.checkSiblingKeys(left, right);
        return pushItemsLeft(mgr, path, minDataSize, empty, left, freeSpace, rightNritems, maxSlot);
    }

    /** kernel: __push_leaf_left() in fs/btrfs/ctree.c. */
    private static boolean pushItemsLeft(TreeBlockManager mgr, BtrfsPath path, int dataSize, boolean empty,
                                         ExtentBuffer left, int freeSpace, int rightNritems, int maxSlot) {
        ExtentBuffer right = path.nodes[0];
        int nr = empty ? Math.min(rightNritems, maxSlot) : Math.min(rightNritems - 1, maxSlot);
        int pushSpace = 0;
        int pushItems = 0;
        for (int i = 0; i < nr; i++) {
            if (!empty && pushItems > 0) {
                if (path.slots[0] < i) {
                    break;
                }
                if (path.slots[0] == i && right.leafFreeSpace() + pushSpace * 2 > freeSpace) {
                    break;
                }
            }
            if (path.slots[0] == i) {
                pushSpace += dataSize;
            }
            int thisItemSize = right.itemSize(i);
            if (thisItemSize + ITEM_SIZE + pushSpace > freeSpace) {
                break;
            }
            pushItems++;
            pushSpace += thisItemSize + ITEM_SIZE;
        }
        if (pushItems == 0) {
            return false;
        }

        int oldLeftNritems = left.nritems();
        if (oldLeftNritems == 0) {
            throw new IllegalStateException("push_leaf_left into empty leaf " + left);
        }
        // Push data from right to left: headers after the left's last one, data below the left's lowest.
        int leftDataEnd = left.leafDataEnd();
        int firstOffset = right.itemOffset(pushItems - 1);
        int moveBytes = LEAF_DATA_SIZE - firstOffset;
        left.copyLeafItems(right, oldLeftNritems, 0, pushItems);
        left.copyLeafData(right, leftDataEnd - moveBytes, firstOffset, moveBytes);
        left.shiftItemOffsets(oldLeftNritems, oldLeftNritems + pushItems, -(LEAF_DATA_SIZE - leftDataEnd));
        left.setNritems(oldLeftNritems + pushItems);

        // Close the gap at the front of the right leaf.
        if (pushItems < rightNritems) {
            int rightDataEnd = right.leafDataEnd();
            int remaining = firstOffset - rightDataEnd;
            right.memmoveLeafData(LEAF_DATA_SIZE - remaining, rightDataEnd, remaining);
            right.memmoveLeafItems(0, pushItems, rightNritems - pushItems);
        }
        rightNritems -= pushItems;
        right.setNritems(rightNritems);
        LeafOps.repackItemOffsets(right);

        mgr.markDirty(left);
        if (rightNritems > 0) {
            mgr.markDirty(right);
            NodeOps.fixupLowKeys(mgr, path, right.itemKey(0), 1);
        }

        if (path.slots[0] < pushItems) {
            path.slots[0] += oldLeftNritems;
            path.nodes[0] = left;
            path.slots[1] -= 1;
        } else {
            path.slots[0] -= pushItems;
        }
        return true;
    }

    /**
     * kernel: btrfs_del_items() in fs/btrfs/ctree.c — removes items [slot, slot+nr) of the path's
     * leaf. An emptied leaf leaves the tree; a leaf less than a third full tries to empty itself
     * into its neighbours (all its items left, or else all of the rest right) and leaves too.
     */
    static void delItems(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, int slot, int nr) {
        ExtentBuffer leaf = path.nodes[0];
        LeafOps.removeItems(leaf, slot, nr);
        int nritems = leaf.nritems();

        if (nritems == 0) {
            if (NodeOps.isRoot(root, leaf)) {
                leaf.setLevel(0);
                mgr.markDirty(leaf);
            } else {
                delLeaf(mgr, root, path, leaf);
            }
            return;
        }
        if (slot == 0) {
            NodeOps.fixupLowKeys(mgr, path, leaf.itemKey(0), 1);
        }
        if (leaf.leafSpaceUsed(0, nritems) >= LEAF_DATA_SIZE / 3) {
            mgr.markDirty(leaf);
            return;
        }
        // The pushes move the path; remember where our leaf hangs for the del_ptr below.
        int parentSlot = path.slots[1];
        int minPushSpace = ITEM_SIZE + leaf.itemSize(0);
        pushLeafLeft(mgr, root, path, 0, minPushSpace, true, Integer.MAX_VALUE);
        if (path.nodes[0] == leaf && leaf.nritems() > 0) {
            // Pushing only some of the rest right gains nothing: all or none.
            pushLeafRight(mgr, root, path, 0, leaf.leafSpaceUsed(0, leaf.nritems()), true, 0);
        }
        if (leaf.nritems() == 0) {
            path.slots[1] = parentSlot;
            delLeaf(mgr, root, path, leaf);
        } else if (path.nodes[0] == leaf) {
            mgr.markDirty(leaf);
        }
    }

    /** kernel: btrfs_del_leaf() in fs/btrfs/ctree.c — unlinks the (empty) leaf at path.slots[1] and frees it. */
    private static void delLeaf(TreeBlockManager mgr, TreeRoot root, BtrfsPath path, ExtentBuffer leaf) {
        NodeOps.delPtr(mgr, root, path, 1, path.slots[1]);
        mgr.freeTreeBlock(leaf);
    }
}
