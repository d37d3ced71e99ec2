package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongFunction;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.ctree.BtrfsPath;
import org.jbtrfs.transaction.ctree.Ctree;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

/**
 * kernel: fs/btrfs/backref.c — the backref walk on the commit roots (a NULL transaction, no delayed refs), as the qgroup
 * rescan worker runs it for every extent item it accounts and a task queueing a reference with quotas on runs it for the
 * extent's old roots, and on the current roots (SEQ_LAST), as the commit's qgroup accounting runs it for the new ones.
 *
 * <p>Why the port walks at all: it keeps one inline backref per extent item (the owner root), so the answer is known
 * before the walk starts. But the kernel's rescan resolves every extent this way — one extent-tree search and one
 * search of the referencing tree per level, on the commit roots, holding commit_root_sem for reading, which a commit's
 * switch_commit_roots waits for — and a rescan that read the owner instead skipped both the cost and that exclusion.
 * The walk below does the kernel's searches on the real commit-root blocks (reading any that are not cached), and its
 * result is what the rescan accounts.
 *
 * <p>A data extent's indirect ref is its EXTENT_DATA_REF's key (inode, EXTENT_DATA, file offset of the extent's start),
 * which resolve_indirect_ref searches the subvolume for (stop 51; before, the port's extent item did not record it and
 * the search followed the subvolume's first key — on a subvolume being dropped, a path the drop had already freed).
 * From where the search lands, add_all_parents walks the inode's file extent items on, across leaves, for the leaves
 * holding the extent's items (stop 51: before, the landing leaf was taken for the parent). Where the ref's offset lies
 * below its leaf's first key the search still lands in the previous leaf — on a subvolume being dropped, possibly one the
 * drop freed, as in the kernel ({@code FixSwitch.BACKREF_DELETING_COMMIT_ROOT}). Shared (full) backrefs do not exist
 * without snapshots and relocation, which are not modelled.
 */
public final class Backref {
    private Backref() { }

    /**
     * kernel: btrfs_find_all_roots(NULL, fs_info, bytenr, 0, &roots, false) — under commit_root_sem (read),
     * btrfs_find_all_roots_safe(): find_parent_nodes() for the extent, then for every tree block found to reference it,
     * until only roots are left. An extent the commit roots no longer have (freed since the caller read it) has none.
     */
    public static List<Long> findAllRoots(FsInfo fs, long bytenr) {
        fs.commitRootSem.readLock().lock();
        try {
            return walk(fs, bytenr, true);
        } finally {
            fs.commitRootSem.readLock().unlock();
        }
    }

    /**
     * kernel: btrfs_find_all_roots(trans, fs_info, bytenr, SEQ_LAST, &roots, false) — the commit's new roots
     * (btrfs_qgroup_account_extents): the same walk on the current roots, "which doesn't lock tree or delayed_refs",
     * safe only inside the commit (every writer has left and every delayed ref has run). A root is looked up with
     * btrfs_get_fs_root (the radix, else its root item in the current root tree — the kernel then adds it to the
     * radix, the port does not); a subvolume being deleted (BTRFS_ROOT_DELETING) is -ENOENT, and stays a root.
     */
    static List<Long> findAllRootsSeqLast(FsInfo fs, long bytenr) {
        return walk(fs, bytenr, false);
    }

    private static List<Long> walk(FsInfo fs, long bytenr, boolean commitRoots) {
        List<Long> roots = new ArrayList<>(1);
        Ulist tmp = new Ulist(); // the parents: each walked once, in the order found
        long next = bytenr;
        for (int i = 0; ; i++) {
            findParentNodes(fs, next, tmp, roots, commitRoots);
            if (i == tmp.order.size()) {
                return roots;
            }
            next = tmp.order.get(i);
        }
    }

