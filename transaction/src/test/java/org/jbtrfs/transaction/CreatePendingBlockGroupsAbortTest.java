package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.space.BlockGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * btrfs_create_pending_block_groups() (fs/btrfs/block-group.c, v5.11) returns nothing: an insert_block_group_item that
 * fails aborts the transaction, and btrfs_commit_transaction, which calls it before it has dropped its handle from the
 * writers, goes on to find the abort and ends the handle on its cleanup path.
 *
 * <p>Stop 61, port bug, kernel functions read: btrfs_create_pending_block_groups, btrfs_commit_transaction,
 * __btrfs_end_transaction (5.11). The port threw the insert's error out of the commit with the handle still counted as
 * an external writer: the next commit on the thread waited for itself — class 7a02d40c of a 200 s hunt with every fix
 * (seed 61001: a remount rw's btrfs_set_free_space_cache_v1_active commit failed, then the REMOUNT_RW_FAILURE_COMMIT
 * commit hung "wait for external writers" on its own thread; hung task, module reloaded). Forced here with a block group
 * item already at the pending group's key (EEXIST). Fails on the old code: the
 * transaction is not aborted and the commit's handle stays an external writer. Since stop 68 the commit goes to
 * cleanup_transaction at its test after COMMIT_START (an aborted filesystem, no previous transaction left), as 5.11's.
 */
class CreatePendingBlockGroupsAbortTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void aFailedPendingGroupInsertAbortsTheCommitAndEndsItsHandle() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test_pending");
        List<BlockGroup> before = fs.space.blockGroups();
        assertTrue(fs.space.allocMetadataChunk(true, h.newBgs), "a forced metadata chunk: its item is pending");
        List<BlockGroup> added = fs.space.blockGroups().stream().filter(b -> !before.contains(b)).toList();
        assertEquals(1, added.size());
        BlockGroup bg = added.get(0);
        // an item at the pending group's key: its insert by the commit meets it (EEXIST)
        Trees.insert(h, fs.extentRoot(), new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
            new BlockGroupItem(0, 256, bg.type().flag()).encode());
        Transaction cur = h.transaction();
        assertThrows(BtrfsException.class, () -> Transactions.commit(h));
        assertTrue(cur.aborted, "insert_block_group_item's error aborted the transaction");
        // stop 68: the commit's test after COMMIT_START finds BTRFS_FS_STATE_TRANS_ABORTED with no previous transaction
        // and goes to cleanup_transaction before extwriter_counter_dec, as 5.11's does: the transaction is torn down with
        // its count as it was (nothing waits on it any more), rather than the count dropped
        assertEquals(TransState.COMPLETED, cur.state, "cleanup_transaction tore it down");
        synchronized (fs.transLock) {
            assertFalse(fs.transList.contains(cur), "off trans_list");
        }
        assertTrue(t.kernel.log().dmesg().contains("Transaction aborted"), t.kernel.log().dmesg());
        t.closeTail(fs);
    }
}
