package org.jbtrfs.cleaner;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

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
            // "return (ret < 0) ? 0 : 1;": dropSnapshot already handled it (btrfs_handle_fs_error)
            return false;
        }
    }

    /** -EAGAIN from drop_snapshot: the filesystem is going read-only or closing. */
    static final class DropInterrupted extends Exception {
        DropInterrupted() { super("drop snapshot early exit", null, false, false); }
    }

    /**
     * kernel: btrfs_drop_snapshot() in fs/btrfs/extent-tree.c — run the queued delayed items, then (ROOT_DELETING
     * set: nothing may change the tree from here on) free every block of a dead subvolume in as many transactions as
     * it takes, recording progress in the root item so a later mount resumes; stop with -EAGAIN (re-queue on
     * dead_roots) when the cleaner must sleep. At the end delete the root item and then the orphan item, ignoring that
     * deletion's error ("it will be picked up next time"): the origin of patch 2/5's stray orphan item.
     */
    void dropSnapshot(Root root) throws DropInterrupted {
        boolean[] rootDropped = new boolean[1];
        try {
            dropSnapshotWalk(root, rootDropped);
        } catch (BtrfsException e) {
            // out: a root not dropped goes back on dead_roots so a later pass (or mount) retries it, and an
            // error other than -EAGAIN is btrfs_handle_fs_error()'s (error state, read-only). Nothing of
            // it escapes the cleaner: cleaner_kthread() ignores btrfs_clean_one_deleted_snapshot's result.
            if (!rootDropped[0]) {
                FsRoots.addDeadRoot(fs, root);
            }
            Transactions.handleFsError(fs, "btrfs_drop_snapshot", e.errno());
            throw e;
        }
    }

    /** The walk of {@link #dropSnapshot}: errors inside a transaction abort it (btrfs_abort_transaction). */
    private void dropSnapshotWalk(Root root, boolean[] rootDropped) throws DropInterrupted {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_drop_snapshot");
        try {
            // btrfs_run_delayed_items(trans) before the walk: every queued dir index and inode item (of every tree) is
            // written first; a failure aborts the transaction (goto out_end_trans, the root goes back on dead_roots)
            fs.delayedInodes.runDelayedItems(h);
        } catch (BtrfsException e) {
            Transactions.end(h);
            throw e;
        }
        root.state.set(RootState.DELETING);
        Key progress = root.rootItem().dropProgress();
        List<ExtentBuffer> internal = new ArrayList<>();
        List<Long> leaves = new ArrayList<>();
        List<Key> leafKeys = new ArrayList<>();
        collect(root.node(), Key.MIN, internal, leaves, leafKeys);
        try {
            for (int i = 0; i < leaves.size(); i++) {
                if (leafKeys.get(i).compareTo(progress) < 0 && !progress.equals(Key.MIN)) {
                    continue; // dropped by an earlier pass
                }
                dropLeaf(h, root, Extents.readTreeBlock(fs, leaves.get(i)));
                boolean more = i + 1 < leaves.size();
                // between walk steps, as the kernel: end the transaction when asked to, stop when going RO
                if (more && (Transactions.shouldEnd(h) || fs.needCleanerSleep())) {
                    Key next = leafKeys.get(i + 1);
                    root.setRootItem(root.rootItem().withDropProgress(next, 0));
                    Trees.update(h, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_ITEM, 0), root.rootItem().encode());
                    Transactions.endThrottle(h);
                    h = null;
                    if (fs.needCleanerSleep()) {
                        fs.log().btrfs(org.jbtrfs.core.LogLevel.DEBUG, fs.sbId(), "drop snapshot early exit");
                        FsRoots.addDeadRoot(fs, root);
                        throw new DropInterrupted();
                    }
                    h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_drop_snapshot");
                }
            }
            for (ExtentBuffer node : internal) {
                Extents.freeTreeBlock(h, node);
            }
            // the tree is gone: delete the root item, then the orphan item (error ignored)
            Trees.delete(h, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_ITEM, 0));
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
            rootDropped[0] = true; // from here on a failure does not put it back on dead_roots
            Transactions.endThrottle(h);
            h = null;
        } catch (BtrfsException e) {
            if (h != null) {
                Transactions.abort(fs, h.transaction(), e); // btrfs_abort_transaction(trans, ret)
            }
            throw e;
        } finally {
            if (h != null) {
                Transactions.end(h);
            }
        }
    }

    private void dropLeaf(TransHandle h, Root root, ExtentBuffer leaf) {
        for (int slot = 0; slot < leaf.nritems(); slot++) {
            Key k = leaf.itemKey(slot);
            if (k.type() == ItemType.EXTENT_DATA) {
                FileExtentItem fe = FileExtentItem.decode(leaf.itemData(slot));
                if (fe.isHole()) {
                    continue; // btrfs_dec_ref skips disk_bytenr 0
                }
                Extents.freeDataExtent(h, root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
            }
        }
        Extents.freeTreeBlock(h, leaf);
    }

    /**
     * walk_down_tree: leaves (with the key their parent records, which drop_progress is compared to)
     * in key order, and the internal nodes, without reading leaves that an earlier pass dropped.
     */
    private void collect(ExtentBuffer node, Key lowKey, List<ExtentBuffer> internal, List<Long> leaves, List<Key> keys) {
        if (node.level() == 0) {
            leaves.add(node.bytenr());
            keys.add(lowKey);
            return;
        }
        internal.add(node);
        for (int slot = 0; slot < node.nritems(); slot++) {
            Key k = node.nodeKey(slot);
            if (node.level() == 1) {
                leaves.add(node.blockPtr(slot));
                keys.add(k);
            } else {
                collect(Extents.readTreeBlock(fs, node.blockPtr(slot)), k, internal, leaves, keys);
            }
        }
    }
}
