package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The btree inode's writeback outside a commit (sync_inodes_sb's WB_SYNC_ALL, btree_writepages): a block
 * written there gets BTRFS_HEADER_FLAG_WRITTEN, so a change in the same transaction COWs it again
 * (should_cow_block) and the written block, freed in its own transaction, is pinned until the commit
 * (btrfs_free_tree_block) rather than reused while its write may be in flight. Through
 * btrfs_wq_submit_bio, high priority, only when the crc32c driver is not fast; WB_SYNC_NONE does nothing
 * below BTRFS_DIRTY_METADATA_THRESH.
 */
class BtreeWritebackTest {
    private TestFs t;

    @AfterEach
    void unload() {
        if (t != null) {
            t.close();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aBlockWrittenByWritebackIsCowedAgainAndPinnedUntilTheCommit(Crc32cImpl crc) {
        t = new TestFs(crc);
        FsInfo fs = t.open();
        t.kernel.hooks().arm(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, HookAction.count(), -1);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_insert");
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        Transactions.end(h);
        ExtentBuffer leaf = fs.fsRoot().node();
        assertEquals(h.transid(), leaf.generation(), "COWed in the running transaction");
        assertTrue(fs.btreeInode.dirtyCount() > 0);

        // WB_SYNC_NONE below the threshold: btree_writepages writes nothing
        fs.btreeInode.writepages(WbSyncMode.NONE);
        assertEquals(new BtreeInode.WriteStats(0, 0, 0), fs.btreeInode.writeStats());
        // sync_inodes_sb: WB_SYNC_ALL
        fs.btreeInode.writepages(WbSyncMode.ALL);
        fs.btreeInode.waitWriteback();
        assertEquals(0, fs.btreeInode.dirtyCount());
        assertTrue(leaf.isWritten());
        BtreeInode.WriteStats st = fs.btreeInode.writeStats();
        if (crc == Crc32cImpl.GENERIC) {
            assertTrue(st.asyncHigh() > 0 && st.async() == 0 && st.sync() == 0, st.toString());
            assertEquals(st.asyncHigh(), t.kernel.hooks().arrivals(Hook.ASYNC_SUBMIT_BEFORE_QUEUE));
        } else {
            assertTrue(st.sync() > 0 && st.async() == 0 && st.asyncHigh() == 0, st.toString());
            assertEquals(0, t.kernel.hooks().arrivals(Hook.ASYNC_SUBMIT_BEFORE_QUEUE));
        }

        TransHandle h2 = Transactions.start(fs, fs.fsRoot(), 1, "test_insert");
        assertEquals(h.transid(), h2.transid(), "same transaction");
        Trees.insert(h2, fs.fsRoot(), key(2), data(2, "b"));
        Transactions.end(h2);
        assertNotEquals(leaf.bytenr(), fs.fsRoot().node().bytenr(), "should_cow_block: WRITTEN, so COWed again");

        TransHandle c = Transactions.join(fs, fs.fsRoot(), "test_commit");
        ExtentCommit.runDelayedRefs(c);
        synchronized (c.transaction()) {
            assertTrue(c.transaction().pinned.containsKey(leaf.bytenr()),
                "the written block freed in its own transaction is pinned, not free");
        }
        Transactions.commit(c);
        assertEquals(0, fs.space.counters(BlockGroupType.METADATA).pinned(), "unpinned when the commit ends");
        t.closeClean(fs);

        FsInfo again = t.open();
        assertArrayEquals(data(1, "a"), Trees.lookup(again, again.fsRoot(), key(1)));
        assertArrayEquals(data(2, "b"), Trees.lookup(again, again.fsRoot(), key(2)));
        TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        t.closeClean(again);
        assertEquals(List.of(), t.unload(), "nothing leaked");
    }

    /**
     * The commit waits for a block that writeback started and has not finished (btrfs_wait_marked_extents):
     * the async write parked before it is queued, the commit cannot write the superblock.
     */
    @org.junit.jupiter.api.Test
    void theCommitWaitsForABlockUnderWriteback() throws Exception {
        t = new TestFs(Crc32cImpl.GENERIC);
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_insert");
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        Transactions.end(h);
        long gen = t.onDiskGeneration();
        t.kernel.hooks().parkAt(Hook.ASYNC_SUBMIT_BEFORE_QUEUE);
        TestThread<Void> wb = TestThread.run("writeback", () -> fs.btreeInode.writepages(WbSyncMode.ALL));
        t.kernel.hooks().awaitParked(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, Waits.BOUND);
        assertTrue(fs.btreeInode.writebackCount() > 0);
        TestThread<Void> commit = TestThread.run("commit", () -> Transactions.commit(Transactions.join(fs, fs.fsRoot(), "test_commit")));
        Waits.within().until(() -> fs.transList().isEmpty() || fs.transList().get(0).state() == TransState.UNBLOCKED);
        assertEquals(gen, t.onDiskGeneration(), "no superblock while a block of the transaction is under writeback");
        t.kernel.hooks().disarm(Hook.ASYNC_SUBMIT_BEFORE_QUEUE);
        commit.join();
        wb.join();
        assertTrue(t.onDiskGeneration() > gen);
        t.closeClean(fs);
        FsInfo again = t.open();
        assertArrayEquals(data(1, "a"), Trees.lookup(again, again.fsRoot(), key(1)));
        t.closeClean(again);
        assertEquals(List.of(), t.unload());
    }
}
