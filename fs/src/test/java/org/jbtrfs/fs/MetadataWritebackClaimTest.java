package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.WbSyncMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A commit must not write its superblock over a tree block another writer has claimed and not yet written. A port bug
 * found by the commit probe in stop 40 (seeds 40010 and 40011: a committed tree root or quota root whose block on disk
 * was an older life of its address, and a moment later the right one), and behind the open {@code fsck:EXTENT_REFS}
 * class's earlier events. The kernel's lock_extent_buffer_for_io clears EXTENT_BUFFER_DIRTY and sets
 * EXTENT_BUFFER_WRITEBACK in one step under the buffer's lock, and the commit's btrfs_write_marked_extents /
 * btrfs_wait_marked_extents (WB_SYNC_ALL: lock_extent_buffer_for_io waits on a buffer under writeback) find any
 * buffer of their range either dirty — they write it — or under writeback — they wait for it. The port's
 * lockForIo took the block off the dirty set first and counted its writeback after: a commit reading the dirty set
 * without the lock between the two saw neither, skipped the block, did not wait, and wrote the superblock while the
 * other writer's copy was still on its way (with a slow crc32c, queued on fs_info->workers). Decision: port bug; the
 * writeback is now counted first. Read: lock_extent_buffer_for_io, btree_write_cache_pages, btrfs_write_marked_extents,
 * btrfs_wait_marked_extents (v5.11 extent_io.c, transaction.c).
 */
class MetadataWritebackClaimTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aCommitWaitsForATreeBlockAnotherWriterClaimed(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.sync();
            fs.createFile("b"); // the fs tree's leaf, COWed and dirty in the running transaction
            FsInfo fi = fs.fsInfo();
            // its delayed items written now, so the commit below has nothing to change in the fs tree: the only thing it
            // can wait for there is the claimed block
            TransHandle flush = Transactions.join(fi, fi.fsRoot(), "test_run_delayed_items");
            fi.delayedInodes.runDelayedItems(flush);
            Transactions.end(flush);
            assertTrue(fi.btreeInode.dirtyCount() > 0);

            // another writer of the btree inode (a sync's sync_inodes_sb) claims the first dirty block and stops there
            r.mod.hooks().parkAt(Hook.BTREE_WRITEBACK_CLAIMED);
            TestThread<Void> writer = TestThread.run("writeback", () -> fi.btreeInode.writepages(WbSyncMode.ALL));
            r.mod.hooks().awaitParked(Hook.BTREE_WRITEBACK_CLAIMED, Repro.WAIT);
            long generation = fs.inspect().generation();

            TestThread<Void> commit = TestThread.run("commit", () -> {
                TransHandle h = Transactions.join(fi, fi.treeRoot(), "test_commit");
                Transactions.commit(h);
            });
            // the commit reaches the claimed block and waits for it (for the writer's lock, then its writeback)
            Waits.within(Repro.WAIT).until(() -> commit.done() || fi.fsRoot().treeLock.hasQueuedThread(commit.thread()));
            assertFalse(commit.done(), "the commit wrote its superblock while a block of its transaction was claimed and unwritten");

            r.mod.hooks().release(Hook.BTREE_WRITEBACK_CLAIMED);
            writer.join();
            commit.join();
            assertEquals(generation + 1, fs.inspect().generation());
            assertEquals(List.of(), Check.check(r.dev).problems(), "the committed image");
            fs.umount();
        }
    }
}
