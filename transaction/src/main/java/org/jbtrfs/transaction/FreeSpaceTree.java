package org.jbtrfs.transaction;

import java.util.HashSet;
import java.util.Set;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.disk.FreeSpaceInfo;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.space.BlockGroup;

/**
 * The free space tree (space_cache=v2), fs/btrfs/free-space-tree.c — the minimum that makes it a real
 * choice: the FREE_SPACE_TREE / FREE_SPACE_TREE_VALID compat_ro bits, the tree (objectid 10) with its root
 * item, created at a read-write mount that asks for it, and one FREE_SPACE_INFO item per block group, added
 * with a new group and removed with a removed one. Left out: the FREE_SPACE_EXTENT / FREE_SPACE_BITMAP items
 * and their updates on every allocation and free (the port's allocator caches block groups from the extent
 * tree either way), so the info items' extent_count is 0.
 */
public final class FreeSpaceTree {
    private FreeSpaceTree() { }

    /** The info item key of {@code bg}: (start, FREE_SPACE_INFO, length). */
    public static Key infoKey(BlockGroup bg) { return new Key(bg.start(), ItemType.FREE_SPACE_INFO, bg.length()); }

    /**
     * kernel: btrfs_create_free_space_tree() — in one committed transaction: create the tree, populate it for
     * every block group, set the compat_ro bits FREE_SPACE_TREE and FREE_SPACE_TREE_VALID.
     */
    public static void createFreeSpaceTree(FsInfo fs) {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_create_free_space_tree");
        try {
            fs.flags.set(FsFlag.CREATING_FREE_SPACE_TREE);
            // btrfs_create_tree(): a root leaf and a root item in the tree root
            ExtentBuffer leaf = Extents.allocRootLeaf(h, ItemType.FREE_SPACE_TREE_OBJECTID);
            RootItem item = Mkfs.newRootItem(h.transid(), leaf.bytenr(), 0, 1);
            Trees.insert(h, fs.treeRoot(), new Key(ItemType.FREE_SPACE_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), item.encode());
            fs.setFreeSpaceRoot(new Root(ItemType.FREE_SPACE_TREE_OBJECTID, leaf, item));
            // populate_free_space_tree() for each group of block_group_cache_tree, by rb_next: the info item (the extent
            // items are not modelled). A chunk the inserts allocate is in the tree at once and, its logical address above
            // every other (find_next_chunk), met later in the walk; the port's chunks take the lowest device hole, so
            // the walk goes round again until every group has its info
            Set<Long> populated = new HashSet<>();
            for (boolean more = true; more; ) {
                more = false;
                for (BlockGroup bg : fs.space.blockGroups()) {
                    if (populated.add(bg.start())) {
                        Trees.insert(h, fs.freeSpaceRoot(), infoKey(bg), new FreeSpaceInfo(0, 0).encode());
                        more = true;
                    }
                }
            }
            fs.changeCompatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE, "FREE_SPACE_TREE", true);
            fs.changeCompatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE_VALID, "FREE_SPACE_TREE_VALID", true);
            fs.flags.clear(FsFlag.CREATING_FREE_SPACE_TREE);
        } catch (BtrfsException e) {
            // abort: the bit cleared, btrfs_abort_transaction, btrfs_end_transaction (stop 69, port bug: the handle was
            // only ended — the commit after wrote a half-made tree: its root item without its leaf's extent refs or the
            // other way round; the next creation met its root item, -EEXIST, and btrfs check parent transid failures)
            fs.flags.clear(FsFlag.CREATING_FREE_SPACE_TREE);
            Transactions.abort(h, "btrfs_create_free_space_tree", e);
            Transactions.end(h);
            throw e;
        } catch (RuntimeException e) {
            fs.flags.clear(FsFlag.CREATING_FREE_SPACE_TREE);
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
    }

    /**
     * kernel: btrfs_clear_free_space_tree() — clear the compat_ro bits, delete every item, the root item and
     * the root block, commit (mount option clear_cache on a filesystem with a free space tree).
     */
    public static void clearFreeSpaceTree(FsInfo fs) {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_clear_free_space_tree");
        try {
            fs.changeCompatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE, "FREE_SPACE_TREE", false);
            fs.changeCompatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE_VALID, "FREE_SPACE_TREE_VALID", false);
            Root root = fs.freeSpaceRoot();
            fs.setFreeSpaceRoot(null);
            if (root != null) {
                for (TreeItem it : Trees.range(fs, root, Key.MIN, Key.MAX)) {
                    Trees.delete(h, root, it.key());
                }
                Trees.delete(h, fs.treeRoot(), new Key(ItemType.FREE_SPACE_TREE_OBJECTID, ItemType.ROOT_ITEM, 0));
                Extents.freeTreeBlock(h, root.node());
            }
        } catch (BtrfsException e) {
            Transactions.abort(h, "btrfs_clear_free_space_tree", e); // abort: as its creation's (stop 69, port bug)
            Transactions.end(h);
            throw e;
        } catch (RuntimeException e) {
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
    }

    /**
     * kernel: add_block_group_free_space() — a new block group's info item: only with the FREE_SPACE_TREE compat_ro bit
     * set, and only for a group made while it was set (needs_free_space). A group made while
     * btrfs_create_free_space_tree runs (the bit not yet set) got its info from populate_free_space_tree instead — stop
     * 61, port bug: the port tested only that the tree existed, and a metadata chunk allocated during the creation had
     * its info inserted twice (EEXIST, the transaction aborted; hunt seed 61001, class 89f88fbd).
     */
    static void addBlockGroupFreeSpace(TransHandle h, BlockGroup bg) {
        FsInfo fs = h.fsInfo;
        if (!fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE) || !fs.space.takeNeedsFreeSpace(bg)) {
            return;
        }
        Root root = fs.freeSpaceRoot();
        if (root != null) {
            Trees.insert(h, root, infoKey(bg), new FreeSpaceInfo(0, 0).encode());
        }
    }

    /** kernel: remove_block_group_free_space() — a removed block group's items go with it. */
    public static void removeBlockGroupFreeSpace(TransHandle h, BlockGroup bg) {
        Root root = h.fsInfo.freeSpaceRoot();
        if (root != null && Trees.lookup(h.fsInfo, root, infoKey(bg)) != null) {
            Trees.delete(h, root, infoKey(bg));
        }
    }

    /** The number of info items (one per block group while the tree is maintained). */
    public static int infoCount(FsInfo fs) {
        Root root = fs.freeSpaceRoot();
        return root == null ? 0 : Trees.range(fs, root, Key.MIN, Key.MAX).size();
    }
}
