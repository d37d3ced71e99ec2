package org.jbtrfs.cleaner;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * Deleted subvolumes: btrfs_find_orphan_roots (root-tree.c), btrfs_clean_one_deleted_snapshot
 * (transaction.c) and btrfs_drop_snapshot (extent-tree.c).
 */
public final class DeadRoots {
    private final FsInfo fs;

    public DeadRoots(FsInfo fs) { this.fs = fs; }

    /**
     * kernel: btrfs_find_orphan_roots() in fs/btrfs/root-tree.c — for every orphan item of the tree root:
     * a root whose item is gone (its drop finished but the orphan item was left behind) has the stray
     * orphan item deleted in a joined transaction that is ended, not committed (the patch 2/5 leak on an
     * RO mount); a root with refs 0 is flagged DEAD_TREE and put on dead_roots — even with an inode still
     * in memory, unless {@link FixSwitch#ORPHAN_ROOTS_INODES_IN_MEMORY} (proposed) is applied.
     */
    public void findOrphanRoots() {
        List<TreeItem> orphans = Trees.range(fs, fs.treeRoot(), OrphanItems.key(0), OrphanItems.key(-1L));
        for (TreeItem it : orphans) {
            long id = it.key().offset();
            Root root;
            try {
                root = FsRoots.getFsRoot(fs, id, false);
            } catch (BtrfsException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
                fs.kernel.hooks().arrive(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN);
                TransHandle h;
                try {
                    h = Transactions.join(fs, fs.treeRoot(), "btrfs_find_orphan_roots");
                } catch (BtrfsException je) {
                    fs.log().error(fs.sbId(), "Failed to start trans to delete orphan item");
                    Transactions.handleFsError(fs, "btrfs_find_orphan_roots", je.errno());
                    throw je;
                }
                try {
                    Trees.delete(h, fs.treeRoot(), OrphanItems.key(id));
                } catch (BtrfsException de) {
                    fs.log().error(fs.sbId(), "Failed to delete root orphan item");
                    Transactions.handleFsError(fs, "btrfs_find_orphan_roots", de.errno());
                    throw de;
                } finally {
                    Transactions.end(h);
                }
                continue;
            }
            if (!root.state.test(RootState.ORPHAN_ITEM_INSERTED)) {
                fs.log().warn(fs.sbId(), "orphan item for root " + id + " without ORPHAN_ITEM_INSERTED");
            }
            if (root.refs() == 0) {
                root.state.set(RootState.DEAD_TREE);
                // an RO→RW remount (start_pre_rw_mount) can find a subvolume deleted in this mount whose file is
                // still open: the kernel queues it all the same, and inode_tree_del queues it again at the
                // last iput — after the cleaner dropped it. Proposed: leave it to inode_tree_del.
                if (!fs.applied(FixSwitch.ORPHAN_ROOTS_INODES_IN_MEMORY) || root.openInodes.get() == 0) {
                    FsRoots.addDeadRoot(fs, root);
                }
            }
        }
    }

    /**
     * kernel: btrfs_clean_one_deleted_snapshot() — drop at most one dead root per cleaner pass; returns
     * true ("call me again") if a root was fully dropped.
     */
    public boolean cleanOneDeletedSnapshot() {
        Root root = FsRoots.popDeadRoot(fs);
        if (root == null) {
            return false;
        }
        // btrfs_kill_all_delayed_nodes(): nothing still queued for the dead tree gets written
        fs.delayedInodes.killAllDelayedNodes(root);
        fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
        try {
            dropSnapshot(root);
            return true;
        } catch (DropInterrupted e) {
            return false;
        } catch (BtrfsException e) {
            // "return (ret < 0) ? 0 : 1;": the drop put the root back on dead_roots (and aborted its transaction where
            // the kernel does); cleaner_kthread ignores the result
            return false;
        }
    }

    /** -EAGAIN from drop_snapshot: the filesystem is going read-only or closing. */
    static final class DropInterrupted extends Exception {
        DropInterrupted() { super("drop snapshot early exit", null, false, false); }
    }

