package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;

/** Reading roots: btrfs_read_roots, btrfs_get_fs_root, btrfs_add_dead_root (disk-io.c, transaction.c). */
public final class FsRoots {
    private FsRoots() { }

    /**
     * kernel: btrfs_read_tree_root() — the root item of tree {@code id} from the root tree and its root node, read with
     * the item's generation as the parent transid; null if no item.
     */
    public static Root readRoot(FsInfo fs, long id) {
        byte[] b = Trees.lookup(fs, fs.treeRoot(), new Key(id, ItemType.ROOT_ITEM, 0));
        if (b == null) {
            return null;
        }
        RootItem item = RootItem.decode(b);
        return new Root(id, fs.btreeInode.readTreeBlock(item.bytenr(), item.generation()), item);
    }

    /**
     * kernel: btrfs_get_fs_root() in fs/btrfs/disk-io.c — the subvolume root from fs_roots_radix, or read
     * from its root item and inserted in the radix; -ENOENT (exception) if there is no root item, or
     * if {@code checkRef} and its refs are 0.
     */
    public static Root getFsRoot(FsInfo fs, long id, boolean checkRef) {
        Root r = fs.fsRootsRadix.get(id);
        if (r != null) {
            if (checkRef && r.refs() == 0) {
                throw new BtrfsException(Errno.ENOENT, "subvolume " + id + " is deleted");
            }
            return r;
        }
        r = readRoot(fs, id);
        if (r == null) {
            throw new BtrfsException(Errno.ENOENT, "no root item for subvolume " + id);
        }
        if (checkRef && r.refs() == 0) {
            throw new BtrfsException(Errno.ENOENT, "subvolume " + id + " is deleted");
        }
        if (Trees.lookup(fs, fs.treeRoot(), new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, id)) != null) {
            r.state.set(RootState.ORPHAN_ITEM_INSERTED);
        }
        Root raced = fs.fsRootsRadix.putIfAbsent(id, r);
        if (raced != null) {
            return raced;
        }
        r.state.set(RootState.IN_RADIX);
        return r;
    }

    /**
     * kernel: btrfs_init_root_free_objectid() — the highest objectid below BTRFS_LAST_FREE_OBJECTID in
     * {@code root}, at least BTRFS_FIRST_FREE_OBJECTID - 1; from then on btrfs_get_free_objectid only
     * counts up, so an id is not handed out twice while mounted.
     */
    public static void initRootFreeObjectid(FsInfo fs, Root root) {
        long max = ItemType.FIRST_FREE_OBJECTID - 1;
        for (TreeItem it : Trees.range(fs, root, new Key(ItemType.FIRST_FREE_OBJECTID, 0, 0),
            new Key(ItemType.LAST_FREE_OBJECTID, 0, 0))) {
            max = Math.max(max, it.key().objectid());
        }
        root.highestObjectid.set(max);
    }

    /** kernel: btrfs_get_free_objectid() */
    public static long getFreeObjectid(Root root) {
        if (root.highestObjectid.get() < 0) {
            throw new IllegalStateException("free objectid of " + root + " not initialised");
        }
        return root.highestObjectid.incrementAndGet();
    }

    /**
     * kernel: btrfs_add_dead_root() — put a deleted subvolume on dead_roots, unless its root_list is on a list already
     * (dead_roots, or a transaction's dropped_roots until that commit frees it).
     */
    public static void addDeadRoot(FsInfo fs, Root root) {
        synchronized (fs.transLock) {
            // list_empty(&root->root_list): a root on a transaction's dropped_roots is on a list too
            if (!fs.deadRoots.contains(root) && !root.state.test(RootState.DROPPED)) {
                fs.deadRoots.add(root);
            }
        }
    }

    /** Pops the first dead root (btrfs_clean_one_deleted_snapshot's list step), or null. */
    public static Root popDeadRoot(FsInfo fs) {
        synchronized (fs.transLock) {
            return fs.deadRoots.isEmpty() ? null : fs.deadRoots.remove(0);
        }
    }

    /**
     * kernel: btrfs_add_dropped_root() in fs/btrfs/transaction.c — a subvolume whose tree btrfs_drop_snapshot freed goes
     * on the transaction's dropped_roots, and its radix tag is cleared so the commit does not update its (deleted) root
     * item; it stays in fs_roots_radix until that commit's switch_commit_roots frees it
     * ({@link #dropAndFreeFsRoot}). A transaction that aborts instead leaves it there for close_ctree's
     * btrfs_free_fs_roots (btrfs_cleanup_one_transaction does not look at dropped_roots).
     */
    public static void addDroppedRoot(TransHandle h, Root root) {
        synchronized (h.transaction().droppedRoots) {
            h.transaction().droppedRoots.add(root);
        }
        root.state.set(RootState.DROPPED);
    }

    /**
     * switch_commit_roots' step for a root of dropped_roots: list_del_init, then kernel: btrfs_drop_and_free_fs_root() —
     * off fs_roots_radix (and its reference dropped).
     */
    static void dropAndFreeFsRoot(FsInfo fs, Root root) {
        root.state.clear(RootState.DROPPED);
        if (fs.fsRootsRadix.remove(root.objectid(), root)) {
            root.state.clear(RootState.IN_RADIX);
        }
    }

    /** kernel: btrfs_free_fs_roots() — drain dead_roots and drop every root of the radix (close_ctree). */
    public static void freeFsRoots(FsInfo fs) {
        synchronized (fs.transLock) {
            fs.deadRoots.clear();
        }
        fs.fsRootsRadix.clear();
    }
}
