package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.ctree.Ctree;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.ItemVisitor;
import org.jbtrfs.transaction.ctree.Leaf;

/**
 * Item-level tree access for the layers above: every modification goes through a transaction handle
 * (so it COWs, allocates, queues delayed refs and dirties blocks in that transaction) and holds the
 * root's tree lock; reads of the live tree hold the lock too; commit-root reads hold commit_root_sem.
 */
public final class Trees {
    private Trees() { }

    /** Insert a new item (EEXIST if present). */
    public static void insert(TransHandle h, Root root, Key key, byte[] data) {
        if (root == null) {
            throw nullRoot(h);
        }
        root.use("btrfs_insert_item");
        root.treeLock.lock();
        try {
            Ctree.insertItem(new TransTreeBlockManager(h, root), root, key, data);
        } finally {
            root.treeLock.unlock();
        }
    }

    /**
     * btrfs_search_slot() of a NULL root (a caller that read a root pointer another task cleared: the qgroup rescan
     * worker's fs_info->quota_root after quota disable) dereferences it at once: an oops there, the caller in its trace,
     * the task dead holding what it held — not a Java NullPointerException.
     */
    private static org.jbtrfs.core.KernelOops nullRoot(TransHandle h) {
        return h.fsInfo.log().oops(org.jbtrfs.core.LogEntry.Kind.OOPS,
            "BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
                + "RIP: 0010:btrfs_search_slot+0x3c/0xa50 [btrfs]\n"
                + "Call Trace:\n" + org.jbtrfs.core.KernelLog.callTrace(new Throwable(), 1));
    }

    /** Replace an item's data (ENOENT if absent). */
    public static void update(TransHandle h, Root root, Key key, byte[] data) {
        if (root == null) {
            throw nullRoot(h);
        }
        root.use("btrfs_search_slot");
        root.treeLock.lock();
        try {
            Ctree.updateItem(new TransTreeBlockManager(h, root), root, key, data);
        } finally {
            root.treeLock.unlock();
        }
    }

    /** Insert or replace. */
    public static void put(TransHandle h, Root root, Key key, byte[] data) {
        if (root == null) {
            throw nullRoot(h);
        }
        root.use("btrfs_search_slot");
        root.treeLock.lock();
        try {
            TransTreeBlockManager mgr = new TransTreeBlockManager(h, root);
            if (Ctree.lookup(mgr.reader(), root.node(), key) == null) {
                Ctree.insertItem(mgr, root, key, data);
            } else {
                Ctree.updateItem(mgr, root, key, data);
            }
        } finally {
            root.treeLock.unlock();
        }
    }

    /**
     * kernel: btrfs_lock_root_node() + btrfs_cow_block() of the root node + btrfs_tree_unlock() — what
     * commit_cowonly_roots does to the tree root first, so every commit writes the tree root anew.
     */
    public static void cowRootNode(TransHandle h, Root root) {
        root.use("btrfs_lock_root_node");
        root.treeLock.lock();
        try {
            Ctree.cowRootNode(new TransTreeBlockManager(h, root), root);
        } finally {
            root.treeLock.unlock();
        }
    }

    /** Delete an item (ENOENT if absent). */
    public static void delete(TransHandle h, Root root, Key key) {
        root.use("btrfs_search_slot");
        root.treeLock.lock();
        try {
            Ctree.deleteItem(new TransTreeBlockManager(h, root), root, key);
        } finally {
            root.treeLock.unlock();
        }
    }

    /** The item's data in the live tree, or null. */
    public static byte[] lookup(FsInfo fs, Root root, Key key) {
        root.use("btrfs_search_slot");
        root.treeLock.lock();
        try {
            return Ctree.lookup(fs.btreeInode.reader(), root.node(), key);
        } finally {
            root.treeLock.unlock();
        }
    }

    /** Items with {@code from <= key <= to} in the live tree, in key order. */
    public static List<TreeItem> range(FsInfo fs, Root root, Key from, Key to) {
        return collect(fs, root, to, v -> Ctree.forEach(fs.btreeInode.reader(), root.node(), from, v));
    }

    /**
     * Items with {@code key <= to} in the live tree from the item just before {@code from} (when {@code from} itself is
     * absent) — the caller checks that item's key: btrfs_lookup_file_extent() and the step back of
     * __btrfs_drop_extents() to an extent that starts before the range and may reach into it.
     */
    public static List<TreeItem> rangeFromPrevious(FsInfo fs, Root root, Key from, Key to) {
        return collect(fs, root, to, v -> Ctree.forEachFromPrevious(fs.btreeInode.reader(), root.node(), from, v));
    }

    /** The items a walk of the live tree visits up to {@code to}, under the tree lock (one btrfs_search_slot). */
    private static List<TreeItem> collect(FsInfo fs, Root root, Key to, java.util.function.Consumer<ItemVisitor> walk) {
        root.use("btrfs_search_slot");
        List<TreeItem> out = new ArrayList<>();
        root.treeLock.lock();
        try {
            walk.accept((k, d) -> {
                if (k.compareTo(to) > 0) {
                    return false;
                }
                out.add(new TreeItem(k, d));
                return true;
            });
        } finally {
            root.treeLock.unlock();
        }
        return out;
    }

    /**
     * kernel: btrfs_search_forward() (with min_trans BTRFS_OLDEST_GENERATION: every item) — the first item with
     * {@code from <= key <= to} in the live tree, or null; the path is released at once (the callers drop it before
     * they do anything that may sleep).
     */
    public static TreeItem next(FsInfo fs, Root root, Key from, Key to) {
        root.use("btrfs_search_forward");
        TreeItem[] found = new TreeItem[1];
        root.treeLock.lock();
        try {
            Ctree.forEach(fs.btreeInode.reader(), root.node(), from, (k, d) -> {
                if (k.compareTo(to) <= 0) {
                    found[0] = new TreeItem(k, d);
                }
                return false;
            });
        } finally {
            root.treeLock.unlock();
        }
        return found[0];
    }

    /**
     * Items with {@code key <= to} of {@code root}'s commit root from the item just before {@code from} (when
     * {@code from} itself is absent): scrub_stripe's btrfs_search_slot on the commit root and its
     * btrfs_previous_extent_item step back to an extent that starts before the stripe. The kernel's search takes no
     * lock (skip_locking; scrub is paused while a commit switches the roots); the port reads under commit_root_sem,
     * which the commit's switch holds only after every scrub has paused.
     */
    public static List<TreeItem> commitRootRangeFromPrevious(FsInfo fs, Root root, Key from, Key to) {
        List<TreeItem> out = new ArrayList<>();
        fs.commitRootSem.readLock().lock();
        try {
            Ctree.forEachFromPrevious(fs.btreeInode.reader(), root.commitRoot(), from, (k, d) -> {
                if (k.compareTo(to) > 0) {
                    return false;
                }
                out.add(new TreeItem(k, d));
                return true;
            });
        } finally {
            fs.commitRootSem.readLock().unlock();
        }
        return out;
    }

    /** One leaf of {@code root}'s commit root from {@code start} (qgroup rescan), under commit_root_sem. */
    public static Leaf commitRootLeaf(FsInfo fs, Root root, Key start) {
        fs.commitRootSem.readLock().lock();
        try {
            ExtentBuffer node = root.commitRoot();
            return Ctree.readLeafAt(fs.btreeInode.reader(), node, start);
        } finally {
            fs.commitRootSem.readLock().unlock();
        }
    }
}
