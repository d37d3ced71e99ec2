package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.api.Test;

/**
 * btrfs_drop_snapshot's walk (walk_down_tree / walk_up_tree, fs/btrfs/extent-tree.c, v5.10 and v5.11) as
 * {@link DropWalk} ports it, and the drop's error handling.
 *
 * <p>Decision (stop 41, <b>port bugs</b>, fixed; read: btrfs_drop_snapshot, walk_down_tree, walk_down_proc,
 * do_walk_down, walk_up_tree, walk_up_proc of v5.10.7 and v5.11): the port's drop read every leaf's address up front,
 * freed the leaves in key order and every node last, in the drop's final transaction, and recorded its progress with
 * drop_level 0 — a value the kernel never writes (a step always stops at a node) and meets with BUG_ON(level == 0) when
 * it resumes. The kernel frees a node in the step that frees its last child and records the level and slot the step
 * stopped at. And the port put the filesystem into error state and read-only for any error of the drop; 5.10 and 5.11
 * do that only where they abort the transaction (the root item's update or deletion): an unreadable tree block, a failed
 * btrfs_run_delayed_items or transaction start only end the transaction and put the root back on dead_roots.
 */
class DropWalkTest {
    private static final long ID = 5000;

    /**
     * A drop stopped after every step (the filesystem read-only: btrfs_need_cleaner_sleep) and resumed from its root item
     * each time: every step frees one leaf; the progress is the slot the step stopped at, at level 1 — or 2 where the
     * step also freed a level-1 node with its last leaf; after every step's commit, exactly the blocks no earlier step
     * freed still have extent items. The old walk recorded level 0 and freed no node before the end.
     */
    @Test
    void everyStepFreesOneLeafAndTheNodesItEmptiedAndRecordsWhereItStopped() {
        try (CleanerFs f = new CleanerFs()) {
            Root root = f.deletedSubvolume(ID, 6000, 2);
            int leaves = leavesUnder(f, root.node());
            int firstNodeLeaves = f.fs.btreeInode.readTreeBlock(root.node().blockPtr(0)).nritems();
            f.fs.setSbRdonly(); // every drop stops after its first step: "drop snapshot early exit", -EAGAIN
            int steps = 0;
            boolean sawLevel2 = false;
            while (true) {
                org.jbtrfs.transaction.FsRoots.addDeadRoot(f.fs, root);
                boolean done = f.c.deadRoots().cleanOneDeletedSnapshot();
                steps++;
                if (done) {
                    break;
                }
                RootItem item = root.rootItem();
                assertTrue(item.dropLevel() >= 1, "drop_level " + item.dropLevel() + " after step " + steps);
                if (steps == firstNodeLeaves) {
                    assertEquals(2, item.dropLevel(), "the step that freed the first node's last leaf freed the node");
                    assertEquals(root.node().nodeKey(1), item.dropProgress());
                }
                sawLevel2 |= item.dropLevel() == 2;
                assertEquals(item, f.rootItem(ID), "written to the tree root as the transaction ended");
                f.commitRunning();
                assertEquals(liveBlocks(f, root, item.dropProgress()), extentItemsOf(f, ID), "after step " + steps);
            }
            assertEquals(leaves, steps, "one leaf per step");
            assertTrue(sawLevel2);
            assertNull(f.rootItem(ID));
            f.commitRunning();
            assertEquals(Set.of(), extentItemsOf(f, ID), "every block freed");
        }
    }

