package org.jbtrfs.transaction.ctree;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.Key;

/**
 * The copy-on-write B-tree (kernel: fs/btrfs/ctree.c): search, insert, delete and resize items
 * inside a transaction, and read-only walks that need no transaction.
 *
 * <p>Modifying operations take the transaction's {@link TreeBlockManager} and the tree's
 * {@link TreeRoot}. They COW every block they change (at most once per transaction: after that the
 * manager says the block needs no COW), mark every changed block dirty, and free every block they
 * replace or unlink. The manager must hand out one {@link ExtentBuffer} instance per live block
 * (the btree inode's page cache), since changes are made through it.
 *
 * <p>Read-only operations take a block reader ({@code mgr.reader()}, or any bytenr → block function)
 * and a root block, so they can walk a commit root or a snapshot while the live tree moves on.
 *
 * <p>Not thread-safe: callers serialize all access to one tree (per root), modifying or not, for
 * now. The kernel's tree locks are not ported.
 */
public final class Ctree {
    private Ctree() { }

    /**
     * kernel: btrfs_create_tree() in fs/btrfs/disk-io.c (the block part) — the empty leaf a new tree
     * starts as (allocated dirty in the running transaction; install it with {@link TreeRoot#setNode}).
     */
    public static ExtentBuffer createEmptyRoot(TreeBlockManager mgr, long owner) {
        return mgr.allocTreeBlock(owner, 0);
    }

    /**
     * kernel: btrfs_cow_block(trans, root, root->node, NULL, 0, ...) on a locked root node (btrfs_lock_root_node) —
     * the root node becomes a block of this transaction (itself when it already is one and not written yet).
     */
    public static ExtentBuffer cowRootNode(TreeBlockManager mgr, TreeRoot root) {
        return CowBlock.cow(mgr, root, root.node(), null, 0);
    }

    /**
     * kernel: btrfs_search_slot() in fs/btrfs/ctree.c — walks from the root to the leaf where
     * {@code key} is or would be.
     *
     * <p>With {@code cow}, every block on the way is COWed if the manager says so, so the caller may
     * modify the path's leaf. With {@code insLen > 0} (bytes the caller will add to the leaf: item
     * header plus data for an insert, the growth for an extension) full nodes are split on the way
     * down and the leaf is guaranteed {@code insLen} free bytes. With {@code insLen < 0} (a deletion
     * follows) sparse nodes are merged on the way down and a single-child root is collapsed.
     *
     * @return the path; {@link BtrfsPath#searchResult()} is 0 when the key was found (slot = the
     *         item), 1 when not (slot = where it would be inserted, possibly == nritems)
     */
    public static BtrfsPath searchSlot(TreeBlockManager mgr, TreeRoot root, Key key, int insLen, boolean cow) {
        if (!cow) {
            if (insLen != 0) {
                throw new IllegalArgumentException("searchSlot: insLen " + insLen + " needs cow");
            }
            return search(mgr.reader(), root.node(), key);
        }
        return searchForModify(mgr, root, key, insLen, false);
    }

    /** btrfs_search_slot() with cow; {@code forInsert}: a found key fails the insert, so skip making room. */
    private static BtrfsPath searchForModify(TreeBlockManager mgr, TreeRoot root, Key key, int insLen, boolean forInsert) {
        BtrfsPath p = new BtrfsPath();
        while (!searchPass(mgr, root, key, insLen, forInsert, p)) {
            // balance_level() collapsed the root under us: start again from the new root.
            p.release();
        }
        return p;
    }

    /** One pass of btrfs_search_slot() with cow; false when the tree height changed and the search must restart. */
    private static boolean searchPass(TreeBlockManager mgr, TreeRoot root, Key key, int insLen, boolean forInsert, BtrfsPath p) {
        ExtentBuffer b = root.node();
        while (true) {
            int level = b.level();
            b = CowBlock.cow(mgr, root, b, p.parentOf(level), p.parentSlotOf(level));
            p.nodes[level] = b;
            int found = binSearch(b, key);
            int slot = slotOf(found);

            if (level == 0) {
                p.slots[0] = slot;
                p.searchResult = found >= 0 ? 0 : 1;
                if (insLen > 0 && b.leafFreeSpace() < insLen && !(forInsert && found >= 0)) {
                    LeafBalance.splitLeaf(mgr, root, key, p, insLen, found >= 0);
                    if (p.leaf().leafFreeSpace() < insLen) {
                        throw new IllegalStateException("split_leaf left " + p.leaf().leafFreeSpace() + " bytes, " + insLen + " needed");
                    }
                }
                return true;
            }
            // In a node, descend into the child whose key range holds the key.
            if (found < 0 && slot > 0) {
                slot--;
            }
            p.slots[level] = slot;
            if (insLen > 0 && b.nritems() >= ExtentBuffer.NODEPTRS_PER_BLOCK - 3) {
                // kernel: setup_nodes_for_search() — room for the pointers a split below may add.
                NodeOps.splitNode(mgr, root, p, level);
            } else if (insLen < 0 && b.nritems() < ExtentBuffer.NODEPTRS_PER_BLOCK / 2) {
                NodeOps.balanceLevel(mgr, root, p, level);
                if (p.nodes[level] == null) {
                    return false;
                }
            }
            b = readNodeSlot(mgr.reader(), p.nodes[level], p.slots[level]);
        }
    }

