package org.jbtrfs.transaction;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.core.kernel.FlagWord;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.TreeRoot;

/**
 * struct btrfs_root: one tree (root tree, extent tree, a subvolume) with its current root node, its
 * commit root (the last committed version, readable without locks by the rescan worker), its root
 * item and state bits.
 *
 * <p>Locking: the kernel locks extent buffers; the port serialises every modification of one tree
 * with {@link #treeLock} (held across a whole search-and-modify), which keeps the lifecycle
 * ordering faithful while keeping tree code simple.
 */
public final class Root implements TreeRoot {
    private final long objectid;
    private volatile ExtentBuffer node;
    private volatile ExtentBuffer commitRoot;
    private volatile RootItem rootItem;
    public final FlagWord<RootState> state = new FlagWord<>();
    public final ReentrantLock treeLock = new ReentrantLock();
    /** In-memory inodes of this subvolume that are open (root->inode_tree non-empty). */
    public final AtomicInteger openInodes = new AtomicInteger();
    /** root->highest_objectid: -1 until btrfs_init_root_free_objectid found it from the tree. */
    public final java.util.concurrent.atomic.AtomicLong highestObjectid = new java.util.concurrent.atomic.AtomicLong(-1);
    /** Set by btrfs_orphan_cleanup once it ran for this root (orphan_cleanup_state). */
    public final java.util.concurrent.atomic.AtomicBoolean orphanCleanupDone = new java.util.concurrent.atomic.AtomicBoolean();
    /** The transaction this root was last modified in (root->last_trans). */
    volatile long lastTrans;
    /** Set when the last reference was put (btrfs_put_root): every later use is a use-after-free. */
    private final org.jbtrfs.core.kernel.FreedSlot freed = new org.jbtrfs.core.kernel.FreedSlot();

    public Root(long objectid, ExtentBuffer node, RootItem item) {
        this.objectid = objectid;
        this.node = node;
        this.commitRoot = node;
        this.rootItem = item;
    }

    @Override public long objectid() { return objectid; }

    /** root->last_trans (btrfs_add_inode_defrag queues an inode with it). */
    public long lastTrans() { return lastTrans; }

    /**
     * kernel: btrfs_put_root() dropping the last reference — the struct is freed (its node released, the memory
     * poisoned). The port keeps no count for the roots it publishes; a path that puts a root it did not take is the
     * bug this models (5.11's btrfs_quota_enable putting the quota root it had already published). A later
     * {@link #use} reports the use-after-free.
     */
    public void putLast(org.jbtrfs.core.KernelLog log) {
        freed.free(log, "struct btrfs_root of tree " + objectid);
    }

    /** Checks the root is not freed before {@code function} dereferences it (KASAN's use-after-free report if it is). */
    public void use(String function) { freed.use(function); }

    @Override public ExtentBuffer node() { return node; }

    @Override public void setNode(ExtentBuffer newRoot) {
        this.node = newRoot;
        state.set(RootState.DIRTY);
    }

    public ExtentBuffer commitRoot() { return commitRoot; }

    void switchCommitRoot() { commitRoot = node; }

    public RootItem rootItem() { return rootItem; }

    public void setRootItem(RootItem item) { this.rootItem = item; }

    /** Subvolume reference count from the root item (0: deleted). */
    public int refs() { return rootItem == null ? 1 : rootItem.refs(); }

    @Override
    public String toString() { return "root " + objectid; }
}
