package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.Test;

/**
 * btrfs_delete_unused_bgs() (5.11) at the cleaner module's level: each group is unlinked from unused_bgs
 * first, and only then checked (still unused, not read-only, not the last of its type) under
 * delete_unused_bgs_mutex and removed in a transaction that is ended, not committed. Between the unlink and
 * the check no other caller — a remount RO's or close_ctree's own call — can see the group any more: the
 * third window of patch 3/5. The unlink is forced to stand still with a hook.
 */
class UnusedBlockGroupsTest {

    @Test
    void aGroupIsUnlinkedBeforeItsChecksSoAConcurrentCallerFindsNothing() throws Exception {
        try (CleanerFs f = new CleanerFs().open()) {
            // an earlier call took mkfs's empty data group off the list (the last group of its type stays)
            f.c.unusedBlockGroups().deleteUnusedBgs();
            assertEquals(0, f.fs.space.unusedCount());
            BlockGroup bg = f.unusedDataGroup();
            assertEquals(1, f.fs.space.unusedCount());
            // the cleaner's call stands at its first group: unlinked, nothing checked or locked yet
            f.hooks().parkAt(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
            TestThread<Void> cleaner = TestThread.run("btrfs-cleaner", () -> f.c.unusedBlockGroups().deleteUnusedBgs());
            f.hooks().awaitParked(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, Duration.ofSeconds(10));
            assertEquals(0, f.fs.space.unusedCount(), "unlinked before any check");
            assertFalse(f.fs.deleteUnusedBgsMutex.isLocked(), "not under delete_unused_bgs_mutex yet");
            assertFalse(f.fs.space.isReadOnly(bg));

            // remount RO's own btrfs_delete_unused_bgs meanwhile: the list is empty, the group the cleaner holds
            // it never sees
            f.c.unusedBlockGroups().deleteUnusedBgs();
            assertEquals(2, f.fs.space.blockGroupCount(BlockGroupType.DATA), "the cleaner's group is not removed by the other caller");
            assertTrue(f.fs.space.blockGroups().contains(bg));
            assertFalse(f.fs.space.isReadOnly(bg), "and not even checked");
            assertEquals(List.of(), f.fs.transList());

            f.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
            cleaner.join();
            assertEquals(1, f.fs.space.blockGroupCount(BlockGroupType.DATA), "the cleaner removed it");
            assertFalse(f.fs.space.blockGroups().contains(bg));
            assertEquals(List.of("btrfs_start_trans_remove_block_group"), f.openTransactionFunctions(), "ended, not committed");
        }
    }

    /**
     * A remove-block-group transaction that cannot start ends the call, not the cleaner. Port bug found by the
     * explorer's error paths ({@code --faults all}, seed 31031: classes {@code oops:Oops: unexpected exception in
     * kthread btrfs-cleaner: ... ENOSPC ... (injected) at transaction.Transactions.begin} and {@code error:umount:
     * BtrfsException(ENOSPC)} out of close_ctree's call): the port threw start_transaction's error out of
     * btrfs_delete_unused_bgs, killing the cleaner (the next umount then parked a dead kthread) or stopping an
     * umount halfway. Decision: port bug. Kernel functions read (v5.11 block-group.c): btrfs_delete_unused_bgs —
     * IS_ERR(trans): btrfs_dec_block_group_ro, ret = PTR_ERR(trans), goto next; every later group is taken off the
     * list and put ({@code if (ret || btrfs_mixed_space_info(...))}); the function returns void; btrfs_remove_chunk
     * aborts the transaction on its own errors.
     */
    @Test
    void aTransactionThatCannotStartLeavesTheGroupWritableAndStopsTheRemovals() {
        try (CleanerFs f = new CleanerFs().open()) {
            f.c.unusedBlockGroups().deleteUnusedBgs(); // mkfs's empty data group is the last of its type: off the list
            BlockGroup bg = f.unusedDataGroup();
            f.t.kernel.faults().armOnce(org.jbtrfs.core.Fault.START_TRANSACTION_ENOSPC);
            f.c.unusedBlockGroups().deleteUnusedBgs(); // returns: the error is the function's own
            assertEquals(1, f.t.kernel.faults().fired(org.jbtrfs.core.Fault.START_TRANSACTION_ENOSPC));
            assertTrue(f.fs.space.blockGroups().contains(bg), "not removed");
            assertFalse(f.fs.space.isReadOnly(bg), "btrfs_dec_block_group_ro: writable again");
            assertEquals(0, f.fs.space.unusedCount(), "taken off the list, as the kernel's loop does");
            assertEquals(List.of(), f.fs.transList());
        }
    }

    @Test
    void nothingBeforeTheFilesystemIsOpen() {
        try (CleanerFs f = new CleanerFs()) {
            f.unusedDataGroup();
            int listed = f.fs.space.unusedCount();
            f.c.unusedBlockGroups().deleteUnusedBgs();
            assertEquals(listed, f.fs.space.unusedCount(), "not even unlinked");
            assertEquals(2, f.fs.space.blockGroupCount(BlockGroupType.DATA));
        }
    }
}
