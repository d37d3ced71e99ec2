package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An aborted filesystem's umount and the data writeback its error cleanup does not see (stop 34). Found by the explorer
 * with every fix applied ({@code --faults all --swarm 0.5 --filesystems 4}, slabDebug, seed 34034, 1,200 s: one cycle of
 * 173,372, {@code assert:list_empty(&fs_info->delayed_iputs)@driver}, "delayed iputs still queued: inodes [470]", a
 * btrfs_inode left at rmmod; a sync lane's commit had failed with the injected EIO 40 µs before the umount, in a
 * compress cycle whose file lane had just closed an unlinked file with its writeback in flight; replay re-hit 0/10).
 *
 * <p><b>Two decisions.</b> Kernel functions read (v5.11, and the stable 6.14 backport of cda76788f8b0):
 * generic_shutdown_super and sync_filesystem (nothing on an SB_RDONLY superblock), close_ctree, btrfs_error_commit_super,
 * btrfs_cleanup_transaction (btrfs_destroy_all_ordered_extents, then btrfs_destroy_delayed_inodes, then
 * btrfs_destroy_all_delalloc_inodes → btrfs_destroy_delalloc_inodes: igrab, invalidate_inode_pages2 — lock_page and
 * wait_on_page_writeback on every page — iput), cow_file_range and cow_file_range_async (EXTENT_DELALLOC is cleared by
 * extent_clear_unlock_delalloc after btrfs_add_ordered_extent; an async chunk's range keeps it until its submit step),
 * btrfs_wq_submit_bio / run_one_async_done, btrfs_finish_ordered_io and btrfs_put_ordered_extent.
 * <ol>
 *   <li><b>Port bug, fixed</b> ({@link #theErrorCleanupWaitsForAnAsyncChunksLockedPages}): the port's
 *       btrfs_cleanup_transaction had no btrfs_destroy_all_delalloc_inodes. The found cycle's inode had a compressed
 *       write's async chunk still to run — in the kernel still on the delalloc list, its pages locked, so the error
 *       cleanup waits for the chunk and for its pages' writeback; the port's went on, and the chunk's bio outlived
 *       close_ctree's flushes. Now {@link DelallocInodes}.</li>
 *   <li><b>Kernel bug, fixed upstream later</b> ({@link #revertedABioOnTheWorkersQueueOutlivesTheFlushes},
 *       {@link #appliedTheWorkersFlushWaitsForTheBio}): the window that remains is the kernel's too — writeback that
 *       adds its ordered extent, and so leaves the delalloc list, between the cleanup's wait for the ordered extents and
 *       its splice of the delalloc lists is waited for by neither, and its bio's work on fs_info->workers runs after the
 *       flushes. Upstream cda76788f8b0 (v6.15) flushes that queue ({@link FixSwitch#WORKERS_FLUSH_AT_UMOUNT}); it
 *       describes an I/O error's path through the same queue.</li>
 * </ol>
 */
class WorkersFlushAtUmountTest {

    /**
     * -o compress: an unlinked file with one dirty block, a commit EIO forcing the filesystem read-only (the transaction
     * kthread, woken by the abort, runs its own btrfs_cleanup_transaction and sleeps again), then the file's writeback
     * (sync_file_range: no write access, so it works on the aborted filesystem) — its async chunk queued and held before
     * it compresses, its range still EXTENT_DELALLOC — and the descriptor closed. The umount finds no syscall in flight.
     * Returns the file's inode number.
     */
    private static long abortThenQueueAnAsyncChunk(Repro r, Btrfs fs) {
        FileHandle h = unlinkedFileWithADirtyBlock(fs);
        r.abortByACommitEio(fs);
        Waits.within(Repro.WAIT).until(() -> "schedule_timeout() in INTERRUPTIBLE".equals(r.sleepingOn("btrfs-transaction"))
            && !fs.fsInfo().transactionKthreadMutex.isLocked());
        queueHeldAsyncChunkAndClose(r, h);
        return h.ino();
    }

    /** An open file with one dirty block, unlinked: its last reference will be a kernel thread's. */
    private static FileHandle unlinkedFileWithADirtyBlock(Btrfs fs) {
        fs.createFile("f");
        FileHandle h = fs.open("f");
        h.write(new byte[4096]);
        fs.unlink("f");
        return h;
    }

    /** sync_file_range of {@code h}: its async chunk queued and held before it compresses; then the descriptor closed. */
    private static void queueHeldAsyncChunkAndClose(Repro r, FileHandle h) {
        r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS);
        h.syncFileRange(); // the chunk is queued on the delalloc workqueue, its pages locked
        r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT);
        h.close(); // the chunk's reference holds the inode now, then its ordered extent's
    }

    /**
     * The umount, held in btrfs_cleanup_transaction between its wait for the ordered extents (none yet) and its splice
     * of the delalloc lists; meanwhile the chunk runs its submit step — cow_file_range adds the ordered extent and
     * clears EXTENT_DELALLOC, the pages go under writeback — and its bio waits on fs_info->workers before its checksum
     * step. Then the cleanup goes on: the inode is on no list it visits.
     */
    private static TestThread<Void> umountPastTheErrorCleanup(Repro r, Btrfs fs) {
        r.mod.hooks().parkAt(Hook.CLEANUP_BEFORE_DELALLOC_INODES, Role.USER);
        TestThread<Void> umount = TestThread.run("umount", fs::umount);
        r.mod.hooks().awaitParked(Hook.CLEANUP_BEFORE_DELALLOC_INODES, Repro.WAIT);
        r.mod.hooks().parkAt(Hook.DATA_BIO_BEFORE_CSUM);
        r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
        r.mod.hooks().awaitParked(Hook.DATA_BIO_BEFORE_CSUM, Repro.WAIT);
        r.mod.hooks().release(Hook.CLEANUP_BEFORE_DELALLOC_INODES);
        return umount;
    }

    /** {@code t} waits in a btrfs_flush_workqueue called from close_ctree. */
    private static boolean inWorkqueueFlush(Thread t) {
        List<StackTraceElement> stack = List.of(t.getStackTrace());
        return t.getState() == Thread.State.WAITING
            && stack.stream().anyMatch(f -> f.getClassName().endsWith("BtrfsWorkqueue") && f.getMethodName().equals("flush"))
            && stack.stream().anyMatch(f -> f.getClassName().endsWith("CloseCtree"));
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedABioOnTheWorkersQueueOutlivesTheFlushes(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.WORKERS_FLUSH_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("compress");
            long ino = abortThenQueueAnAsyncChunk(r, fs);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            TestThread<Void> umount = umountPastTheErrorCleanup(r, fs);
            // the flushes and their btrfs_run_delayed_iputs are over; the bio's work has not run
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT);
            assertEquals(List.of(), fs.inspect().delayedIputs());
            r.mod.hooks().release(Hook.DATA_BIO_BEFORE_CSUM);
            Waits.within(Repro.WAIT).until(() -> fs.inspect().delayedIputs().contains(ino)); // the finisher's last put
            r.releaseIntoTheDelayedIputsAssertion(umount);
        }
    }

    /**
     * Applied: close_ctree's flush of fs_info->workers waits for the bio's work (the umount sleeps there until it is let
     * go); the finish its completion queued is waited for by the endio flush, whose btrfs_run_delayed_iputs runs the
     * inode's delayed iput. Nothing is left: no assertion, the module unloads clean.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheWorkersFlushWaitsForTheBio(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("compress");
            long ino = abortThenQueueAnAsyncChunk(r, fs);
            TestThread<Void> umount = umountPastTheErrorCleanup(r, fs);
            // flush_workqueue's wait (uninterruptible, not a kernel sleep the scheduler names): seen in the stack
            Waits.within(Repro.WAIT).until(() -> inWorkqueueFlush(umount.thread()));
            assertTrue(r.mod.hooks().isParked(Hook.DATA_BIO_BEFORE_CSUM), "the bio still waits");
            r.mod.hooks().release(Hook.DATA_BIO_BEFORE_CSUM);
            r.joinIntoACleanUnload(umount, "inode " + ino);
        }
    }

    /**
     * Port bug (decision 1): a compressed write's async chunk queued when the abort's cleanup runs keeps its range
     * EXTENT_DELALLOC and its pages locked until its submit step, so btrfs_destroy_all_delalloc_inodes finds the inode
     * and its invalidate_inode_pages2 waits — for the chunk, then for the pages' writeback (the bio through
     * fs_info->workers to its completion). Held before it compresses, the chunk keeps the umount in that wait; let go,
     * the umount ends clean with the upstream fix reverted too: this path needs no workers flush.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void theErrorCleanupWaitsForAnAsyncChunksLockedPages(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.WORKERS_FLUSH_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("compress");
            FileHandle h = unlinkedFileWithADirtyBlock(fs);
            long ino = h.ino();
            queueHeldAsyncChunkAndClose(r, h);
            r.abortByACommitEio(fs);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within(Repro.WAIT).until(() -> r.sleepingOn("umount") != null && r.sleepingOn("umount").startsWith("filemap_fdatawait"));
            assertTrue(r.mod.hooks().isParked(Hook.ASYNC_COW_BEFORE_COMPRESS), "the cleanup waits for the chunk's pages");
            r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
            r.joinIntoACleanUnload(umount, "inode " + ino);
        }
    }
}