    /**
     * kernel: btrfs_search_slot() with no transaction (ins_len 0, cow 0), as used on a commit root
     * (path->search_commit_root) — a read-only walk from {@code rootNode}.
     */
    public static BtrfsPath search(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key key) {
        return search(reader, rootNode, key, 0);
    }

    /**
     * {@link #search(LongFunction, ExtentBuffer, Key)} with path->lowest_level: the walk stops at {@code lowestLevel},
     * where the slot is the key's own (search result 0) or, as at a leaf, where it would go (1) — btrfs_drop_snapshot's
     * resume from drop_progress at drop_level.
     */
    public static BtrfsPath search(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key key, int lowestLevel) {
        BtrfsPath p = new BtrfsPath();
        ExtentBuffer b = rootNode;
        while (true) {
            int level = b.level();
            p.nodes[level] = b;
            int found = binSearch(b, key);
            int slot = slotOf(found);
            if (level <= lowestLevel) {
                p.slots[level] = slot;
                p.searchResult = found >= 0 ? 0 : 1;
                return p;
            }
            if (found < 0 && slot > 0) {
                slot--;
            }
            p.slots[level] = slot;
            b = readNodeSlot(reader, b, slot);
        }
    }

    /**
     * kernel: btrfs_bin_search() in fs/btrfs/ctree.c — the slot of {@code key} in {@code eb} if
     * present, else {@code -(insertion point) - 1} (the {@link java.util.Arrays#binarySearch} convention).
     */
    static int binSearch(ExtentBuffer eb, Key key) {
        int low = 0;
        int high = eb.nritems();
        boolean leaf = eb.isLeaf();
        while (low < high) {
            int mid = (low + high) >>> 1;
            int c = leaf ? eb.compareItemKey(mid, key) : eb.compareNodeKey(mid, key);
            if (c < 0) {
                low = mid + 1;
            } else if (c > 0) {
                high = mid;
            } else {
                return mid;
            }
        }
        return -low - 1;
    }

    private static int slotOf(int binSearchResult) {
        return binSearchResult >= 0 ? binSearchResult : -binSearchResult - 1;
    }

    /**
     * kernel: btrfs_read_node_slot() in fs/btrfs/ctree.c, with the checks of read_block_for_search()
     * — reads child {@code slot} of {@code parent} and verifies it is the block the pointer meant:
     * one level down, the generation the pointer recorded, the first key the pointer carries.
     */
    static ExtentBuffer readNodeSlot(LongFunction<ExtentBuffer> reader, ExtentBuffer parent, int slot) {
        return MirrorReader.read(reader, parent.blockPtr(slot), (child, mirror) -> verifyChild(parent, slot, child, mirror));
    }

    /**
     * The checks of read_block_for_search() → read_tree_block() of {@code child} (btree_read_extent_buffer_pages, v5.11):
     * verify_parent_transid first (-EIO), then btrfs_verify_level_key — the level, the first key (-EUCLEAN).
     */
    private static void verifyChild(ExtentBuffer parent, int slot, ExtentBuffer child, int mirror) {
        long bytenr = parent.blockPtr(slot);
        long gen = parent.ptrGeneration(slot);
        if (child.generation() != gen) {
            throw new BtrfsException(Errno.EIO, "parent transid verify failed on " + bytenr + " wanted " + gen + " found "
                + child.generation());
        }
        if (child.level() != parent.level() - 1) {
            throw new BtrfsException(Errno.EUCLEAN, "tree level mismatch detected, bytenr=" + bytenr
                + " level expected=" + (parent.level() - 1) + " has=" + child.level());
        }
        Key expected = parent.nodeKey(slot);
        if (child.nritems() > 0 && child.compareKey(0, expected) != 0) {
            throw new BtrfsException(Errno.EUCLEAN, "tree first key mismatch detected, bytenr=" + bytenr
                + " parent_transid=" + gen + " key expected=" + expected + " has=" + child.firstKey());
        }
    }

