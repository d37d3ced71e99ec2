package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The umount side of {@link DelallocWorkersRoRemountTest}: a compressed write's async chunk outlives the umount's
 * sync_filesystem and runs on into close_ctree.
 *
 * <p>Decision: <b>kernel bug, fixed upstream later</b> — "btrfs: flush delalloc workers queue before stopping cleaner
 * kthread during unmount" (Filipe Manana, v6.13, reported by syzbot as a use-after-free of the cleaner's task_struct
 * from submit_compressed_extents' delayed iput); the port's {@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT}, reverted in the
 * 5.11 and 5.12 profiles. Found by the explorer with the port's compressed writeback before the fix was read. Read:
 * fs/btrfs/disk-io.c close_ctree (5.11: nothing flushes delalloc_workers before btrfs_commit_super and kthread_stop;
 * btrfs_stop_all_workers drains it last), and the mainline close_ctree with the fix and cda76788f8b0 (fs_info->workers
 * flushed after it); fs/btrfs/inode.c cow_file_range_async / async_cow_submit / async_cow_free as in the RO remount's
 * test.
 *
 * <ol>
 *   <li>mount -o compress; a file gets one page of data and is closed;</li>
 *   <li>umount: sync_filesystem queues the page's async chunk and returns; the chunk is held before it compresses
 *       ({@link Hook#ASYNC_COW_BEFORE_COMPRESS});</li>
 *   <li>close_ctree. Applied: after parking the cleaner it flushes the delalloc workqueue and waits for the chunk,
 *       whose ordered extent then completes before btrfs_commit_super. Reverted: it commits, stops the kthreads and
 *       waits for the chunk only in btrfs_stop_all_workers;</li>
 *   <li>reverted: the chunk goes on — its ordered extent's completion joins a transaction after the last commit:
 *       patch 4/5's assertion.</li>
 * </ol>
 */
class DelallocFlushAtUmountTest {

    @ParameterizedTest(name = "upstream fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aCompressedWritesChunkStillRunningAtCloseCtree(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.DELALLOC_FLUSH_AT_UMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage(); // 1.
            r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, Role.WORKER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT); // 2.
            // 3. where close_ctree waits for the held chunk
            Waits.within().until(() -> applied
                ? Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "flush") && Blocked.onStack(umount.thread(), "CloseCtree", "closeCtree")
                : Blocked.onStack(umount.thread(), "FsWorkqueues", "stopAll"));
            r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
            if (applied) {
                umount.join();
                UnloadReport rep = r.mod.unload();
                assertTrue(rep.clean(), rep.toString());
                assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            } else {
                // 4.
                Throwable t = umount.failure();
                assertInstanceOf(KernelBug.class, t);
                assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"), r.mod.log().dmesg());
            }
        }
    }

    /**
     * Then the chunk's data bio: close_ctree's delalloc flush waits for the chunk, whose submit step hands the bio to
     * fs_info->workers for its checksum ({@link Hook#DATA_BIO_BEFORE_CSUM}, held here) and returns.
     *
     * <p>Decision: <b>kernel bug, fixed upstream later</b> — cda76788f8b0 "btrfs: fix non-empty delayed iputs list on
     * unmount due to async workers" (v6.15; the 6.12 stable tree): close_ctree flushes fs_info->workers after the
     * delalloc workqueue ({@link FixSwitch#WORKERS_FLUSH_AT_UMOUNT}). Upstream's reason is a failed bio, whose
     * run_one_async_done drops the ordered extent's last reference; in the port every data bio completes there (its
     * device write returns inside run_one_async_done), so without the flush the ordered extent's completion is queued
     * after the endio-write flush and joins a transaction after btrfs_commit_super. Found by the explorer with
     * {@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT} applied (seed 28001, 60 s, all other fixes applied), then read.
     * Applied: the flush of fs_info->workers waits for the held bio; reverted: close_ctree commits and stops the
     * kthreads first, and the bio's completion joins a transaction nothing commits — patch 4/5's assertion.
     */
    @ParameterizedTest(name = "upstream fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aCompressedWritesBioStillOnTheWorkersQueueAtCloseCtree(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.WORKERS_FLUSH_AT_UMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage();
            r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, Role.WORKER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT);
            // close_ctree's delalloc flush waits for the held chunk (sync_filesystem is over)
            Waits.within().until(() -> Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "flush")
                && Blocked.onStack(umount.thread(), "CloseCtree", "closeCtree"));
            r.mod.hooks().parkAt(Hook.DATA_BIO_BEFORE_CSUM, Role.WORKER);
            r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
            r.mod.hooks().awaitParked(Hook.DATA_BIO_BEFORE_CSUM, Repro.WAIT);
            // the chunk is done (its submit step queued the bio); close_ctree waits for the bio where the fix flushes
            // fs_info->workers, or in btrfs_stop_all_workers past the last commit
            Waits.within().until(() -> applied
                ? fs.fsInfo().workqueues().delallocWorkers.inFlight() == 0
                    && Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "flush") && Blocked.onStack(umount.thread(), "CloseCtree", "closeCtree")
                : Blocked.onStack(umount.thread(), "FsWorkqueues", "stopAll"));
            r.mod.hooks().release(Hook.DATA_BIO_BEFORE_CSUM);
            if (applied) {
                umount.join();
                UnloadReport rep = r.mod.unload();
                assertTrue(rep.clean(), rep.toString());
                assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            } else {
                assertInstanceOf(KernelBug.class, umount.failure());
                assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"), r.mod.log().dmesg());
            }
        }
    }
}
