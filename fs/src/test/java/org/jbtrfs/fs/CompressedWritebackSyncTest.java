package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug found in stop 28, with the port's first compressed writeback: the explorer's classes
 * {@code leak:btrfs_finish_ordered_io@kworker,lifecycle} (also {@code @driver,kworker}, {@code @dev2,kworker}) — a
 * compressed write's ordered extent completing after an RO remount's (or an umount's) last commit, in hundreds of
 * cycles a minute (seed 7, four filesystems). The first reading took it for a kernel bug (a one-page range's async
 * chunk outliving sync_filesystem) and gave it a proposed fix; a second reading withdrew it before the stop ended.
 *
 * <p>Decision: <b>port bug</b>, fixed. Read (v5.11): mm/page-writeback.c clear_page_dirty_for_io clears PG_dirty only —
 * the mapping's PAGECACHE_TAG_DIRTY stays until __test_set_page_writeback; fs/btrfs/extent_io.c
 * extent_write_cache_pages (the page locked, then writepage_delalloc → btrfs_run_delalloc_range →
 * cow_file_range_async: the chunk keeps the page locked until submit_compressed_extents'
 * extent_clear_unlock_delalloc puts it under writeback); fs/fs-writeback.c __writeback_single_inode (I_DIRTY_PAGES set
 * again while the mapping is tagged dirty) and sync_inodes_sb → write_cache_pages (WB_SYNC_ALL: tag_pages_for_writeback
 * finds the page, lock_page waits for the chunk, then wait_on_page_writeback); fs/btrfs/super.c btrfs_sync_fs
 * (btrfs_wait_ordered_roots, then the commit). So the remount's sync_filesystem waits for the chunk's pages and its
 * ordered extent, as it waits for an uncompressed range's (SyncWaitsForWritebackTest). The port took the chunk's
 * ranges off the dirty set without putting the inode on its s_inodes_wb; now the inode joins it as the ranges are
 * taken and the sync waits for locked pages as well as for pages under writeback. What a sync does not wait for is
 * the chunk's last step (async_cow_free's delayed iput): DelallocFlushAtUmountTest.
 */
class CompressedWritebackSyncTest {

    /**
     * <ol>
     *   <li>mount -o compress; a file gets one page of data and is closed;</li>
     *   <li>mount -o remount,ro: its sync_filesystem queues the page's async chunk, held before it compresses
     *       ({@link Hook#ASYNC_COW_BEFORE_COMPRESS});</li>
     *   <li>the remount waits in its sync for the chunk's page (before the fix: it ran to its end, and the chunk's
     *       ordered extent joined a transaction on the read-only filesystem);</li>
     *   <li>the chunk goes on; the remount commits its ordered extent before setting RO.</li>
     * </ol>
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountsSyncWaitsForTheChunkItQueued(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage(); // 1.
            r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, Role.WORKER);
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"));
            r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT); // 2.
            Waits.within().until(() -> Blocked.onStack(remount.thread(), "InodeData", "waitLockedAndWriteback")); // 3.
            assertFalse(fs.inspect().sbRdonly(), "the remount waits in its sync_filesystem, before setting RO");
            r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS); // 4.
            remount.join();
            assertNothingLeftOnTheReadOnlyFilesystem(r, fs);
        }
    }

    /**
     * The same wait for a chunk the remount did not queue: an fsync of a file open O_RDONLY (no write access, so
     * the remount is not refused) took the page and is held before queueing its chunk
     * ({@link Hook#DATA_WRITEBACK_BEFORE_ORDERED_EXTENT}); the remount's sync waits on the page, then for the chunk.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountsSyncWaitsForAnFsyncsChunk(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage();
            FileHandle fh = fs.open("f", OpenMode.READ_ONLY);
            r.mod.hooks().parkAt(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            TestThread<Void> fsync = TestThread.run("fsync", fh::fsync);
            r.mod.hooks().awaitParked(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT, Repro.WAIT);
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"));
            Waits.within().until(() -> Blocked.onStack(remount.thread(), "InodeData", "waitLockedAndWriteback"));
            assertFalse(fs.inspect().sbRdonly(), "the remount waits in its sync_filesystem, before setting RO");
            r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            remount.join();
            fsync.join();
            fh.close();
            assertNothingLeftOnTheReadOnlyFilesystem(r, fs);
        }
    }

    private static void assertNothingLeftOnTheReadOnlyFilesystem(Repro r, Btrfs fs) {
        Inspection in = fs.inspect();
        assertTrue(in.sbRdonly());
        assertTrue(in.openTransactions().isEmpty(), "the chunk's ordered extent was committed before RO");
        assertEquals(List.of(), in.committedReadOnly());
        fs.umount();
        UnloadReport rep = r.mod.unload();
        assertTrue(rep.clean(), rep.toString());
        assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
    }
}
