package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.QgroupHooks;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.api.Test;

/**
 * {@link FixSwitch#BACKREF_DELETING_COMMIT_ROOT}, both directions: a subvolume drop with quotas on, whose second leaf
 * starts with the back part of an extent split across the two leaves (its data ref's key, the extent's start, lies in the
 * first leaf). The drop frees the first leaf and that transaction commits; another tree's block takes its space; the drop
 * then frees the second leaf's reference, and btrfs_qgroup_trace_extent_post walks the commit roots for the extent.
 *
 * <p>Decision: <b>kernel behaviour</b>, kept bug-for-bug with a proposed fix. Read (v5.11): backref.c
 * resolve_indirect_ref (the BTRFS_ROOT_DELETING test is skipped for search_commit_root), find_parent_nodes,
 * add_all_parents; extent-tree.c btrfs_drop_snapshot (no COW of the dead root, no record_root_in_trans, so its
 * commit_root is the tree before the drop), walk_up_proc and __btrfs_mod_ref (skip_qgroup only for relocation trees);
 * qgroup.c btrfs_qgroup_trace_extent_post and btrfs_qgroup_account_extents; transaction.c btrfs_commit_transaction
 * (an error of the accounting fails the commit). Mainline's resolve_indirect_ref still tests DELETING for the current
 * roots only. Not checked on a running kernel.
 */
class BackrefDeletingCommitRootTest {
    private static final long ID = 5000;
    private static final long INO = 300;

    /** What the qgroup layer was told. */
    private static final class Seen implements QgroupHooks {
        final List<String> traceFailures = new ArrayList<>();
        final List<List<Long>> oldRootsOfExtent = new ArrayList<>();
        long extent;

        @Override
        public void accountExtent(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) {
            if (bytenr == extent) {
                oldRootsOfExtent.add(List.copyOf(oldRoots));
            }
        }

        @Override public boolean runQgroups(TransHandle h) { return false; }

        @Override public void traceExtentFailed(BtrfsException e) { traceFailures.add(e.getMessage()); }
    }

    /** Reverted (v5.11): the walk reads the reused block — -EIO, the WARN, and the drop's transaction aborts at its commit. */
    @Test
    void revertedTheWalkReadsTheLeafTheDropFreedAndTheCommitAborts() {
        try (CleanerFs f = new CleanerFs(FixSwitch.BACKREF_DELETING_COMMIT_ROOT)) {
            Seen seen = new Seen();
            TransHandle t2 = dropPastTheFirstLeafAfterItsSpaceWasReused(f, seen);
            assertEquals(1, seen.traceFailures.size(), seen.traceFailures.toString());
            assertTrue(seen.traceFailures.get(0).contains("parent transid verify failed"), seen.traceFailures.toString());
            BtrfsException e = assertThrows(BtrfsException.class, () -> Transactions.commit(t2));
            assertEquals(Errno.EIO, e.errno());
            String dmesg = f.fs.log().dmesg();
            assertTrue(dmesg.contains("at fs/btrfs/qgroup.c:2619 btrfs_qgroup_account_extents"), dmesg);
            assertTrue(dmesg.contains("Transaction aborted"), dmesg);
            assertTrue(f.fs.fsState.test(FsState.TRANS_ABORTED));
        }
    }

    /** Applied: the dead root is -ENOENT for the walk and stays a root; nothing fails, the extent is accounted. */
    @Test
    void appliedTheDeadRootIsARootAndTheCommitSucceeds() {
        try (CleanerFs f = new CleanerFs()) {
            Seen seen = new Seen();
            TransHandle t2 = dropPastTheFirstLeafAfterItsSpaceWasReused(f, seen);
            assertEquals(List.of(), seen.traceFailures);
            Transactions.commit(t2);
            assertFalse(f.fs.fsState.test(FsState.TRANS_ABORTED));
            assertEquals(List.of(List.of(ID), List.of(ID)), seen.oldRootsOfExtent,
                "both commits accounted the extent with the dead subvolume as its old root");
            assertFalse(f.fs.log().dmesg().contains("WARNING"), f.fs.log().dmesg());
        }
    }

    /**
     * The subvolume (two leaves), deleted; quotas on; the drop's first step in one transaction, committed; another
     * tree's blocks until one takes the first leaf's space; the drop's second step. Returns the open transaction.
     */
    private static TransHandle dropPastTheFirstLeafAfterItsSpaceWasReused(CleanerFs f, Seen seen) {
        long[] extent = new long[1];
        Root root = f.deletedSubvolume(ID, (h, r) -> {
            extent[0] = Extents.allocDataExtent(h, ID, INO, 0, 4096);
            Trees.insert(h, r, new Key(INO, ItemType.EXTENT_DATA, 0), new FileExtentItem(extent[0], 4096, 0, 4096, h.transid()).encode());
            for (int k = 1; k <= 15; k++) { // other items of the inode (not file extents the walk decodes): two leaves
                Trees.insert(h, r, new Key(INO, ItemType.EXTENT_DATA, 4096L * k), new byte[1500]);
            }
            ExtentBuffer node = r.node();
            assertEquals(1, node.level());
            assertEquals(2, node.nritems());
            Key second = f.fs.btreeInode.readTreeBlock(node.blockPtr(1)).firstKey();
            // the back part of a split: the same extent, whose start is at file offset 0 (in the first leaf)
            Trees.update(h, r, second, new FileExtentItem(extent[0], 4096, second.offset(), 4096, h.transid()).encode());
            Extents.incDataExtentRef(h, ID, extent[0], 4096);
        });
        seen.extent = extent[0];
        long firstLeaf = root.node().blockPtr(0);
        f.fs.installQgroupHooks(seen);
        f.fs.flags.set(FsFlag.QUOTA_ENABLED);
        root.state.set(RootState.DELETING); // btrfs_drop_snapshot's first step
        DropWalk wc = DropWalk.fromRoot(f.fs, root);
        TransHandle t1 = Transactions.start(f.fs, f.fs.treeRoot(), 0, "btrfs_drop_snapshot");
        wc.walkDownTree(t1);
        assertFalse(wc.walkUpTree(t1), "one step: the first leaf");
        assertEquals(List.of(), seen.traceFailures, "the first leaf's reference: its walk lands on its own item");
        Transactions.commit(t1); // unpins the first leaf
        TransHandle t2 = Transactions.start(f.fs, f.fs.fsRoot(), 1, "test_alloc");
        for (int i = 0; i < 400 && f.fs.btreeInode.readTreeBlock(firstLeaf).generation() != t2.transid(); i++) {
            Trees.insert(t2, f.fs.fsRoot(), new Key(1000 + i, ItemType.INODE_ITEM, 0), new byte[1500]);
        }
        assertEquals(t2.transid(), f.fs.btreeInode.readTreeBlock(firstLeaf).generation(), "the freed leaf's space holds a new block");
        wc.walkDownTree(t2);
        wc.walkUpTree(t2); // the second leaf: the extent's last reference
        return t2;
    }
}
