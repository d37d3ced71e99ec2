package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug found by the explorer in stop 26 — class {@code leak:btrfs_finish_ordered_io@kworker,lifecycle} (symptom
 * {@code RO_LEAK}), every fix applied, {@code --filesystems 4 --faults all --swarm 1}, seed 63063, replay
 * {@code 63063:6167:3}, 149 s into the run (2 of 57,890 cycles): an ordered extent's btrfs_finish_ordered_io joined a
 * transaction on the read-only filesystem after its RO remount had committed. The file lane had written a file and
 * run {@code sync FILE} (O_RDONLY fsync) just as the lifecycle lane remounted read-only.
 *
 * <p>Decision: <b>port bug</b>, fixed. Read (v5.11): fs/btrfs/extent_io.c extent_write_cache_pages — each page is
 * locked (lock_page even for WB_SYNC_NONE after a failed trylock) and its dirty bit cleared under the lock
 * (clear_page_dirty_for_io); __extent_writepage → writepage_delalloc → run_delalloc_range → cow_file_range
 * (btrfs_reserve_extent, which may sleep; btrfs_add_ordered_extent) all run with the page locked; only then
 * set_page_writeback (mm/page-writeback.c __test_set_page_writeback clears the page's DIRTY tag there and puts the
 * inode on sb->s_inodes_wb) and unlock. fs/fs-writeback.c sync_inodes_sb → write_cache_pages over the pages still
 * tagged dirty waits on that page lock, then (WB_SYNC_ALL) on the page's writeback; wait_sb_inodes waits for every
 * page under writeback; fs/btrfs/super.c btrfs_sync_fs then waits for every ordered extent
 * (btrfs_wait_ordered_roots) before it commits. So a sync — an RO remount's sync_filesystem — that meets an fsync's
 * writeback between clearing the dirty bits and adding the ordered extent waits for it, and the remount's commit
 * includes the ordered extent's completion. The port took the dirty ranges and put the inode on its s_inodes_wb
 * only later, outside the inode's lock, after the extent reservation: a sync there found neither dirty ranges nor
 * writeback, btrfs_wait_ordered_roots found no ordered extent, and the remount committed; the ordered extent came
 * after. The inode now joins s_inodes_wb in the same step as its ranges leave the dirty set (as the kernel's pages
 * stay locked and tagged until their writeback is set).
 *
 * <ol>
 *   <li>a file is written and opened O_RDONLY; its fsync's writeback takes the dirty ranges and is held before the
 *       ordered extent is added ({@link Hook#DATA_WRITEBACK_BEFORE_ORDERED_EXTENT});</li>
 *   <li>mount -o remount,ro: not refused (fsync takes no write access); its sync_filesystem waits for the pages
 *       under writeback (before the fix: found none, and the remount ran to its end);</li>
 *   <li>the fsync goes on: the ordered extent is added, its bio written, its completion joins a transaction — the
 *       remount's, which commits it before SB_RDONLY's last commit. Nothing is open or committed on the read-only
 *       filesystem.</li>
 * </ol>
 */
class SyncWaitsForWritebackTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountsSyncWaitsForAnFsyncsWritebackBeforeItsOrderedExtentExists(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            // 1.
            TestThread<Void> fsync = r.fsyncOfAChangedFileParkedAt(fs, new byte[] {1, 2, 3}, Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            // 2. the remount's sync_inodes_sb waits for the pages the fsync holds (before the fix it ran to its end)
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"))
                .describedBy(r::sleepingOn).awaitBlockedOn("filemap_fdatawait");
            assertFalse(fs.inspect().sbRdonly(), "the remount waits in its sync_filesystem, before setting RO");
            r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT); // 3.
            fsync.join();
            remount.join();
            Inspection in = fs.inspect();
            assertTrue(in.sbRdonly());
            assertEquals(List.of(), in.openTransactions(), "nothing open on the read-only filesystem");
            assertEquals(List.of(), in.committedReadOnly(), "nothing committed on the read-only filesystem");
            fs.umount();
            Btrfs again = r.mod.mount(r.dev, "ro");
            assertArrayEquals(new byte[] {1, 2, 3}, again.readFile("f"), "the remount's commit has the data");
            again.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