    /**
     * kernel: btrfs_insert_empty_item() in fs/btrfs/ctree.c — inserts {@code key} with
     * {@code dataSize} zero bytes and returns the path to it (the caller fills the data through
     * {@code path.leaf()} and marks it dirty).
     *
     * @throws BtrfsException EEXIST if the key is present; EINVAL if the item cannot fit in a leaf
     */
    public static BtrfsPath insertEmptyItem(TreeBlockManager mgr, TreeRoot root, Key key, int dataSize) {
        checkItemSize(key, dataSize);
        BtrfsPath path = searchForModify(mgr, root, key, dataSize + ExtentBuffer.ITEM_SIZE, true);
        if (path.found()) {
            throw new BtrfsException(Errno.EEXIST, "item " + key + " already exists in tree " + root.objectid());
        }
        LeafOps.setupItemForInsert(mgr, path, key, dataSize);
        path.searchResult = 0;
        return path;
    }

    /**
     * kernel: btrfs_insert_item() in fs/btrfs/ctree.c — inserts {@code key} with a copy of {@code data}.
     *
     * @throws BtrfsException EEXIST if the key is present; EINVAL if the item cannot fit in a leaf
     */
    public static void insertItem(TreeBlockManager mgr, TreeRoot root, Key key, byte[] data) {
        BtrfsPath path = insertEmptyItem(mgr, root, key, data.length);
        writeItem(mgr, path, data);
    }

    /**
     * kernel: btrfs_del_item() in fs/btrfs/ctree.c — deletes the item {@code path} points at; the
     * path must come from {@link #searchSlot} with {@code insLen = -1, cow = true}. The path is
     * invalid afterwards.
     */
    public static void delItem(TreeBlockManager mgr, TreeRoot root, BtrfsPath path) {
        LeafBalance.delItems(mgr, root, path, path.slots[0], 1);
    }

    /**
     * Deletes {@code key}: btrfs_search_slot(ins_len -1, cow 1) then btrfs_del_item(), as the
     * kernel's callers do.
     *
     * @throws BtrfsException ENOENT if the key is absent
     */
    public static void deleteItem(TreeBlockManager mgr, TreeRoot root, Key key) {
        BtrfsPath path = searchSlot(mgr, root, key, -1, true);
        if (!path.found()) {
            throw new BtrfsException(Errno.ENOENT, "item " + key + " not found in tree " + root.objectid());
        }
        delItem(mgr, root, path);
    }

    /**
     * Replaces the data of {@code key} with {@code data}, growing (kernel: btrfs_extend_item()) or
     * shrinking (kernel: btrfs_truncate_item()) the item in place as needed.
     *
     * @throws BtrfsException ENOENT if the key is absent; EINVAL if the new size cannot fit in a leaf
     */
    public static void updateItem(TreeBlockManager mgr, TreeRoot root, Key key, byte[] data) {
        checkItemSize(key, data.length);
        // Look first, without COW: the growth decides how much room the modifying search must make.
        BtrfsPath probe = search(mgr.reader(), root.node(), key);
        if (!probe.found()) {
            throw new BtrfsException(Errno.ENOENT, "item " + key + " not found in tree " + root.objectid());
        }
        int growth = data.length - probe.leaf().itemSize(probe.slot());
        BtrfsPath path = searchSlot(mgr, root, key, Math.max(growth, 0), true);
        if (growth > 0) {
            LeafOps.extendItem(mgr, path, growth);
        } else if (growth < 0) {
            LeafOps.truncateItem(mgr, path, data.length);
        }
        writeItem(mgr, path, data);
    }

    private static void writeItem(TreeBlockManager mgr, BtrfsPath path, byte[] data) {
        path.leaf().setItemData(path.slot(), data);
        mgr.markDirty(path.leaf());
    }

    private static void checkItemSize(Key key, int size) {
        if (size > ExtentBuffer.MAX_ITEM_SIZE) {
            // kernel: -EOVERFLOW; Errno has no EOVERFLOW.
            throw new BtrfsException(Errno.EINVAL, "item " + key + " of " + size + " bytes is larger than the maximum item size "
                + ExtentBuffer.MAX_ITEM_SIZE + " (nodesize " + ExtentBuffer.NODESIZE + ")");
        }
    }

