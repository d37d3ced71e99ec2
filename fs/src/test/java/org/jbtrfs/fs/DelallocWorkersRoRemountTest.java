package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kernel bug found while porting compressed writeback (stop 28): a compressed write's async chunk leaks a transaction
 * through an RO remount — the leak of patches 1–3/5 through the delalloc workqueue.
 *
 * <p>Decision: <b>kernel bug</b>, kept bug-for-bug; proposed fix {@link FixSwitch#DELALLOC_WORKERS_RO_REMOUNT}. Read
 * (v5.11, and mainline where it differs): fs/btrfs/inode.c btrfs_run_delalloc_range (with -o compress:
 * cow_file_range_async), cow_file_range_async (512 KiB chunks, each ihold and queued on fs_info->delalloc_workers,
 * async_delalloc_pages counted), async_cow_start / compress_file_range (get_workspace may sleep),
 * async_cow_submit / submit_compressed_extents / submit_uncompressed_range (the ordered extent is added, the pages go
 * under writeback, the bio is submitted — only here), async_cow_free (btrfs_add_delayed_iput); fs/btrfs/extent_io.c
 * extent_write_cache_pages (after the async writepage the loop locks the range's next page, which waits for the
 * chunk — so only a one-page range returns at once) and btrfs_fdatawrite_range in file.c (fsync writes twice when
 * the inode has async extents: the kernel knows one pass does not wait); fs/fs-writeback.c sync_inodes_sb /
 * wait_sb_inodes (waits for pages under writeback only) and fs/sync.c sync_filesystem; fs/btrfs/super.c
 * btrfs_sync_fs (btrfs_wait_ordered_roots: no ordered extent yet), btrfs_remount (5.11) and btrfs_remount_ro
 * (mainline): nothing waits for the delalloc workqueue; fs/btrfs/disk-io.c close_ctree — flushes it since v6.13
 * ("btrfs: flush delalloc workers queue before stopping cleaner kthread during unmount", the use-after-free syzbot
 * found: {@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT}), and commits nothing on a read-only filesystem: patch 4/5's
 * assertion.
 *
 * <ol>
 *   <li>mount -o compress; a file gets one page of data and is closed;</li>
 *   <li>mount -o remount,ro: sync_filesystem's writeback queues the page's async chunk and returns (one page: no
 *       page lock to wait on); the chunk is held before it compresses ({@link Hook#ASYNC_COW_BEFORE_COMPRESS});</li>
 *   <li>the remount goes on: sync_inodes_sb sees no page under writeback, btrfs_sync_fs no ordered extent; it
 *       commits, sets RO, btrfs_commit_super. Applied: before that commit it flushes the delalloc workqueue and waits
 *       for the ordered extents;</li>
 *   <li>the chunk goes on: its ordered extent completes. Reverted: btrfs_finish_ordered_io joins a transaction on
 *       the read-only filesystem; the umount commits nothing and trips patch 4/5's assertion. Applied: its join was
 *       committed by the remount.</li>
 * </ol>
 */
class DelallocWorkersRoRemountTest {

    @ParameterizedTest(name = "proposed fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aCompressedWritesChunkCompletingAfterAnRoRemountsCommit(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.DELALLOC_WORKERS_RO_REMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage(); // 1.
            r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, Role.WORKER);
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"));
            r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT); // 2.
            long generation;
            if (applied) {
                // 3. the remount waits in its flush for the held chunk
                Waits.within().until(() -> Blocked.onStack(remount.thread(), "BtrfsWorkqueue", "flush"));
                assertTrue(fs.inspect().sbRdonly(), "RO is set before the flush");
                r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS); // 4.
                remount.join();
                assertTrue(fs.inspect().openTransactions().isEmpty(), "the chunk's completion was committed by the remount");
                assertEquals(List.of(), fs.inspect().committedReadOnly());
                generation = fs.inspect().generation();
            } else {
                remount.join(); // 3. nothing waits for the chunk
                generation = fs.inspect().generation();
                r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS); // 4.
                fs.fsInfo().workqueues().delallocWorkers.flush();
                Waits.within().until(() -> fs.inspect().openTransactions().size() == 1);
                Inspection in = fs.inspect();
                assertTrue(in.sbRdonly());
                assertEquals(List.of("btrfs_finish_ordered_io"), in.openTransactions().get(0).functions());
            }
            assertEquals(generation, fs.inspect().generation(), "nothing more committed on the read-only filesystem");
            r.umountCleanOrTransListAssertion(fs, applied);
        }
    }

    /**
     * The same leak through writeback the remount did not start: an fsync of a file open O_RDONLY (no write access,
     * so neither the VFS nor btrfs_remount waits for it) has locked its one page and not yet queued the chunk
     * ({@link Hook#DATA_WRITEBACK_BEFORE_ORDERED_EXTENT}: cow_file_range_async's GFP_NOFS allocation may sleep in
     * reclaim) when the remount's sync_filesystem runs — which writes nothing for the page (not dirty any more) and
     * waits for nothing (not under writeback). A flush of the delalloc workqueue alone would not see the chunk; the
     * proposed fix also counts writeback in progress (btrfs_writepages) and the remount waits for it after setting RO.
     * Suspected from the explorer's one failing cycle with the first version of the fix (the flush alone) applied —
     * {@code leak:btrfs_finish_ordered_io@kworker,lifecycle}, seed 82082, {@code --faults all --filesystems 4}, 1 of
     * 29,685 cycles, not re-hit by its replay — then read: btrfs_sync_file's start_ordered_ops →
     * btrfs_fdatawrite_range → extent_write_cache_pages (the page locked, its dirty bit cleared, then
     * writepage_delalloc → cow_file_range_async) against sync_filesystem as above. Reverted: the chunk's completion
     * joins a transaction on the read-only filesystem; applied: the remount waits for the fsync's writeback, then for
     * the chunk and its ordered extent.
     */
    @ParameterizedTest(name = "proposed fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void anFsyncsChunkQueuedAfterAnRoRemountsFlush(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.DELALLOC_WORKERS_RO_REMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage();
            FileHandle fh = fs.open("f", OpenMode.READ_ONLY);
            r.mod.hooks().parkAt(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            TestThread<Void> fsync = TestThread.run("fsync", fh::fsync);
            r.mod.hooks().awaitParked(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT, Repro.WAIT);
            long generation;
            if (applied) {
                TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"));
                Waits.within().until(() -> Blocked.onStack(remount.thread(), "AtomicVar", "waitForZero"));
                assertTrue(fs.inspect().sbRdonly(), "RO is set before the wait");
                r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
                remount.join();
                fsync.join();
                assertTrue(fs.inspect().openTransactions().isEmpty(), "the chunk's completion was committed by the remount");
                assertEquals(List.of(), fs.inspect().committedReadOnly());
                generation = fs.inspect().generation();
            } else {
                fs.remount("ro"); // nothing waits for the fsync's writeback
                generation = fs.inspect().generation();
                r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
                fsync.join(); // it waits for its ordered extent; FSYNC_RO_REMOUNT_RACE's fix then sees RO
                Inspection in = fs.inspect();
                assertEquals(1, in.openTransactions().size(), "a transaction on the read-only filesystem");
                assertEquals(List.of("btrfs_finish_ordered_io"), in.openTransactions().get(0).functions());
            }
            assertEquals(generation, fs.inspect().generation(), "nothing more committed on the read-only filesystem");
            fh.close();
            r.umountCleanOrTransListAssertion(fs, applied);
        }
    }
}