    /**
     * kernel: find_parent_nodes() — search the extent tree (its commit root for a NULL transaction, else its current
     * root) for the extent item of {@code bytenr}; its inline ref (add_inline_refs: EXTENT_DATA_REF at level 0,
     * TREE_BLOCK_REF at the block's level + 1 with the block's first key, which add_missing_keys reads from the block) is
     * an indirect ref, and resolve_indirect_ref() resolves it: a root whose (commit) root is right below the ref's level
     * is one of the roots, otherwise the search of that root down to the level names the tree block that references the
     * extent — a parent. A root that cannot be read (-ENOENT, tolerated by resolve_indirect_refs) stays a root.
     */
    private static void findParentNodes(FsInfo fs, long bytenr, Ulist parents, List<Long> roots, boolean commitRoots) {
        LongFunction<ExtentBuffer> reader = fs.btreeInode.reader();
        ExtentBuffer extentTop = commitRoots ? fs.extentRoot().commitRoot() : fs.extentRoot().node();
        BtrfsPath path = Ctree.search(reader, extentTop, new Key(bytenr, ItemType.METADATA_ITEM, -1L));
        int slot = path.slot();
        if (slot == 0) {
            return; // "if (path->slots[0])": nothing before the search key in this leaf
        }
        ExtentBuffer leaf = path.leaf();
        Key key = leaf.itemKey(slot - 1);
        if (key.objectid() != bytenr || (key.type() != ItemType.EXTENT_ITEM && key.type() != ItemType.METADATA_ITEM)) {
            return;
        }
        ExtentItem item = ExtentItem.decode(leaf.itemData(slot - 1));
        int level;
        Key searchKey;
        if (item.isTreeBlock()) {
            level = (key.type() == ItemType.METADATA_ITEM ? (int) key.offset() : item.level()) + 1;
            ExtentBuffer block = reader.apply(bytenr); // add_missing_keys: read_tree_block for the first key
            searchKey = block.nritems() == 0 ? Key.MIN : block.firstKey();
        } else {
            level = 0;
            searchKey = new Key(item.dataObjectid(), ItemType.EXTENT_DATA, item.dataOffset()); // the EXTENT_DATA_REF's key
        }
        long rootId = item.ownerRoot();
        ExtentBuffer rootNode = commitRoots ? commitRootOf(fs, rootId, reader) : currentRootOf(fs, rootId, reader);
        if (rootNode == null || rootNode.level() + 1 == level) {
            if (!roots.contains(rootId)) {
                roots.add(rootId);
            }
            return;
        }
        // path->lowest_level = level; a tree lower than that since ends at its root node ("while (!eb) level--")
        int reached = Math.min(level, rootNode.level());
        BtrfsPath up = Ctree.search(reader, rootNode, searchKey, reached);
        if (level == 0) {
            if (addAllParents(reader, up, searchKey, bytenr, rootId, item.refs(), parents) == 0 && !roots.contains(rootId)) {
                // no parent found: resolve_indirect_refs leaves ref->parent 0, and find_parent_nodes takes a ref with
                // a root id and no parent for the root of its tree ("no parent == root of tree")
                roots.add(rootId);
            }
        } else {
            parents.add(up.node(reached).bytenr());
        }
    }

    /**
     * kernel: add_all_parents() for a data ref — from where the search for the ref's key landed, the file extent items
     * of the ref's inode in key order, across leaves, until as many as the ref counts have been found: each leaf holding
     * an item of the extent whose key offset minus extent offset is the ref's offset is a parent; returns how many items
     * were found. A leaf of another tree, or a landing past the last slot (the ref's offset lies below its first item: a
     * split's back part, or an extent partly overwritten at its front), goes on to the next leaf first.
     */
    private static long addAllParents(LongFunction<ExtentBuffer> reader, BtrfsPath path, Key keyForSearch, long wanted,
                                      long rootId, long count, Ulist parents) {
        ExtentBuffer eb = path.leaf();
        boolean more = true;
        if (path.slot() >= eb.nritems() || eb.owner() != rootId) {
            more = Ctree.nextLeaf(reader, path);
        }
        long found = 0;
        while (more && found < count) {
            eb = path.leaf();
            int slot = path.slot();
            Key key = eb.itemKey(slot);
            if (key.objectid() != keyForSearch.objectid() || key.type() != ItemType.EXTENT_DATA) {
                break;
            }
            if (slot == 0 && eb.owner() != rootId) {
                more = Ctree.nextLeaf(reader, path);
                continue;
            }
            byte[] data = eb.itemData(slot);
            if (data.length == FileExtentItem.SIZE) {
                FileExtentItem fe = FileExtentItem.decode(data);
                if (fe.diskBytenr() == wanted && keyForSearch.offset() == key.offset() - fe.offset()) {
                    found++;
                    parents.add(eb.bytenr());
                }
            }
            more = Ctree.nextItem(reader, path);
        }
        return found;
    }