    /** Read-only point lookup: a copy of {@code key}'s data, or null if absent. */
    public static byte[] lookup(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key key) {
        BtrfsPath path = search(reader, rootNode, key);
        return path.found() ? path.itemData() : null;
    }

    /**
     * kernel: btrfs_next_leaf() in fs/btrfs/ctree.c — moves a read-only path to slot 0 of the next
     * leaf. The kernel re-searches because locks were dropped; callers here serialize, so the path
     * is walked directly. Do not modify the tree through the resulting path (it is not COWed).
     *
     * @return false when the path's leaf was the last one (the path is unchanged)
     */
    public static boolean nextLeaf(LongFunction<ExtentBuffer> reader, BtrfsPath path) {
        for (int level = 1; level < BtrfsPath.MAX_LEVEL; level++) {
            ExtentBuffer c = path.nodes[level];
            if (c == null) {
                return false;
            }
            int slot = path.slots[level] + 1;
            if (slot >= c.nritems()) {
                continue;
            }
            path.slots[level] = slot;
            ExtentBuffer next = readNodeSlot(reader, c, slot);
            for (int l = level - 1; l >= 0; l--) {
                path.nodes[l] = next;
                path.slots[l] = 0;
                if (l > 0) {
                    next = readNodeSlot(reader, next, 0);
                }
            }
            return true;
        }
        return false;
    }

    /**
     * kernel: btrfs_next_item() — the next slot of a read-only path's leaf, or slot 0 of the next leaf
     * ({@link #nextLeaf}); false after the last item of the tree.
     */
    public static boolean nextItem(LongFunction<ExtentBuffer> reader, BtrfsPath path) {
        if (path.slots[0] + 1 < path.nodes[0].nritems()) {
            path.slots[0]++;
            return true;
        }
        return nextLeaf(reader, path);
    }

    /** Visits the items with key &gt;= {@code from} in key order, until the visitor returns false. */
    public static void forEach(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key from, ItemVisitor visitor) {
        walk(reader, search(reader, rootNode, from), visitor);
    }

    /**
     * The same walk started one slot earlier when {@code from} is not in the tree and the leaf the search ends in has
     * an item before the slot (the item at slot - 1, whatever its key) — btrfs_lookup_file_extent() followed by
     * __btrfs_drop_extents' step back to the item that may reach into the range. A search never ends at slot 0 of a
     * leaf other than the tree's first (a node's key is the lowest key below it), so the previous item is always in
     * the same leaf.
     */
    public static void forEachFromPrevious(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key from, ItemVisitor visitor) {
        BtrfsPath path = search(reader, rootNode, from);
        if (!path.found() && path.slots[0] > 0) {
            path.slots[0]--;
        }
        walk(reader, path, visitor);
    }

    private static void walk(LongFunction<ExtentBuffer> reader, BtrfsPath path, ItemVisitor visitor) {
        do {
            ExtentBuffer leaf = path.leaf();
            for (int slot = path.slot(); slot < leaf.nritems(); slot++) {
                if (!visitor.visit(leaf.itemKey(slot), leaf.itemData(slot))) {
                    return;
                }
            }
        } while (nextLeaf(reader, path));
    }

    /**
     * One step of a leaf-by-leaf walk (as qgroup_rescan_leaf() does from a commit root): the items
     * with key &gt;= {@code start} in the leaf holding or following {@code start}, and the first key
     * of the leaf after it (null at the end). Feeding {@link Leaf#nextKey()} back in visits every
     * item exactly once, one leaf per call.
     */
    public static Leaf readLeafAt(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode, Key start) {
        BtrfsPath path = search(reader, rootNode, start);
        if (path.slot() >= path.leaf().nritems() && !nextLeaf(reader, path)) {
            return new Leaf(List.of(), null);
        }
        ExtentBuffer leaf = path.leaf();
        List<Item> items = new ArrayList<>(leaf.nritems() - path.slot());
        for (int slot = path.slot(); slot < leaf.nritems(); slot++) {
            items.add(new Item(leaf.itemKey(slot), leaf.itemData(slot)));
        }
        Key nextKey = nextLeaf(reader, path) ? path.leaf().itemKey(0) : null;
        return new Leaf(items, nextKey);
    }
}
