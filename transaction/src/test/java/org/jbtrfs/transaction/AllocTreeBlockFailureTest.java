package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Port bugs the {@link Fault#ALLOC_TREE_BLOCK_ENOSPC} site found (stop 69), each test failing on the code before its fix.
 * Kernel functions read (5.11): extent-tree.c {@code btrfs_run_delayed_refs_for_head}, {@code __btrfs_run_delayed_refs},
 * delayed-ref.c {@code unselect_delayed_ref_head}, disk-io.c {@code btrfs_destroy_delayed_refs}; free-space-tree.c
 * {@code btrfs_create_free_space_tree}.
 */
class AllocTreeBlockFailureTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    /**
     * A delayed-ref run that fails part-way (its extent tree insert's COW cannot allocate) leaves the heads it had not
     * run queued in the transaction — the kernel unselects the head it was running and never took the others — so the
     * abort's teardown frees them and gives their reserved bytes back. The port dropped them: slab objects leaked, the
     * block groups' {@code reserved} never back to 0 (btrfs_put_block_group's WARN at umount: 225 of the first 258
     * failing cycles under the fault).
     */
    @Test
    void aFailedDelayedRefRunLeavesItsUnrunHeadsQueued() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 2, "test_heads");
        Extents.allocRootLeaf(h, 300); // two new tree blocks: two heads to insert their extent items
        Extents.allocRootLeaf(h, 301);
        int queued = h.transaction().delayedRefs.size();
        assertTrue(queued >= 2, "heads queued: " + queued);
        t.kernel.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC); // the extent tree's leaf COW of the first insert
        BtrfsException e = assertThrows(BtrfsException.class, () -> ExtentCommit.runDelayedRefs(h));
        assertEquals(Errno.ENOSPC, e.errno());
        assertEquals(queued, h.transaction().delayedRefs.size(), "the failed head and the unrun ones are queued again");
        Transactions.abort(h, "test_heads", e);
        Transactions.end(h);
        Transactions.cleanupTransaction(fs); // close_ctree's btrfs_error_commit_super: btrfs_cleanup_transaction
        t.closeTail(fs);
        assertEquals(java.util.List.of(), t.unload(), "the abort's teardown freed every head");
    }

    /**
     * btrfs_create_free_space_tree's error path aborts ("abort:" label); the port only ended the handle, and the next
     * commit wrote a half-made tree (the explorer's fsck classes on tree 10, a later creation's -EEXIST on its root item).
     */
    @Test
    void aFailedFreeSpaceTreeCreationAbortsTheTransaction() {
        FsInfo fs = t.open();
        t.kernel.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC); // btrfs_create_tree's root leaf
        BtrfsException e = assertThrows(BtrfsException.class, () -> FreeSpaceTree.createFreeSpaceTree(fs));
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(fs.fsState.test(FsState.TRANS_ABORTED), "btrfs_abort_transaction");
        assertTrue(fs.fsState.test(FsState.ERROR), "every abort takes the transaction (ABORT_UNUSED_TRANS_HANDLE applied)");
        assertFalse(fs.flags.test(FsFlag.CREATING_FREE_SPACE_TREE));
        t.closeTail(fs);
    }
}