    /**
     * kernel: btrfs_drop_snapshot() in fs/btrfs/extent-tree.c (v5.10, v5.11) — run the queued delayed items, then
     * (ROOT_DELETING set: nothing may change the tree from here on) free every block of a dead subvolume in walk steps
     * ({@link DropWalk}), recording progress in the root item after each; between steps, when the transaction should
     * end or the cleaner must sleep, write the root item, end the transaction, and stop with -EAGAIN or go on in a new
     * one. At the end delete the root item and then the orphan item, ignoring that deletion's error ("it will be
     * picked up next time"): the origin of patch 2/5's stray orphan item.
     *
     * <p>Errors as 5.10 and 5.11 have them: a failed root item update or deletion aborts the transaction
     * (btrfs_abort_transaction, whose __btrfs_handle_fs_error puts the filesystem in error state and read-only); an
     * error of the walk itself (a tree block that does not read), of btrfs_run_delayed_items or of starting a
     * transaction ends the transaction and returns it, and nothing else — no abort, no error state (a walk error aborts
     * with the later upstream {@link FixSwitch#DROP_SNAPSHOT_WALK_ERROR_ABORT}). Whatever the outcome, a root not
     * dropped goes back on dead_roots ("out:"), so a later pass or mount retries it. Nothing
     * escapes the cleaner: btrfs_clean_one_deleted_snapshot returns 0 for any error and cleaner_kthread goes on.
     */
    void dropSnapshot(Root root) throws DropInterrupted {
        boolean rootDropped = false;
        TransHandle h = null;
        try {
            h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_drop_snapshot");
            // btrfs_run_delayed_items(trans) before the walk: every queued dir index and inode item (of every tree) is
            // written first; a failure ends the transaction (goto out_end_trans)
            fs.delayedInodes.runDelayedItems(h);
            root.state.set(RootState.DELETING);
            RootItem item = root.rootItem();
            DropWalk wc = item.dropProgress().objectid() == 0 ? DropWalk.fromRoot(fs, root)
                : DropWalk.resume(fs, h, root, item.dropProgress(), item.dropLevel());
            while (true) {
                try {
                    wc.walkDownTree(h);
                    if (wc.walkUpTree(h)) {
                        break;
                    }
                } catch (BtrfsException e) {
                    if (fs.applied(FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT)) {
                        // later upstream (9a93b5a35388): the steps since the last root item update freed blocks the root
                        // item on disk still names; nothing of the half-done drop may commit
                        throw abort(h, e);
                    }
                    throw e; // 5.11: "err = ret; break;" — out_end_trans, the frees commit without the drop_progress
                }
                // the in-memory root item follows every step; the tree gets it when the transaction ends
                root.setRootItem(root.rootItem().withDropProgress(wc.dropProgress(), wc.dropLevel()));
                if (wc.dropLevel() == 0) {
                    throw fs.log().bug("extent-tree.c", 5507, "btrfs_drop_snapshot: a walk step stopped at a leaf");
                }
                if (Transactions.shouldEnd(h) || fs.needCleanerSleep()) {
                    try {
                        Trees.update(h, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_ITEM, 0), root.rootItem().encode());
                    } catch (BtrfsException e) {
                        throw abort(h, e);
                    }
                    TransHandle ended = h;
                    h = null;
                    Transactions.endThrottle(ended);
                    if (fs.needCleanerSleep()) {
                        fs.log().btrfs(org.jbtrfs.core.LogLevel.DEBUG, fs.sbId(), "drop snapshot early exit");
                        throw new DropInterrupted(); // -EAGAIN, goto out_free
                    }
                    h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_drop_snapshot");
                }
            }
            // the tree is gone: delete the root item (failure aborts), then the orphan item (error ignored)
            try {
                Trees.delete(h, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_ITEM, 0));
            } catch (BtrfsException e) {
                throw abort(h, e);
            }
            try {
                if (fs.kernel.faults().shouldFail(Fault.DEL_ORPHAN_ITEM_ENOMEM, fs.sbId())) {
                    throw new BtrfsException(Errno.ENOMEM, "btrfs_del_orphan_item: cannot allocate path (injected)");
                }
                Trees.delete(h, fs.treeRoot(), OrphanItems.key(root.objectid()));
            } catch (BtrfsException ignored) {
                // kernel: "if we fail to delete the orphan item this time around, it'll get picked up the next time"
            }
            if (root.state.test(RootState.IN_RADIX)) {
                FsRoots.addDroppedRoot(h, root); // freed by this transaction's commit (switch_commit_roots)
            }
            rootDropped = true;
        } finally {
            if (h != null) {
                Transactions.endThrottle(h); // out_end_trans
            }
            if (!rootDropped) {
                FsRoots.addDeadRoot(fs, root); // out: "keep trying to do the work later"
            }
        }
    }

    /**
     * kernel: btrfs_abort_transaction(trans, ret) in btrfs_drop_snapshot — the transaction aborted, and
     * __btrfs_abort_transaction's __btrfs_handle_fs_error: "error (device X) in btrfs_drop_snapshot", error state,
     * read-only; a handle that changed nothing aborts only itself. Returns {@code e} to rethrow.
     */
    private BtrfsException abort(TransHandle h, BtrfsException e) {
        if (Transactions.abort(h, "btrfs_drop_snapshot", e)) {
            Transactions.handleFsError(fs, "btrfs_drop_snapshot", e.errno());
        }
        return e;
    }

}