    /**
     * An unreadable tree block in the walk (here: a node's pointer to never-written space): the drop ends its transaction and puts the root back on dead_roots — no abort, no error state, the
     * filesystem stays writable, and the next pass tries again. The old drop called btrfs_handle_fs_error. 5.11's order:
     * the later upstream {@link FixSwitch#DROP_SNAPSHOT_WALK_ERROR_ABORT} reverted (applied, the walk error aborts the
     * transaction: {@code DropSnapshotWalkErrorAbortTest} in the fs module).
     */
    @Test
    void anUnreadableBlockEndsTheDropWithoutAnErrorStateAndTheRootIsRetried() {
        try (CleanerFs f = new CleanerFs(FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT)) {
            Root root = f.deletedSubvolume(ID, 30);
            // the second leaf's pointer leads to never-written space: the read fails its checks
            root.node().setBlockPtr(1, org.jbtrfs.transaction.TestFs.SIZE - (16L << 20));
            org.jbtrfs.transaction.FsRoots.addDeadRoot(f.fs, root);

            assertFalse(f.c.deadRoots().cleanOneDeletedSnapshot(), "the error is the drop's result");

            assertFalse(f.fs.fsState.test(FsState.ERROR), f.t.kernel.log().dmesg());
            assertFalse(f.fs.fsState.test(FsState.TRANS_ABORTED));
            assertFalse(f.t.kernel.log().contains("forced readonly"));
            assertEquals(List.of(ID), f.fs.deadRootIds(), "back on dead_roots");
            assertEquals(0, f.fs.transList().get(0).numWriters(), "its handle ended");
            assertFalse(f.c.deadRoots().cleanOneDeletedSnapshot(), "retried, and fails the same way");
            assertEquals(List.of(ID), f.fs.deadRootIds());
            assertNotNull(f.rootItem(ID));
        }
    }

    /**
     * A block the tree points at without a reference in the extent tree (its METADATA_ITEM deleted here): do_walk_down's
     * btrfs_lookup_extent_info finds 0, "Missing references.", EIO — a walk error, so no abort and no error state;
     * the root goes back on dead_roots. The old walk looked nothing up and freed the block. 5.11's order, as above.
     */
    @Test
    void aBlockWithoutReferencesIsMissingReferencesAndStopsTheDrop() {
        try (CleanerFs f = new CleanerFs(FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT)) {
            Root root = f.deletedSubvolume(ID, 30);
            long leaf = root.node().blockPtr(1);
            var h = org.jbtrfs.transaction.Transactions.start(f.fs, f.fs.treeRoot(), 1, "test_corrupt");
            Trees.delete(h, f.fs.extentRoot(), new Key(leaf, ItemType.METADATA_ITEM, 0));
            org.jbtrfs.transaction.Transactions.commit(h);
            org.jbtrfs.transaction.FsRoots.addDeadRoot(f.fs, root);

            assertFalse(f.c.deadRoots().cleanOneDeletedSnapshot());

            assertTrue(f.t.kernel.log().contains("Missing references."), f.t.kernel.log().dmesg());
            assertFalse(f.fs.fsState.test(FsState.ERROR));
            assertEquals(List.of(ID), f.fs.deadRootIds());
            assertNotNull(f.rootItem(ID));
        }
    }

    private static int leavesUnder(CleanerFs f, ExtentBuffer node) {
        if (node.level() == 0) {
            return 1;
        }
        int n = 0;
        for (int slot = 0; slot < node.nritems(); slot++) {
            n += node.level() == 1 ? 1 : leavesUnder(f, f.fs.btreeInode.readTreeBlock(node.blockPtr(slot)));
        }
        return n;
    }

    /** The blocks of the tree a drop that got to {@code progress} has not freed: every subtree not wholly before it. */
    private static Set<Long> liveBlocks(CleanerFs f, Root root, Key progress) {
        Set<Long> live = new TreeSet<>();
        collect(f, root.node(), null, progress, live);
        return live;
    }

    private static void collect(CleanerFs f, ExtentBuffer eb, Key high, Key progress, Set<Long> live) {
        live.add(eb.bytenr());
        for (int slot = 0; eb.level() > 0 && slot < eb.nritems(); slot++) {
            Key childHigh = slot + 1 < eb.nritems() ? eb.nodeKey(slot + 1) : high;
            if (childHigh == null || childHigh.compareTo(progress) > 0) {
                collect(f, f.fs.btreeInode.readTreeBlock(eb.blockPtr(slot)), childHigh, progress, live);
            }
        }
    }

    private static Set<Long> extentItemsOf(CleanerFs f, long owner) {
        Set<Long> blocks = new TreeSet<>();
        for (TreeItem it : Trees.range(f.fs, f.fs.extentRoot(), Key.MIN, Key.MAX)) {
            if (it.key().type() == ItemType.METADATA_ITEM && ExtentItem.decode(it.data()).ownerRoot() == owner) {
                blocks.add(it.key().objectid());
            }
        }
        return blocks;
    }
}