    /**
     * One find_parent_nodes() step on the commit roots, for tests: the roots found directly, then the parent blocks to
     * walk next, in the order found.
     */
    static List<List<Long>> parentNodesForTest(FsInfo fs, long bytenr) {
        fs.commitRootSem.readLock().lock();
        try {
            Ulist parents = new Ulist();
            List<Long> roots = new ArrayList<>();
            findParentNodes(fs, bytenr, parents, roots, true);
            return List.of(roots, parents.order);
        } finally {
            fs.commitRootSem.readLock().unlock();
        }
    }

    /** struct ulist: values in insertion order, each once. */
    private static final class Ulist {
        final List<Long> order = new ArrayList<>();
        private final Set<Long> members = new HashSet<>();

        void add(long v) {
            if (members.add(v)) {
                order.add(v);
            }
        }
    }

    /**
     * kernel: btrfs_get_fs_root_commit_root() — a global root or one in fs_roots_radix (btrfs_grab_root), else the root
     * item read from the root tree's commit root (read_tree_root_path); the tree's commit root node, or null (-ENOENT).
     */
    private static ExtentBuffer commitRootOf(FsInfo fs, long rootId, LongFunction<ExtentBuffer> reader) {
        Root r = fs.rootOf(rootId);
        if (r != null) {
            // btrfs_grab_root's refcount_inc_not_zero reads the struct: KASAN's report if it was freed (5.11's quota
            // enable error path puts the quota root it published while a rescan ioctl's worker walks)
            r.use("btrfs_get_fs_root_commit_root");
            if (fs.applied(FixSwitch.BACKREF_DELETING_COMMIT_ROOT) && r.state.test(RootState.DELETING)) {
                // proposed fix: a root being dropped is -ENOENT for a commit-root walk too (kept as a root) — its commit
                // root is the tree before the drop, whose freed blocks the allocator may have reused
                return null;
            }
            return r.commitRoot();
        }
        return unloadedRoot(fs, rootId, reader, fs.treeRoot().commitRoot());
    }

    /**
     * kernel: btrfs_get_fs_root(fs_info, id, false) as resolve_indirect_ref calls it for a current-root walk — a root
     * in the radix (btrfs_grab_root: KASAN's check), null (-ENOENT) if it is being deleted; else as
     * {@link #commitRootOf}, from the current root tree.
     */
    private static ExtentBuffer currentRootOf(FsInfo fs, long rootId, LongFunction<ExtentBuffer> reader) {
        Root r = fs.rootOf(rootId);
        if (r != null) {
            r.use("btrfs_get_fs_root");
            return r.state.test(RootState.DELETING) ? null : r.node();
        }
        return unloadedRoot(fs, rootId, reader, fs.treeRoot().node());
    }

    /** A root not in memory: a global tree not set up is -ENOENT (null), never read; else its root item in {@code rootTree}. */
    private static ExtentBuffer unloadedRoot(FsInfo fs, long rootId, LongFunction<ExtentBuffer> reader, ExtentBuffer rootTree) {
        if (Long.compareUnsigned(rootId, ItemType.FS_TREE_OBJECTID) < 0 || rootId == ItemType.CSUM_TREE_OBJECTID
            || rootId == ItemType.QUOTA_TREE_OBJECTID || rootId == ItemType.UUID_TREE_OBJECTID
            || rootId == ItemType.FREE_SPACE_TREE_OBJECTID) {
            return null; // btrfs_get_global_root: a global tree not (or no longer) set up is -ENOENT, never read
        }
        BtrfsPath path = Ctree.search(reader, rootTree, new Key(rootId, ItemType.ROOT_ITEM, -1L));
        int slot = path.slot();
        if (slot == 0) {
            return null;
        }
        Key key = path.leaf().itemKey(slot - 1);
        if (key.objectid() != rootId || key.type() != ItemType.ROOT_ITEM) {
            return null;
        }
        return reader.apply(RootItem.decode(path.leaf().itemData(slot - 1)).bytenr());
    }
}
