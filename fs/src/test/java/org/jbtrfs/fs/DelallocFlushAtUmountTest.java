package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * A compressed write's async chunk still running its last step at umount: the kernel bug syzbot reported as a
 * use-after-free of the cleaner's task_struct.
 *
 * <p>Decision: <b>kernel bug, fixed upstream later</b> — "btrfs: flush delalloc workers queue before stopping cleaner
 * kthread during unmount" (Filipe Manana, v6.13): close_ctree flushes fs_info->delalloc_workers after parking the
 * cleaner; the port's {@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT}, reverted in the 5.10–5.12 profiles. Read:
 * fs/btrfs/inode.c cow_file_range_async (ihold per chunk), async_cow_submit, async_cow_free (btrfs_add_delayed_iput of
 * the chunk's reference; mainline does it at the end of submit_compressed_extents); fs/btrfs/disk-io.c close_ctree (5.11:
 * nothing flushes delalloc_workers before kthread_stop(cleaner); btrfs_stop_all_workers drains it last) and the
 * mainline close_ctree with the fix; fs/super.c generic_shutdown_super (dentries pruned, then evict_inodes, which skips
 * an inode the chunk still holds); fs/btrfs/inode.c btrfs_add_delayed_iput (the last reference: queued, the cleaner
 * woken).
 *
 * <ol>
 *   <li>mount -o compress; a file gets one page of data and is closed;</li>
 *   <li>umount: sync_filesystem writes the page through its chunk and waits for it to be written; the chunk is held
 *       before its last step ({@link Hook#ASYNC_COW_BEFORE_FREE}); the dentries are pruned, evict_inodes skips the
 *       inode the chunk holds;</li>
 *   <li>close_ctree. Applied: after parking the cleaner it flushes the delalloc workqueue and waits for the chunk,
 *       whose delayed iput (the inode's last reference) its flush block then runs. Reverted: it commits, stops the
 *       kthreads, and waits for the chunk only in btrfs_stop_all_workers;</li>
 *   <li>reverted: the chunk's btrfs_add_delayed_iput wakes the cleaner kthread_stop has freed — the use-after-free
 *       syzbot reported.</li>
 * </ol>
 */
class DelallocFlushAtUmountTest {

    @ParameterizedTest(name = "upstream fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aCompressedWritesChunkStillRunningAtCloseCtree(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.DELALLOC_FLUSH_AT_UMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountCompressedWithOneDirtyPage(); // 1.
            r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_FREE, Role.WORKER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_FREE, Repro.WAIT); // 2.
            // 3. where close_ctree waits for the held chunk
            Waits.within().until(() -> applied
                ? Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "flush") && Blocked.onStack(umount.thread(), "CloseCtree", "closeCtree")
                : Blocked.onStack(umount.thread(), "FsWorkqueues", "stopAll"));
            r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_FREE);
            umount.join();
            if (applied) {
                UnloadReport rep = r.mod.unload();
                assertTrue(rep.clean(), rep.toString());
                assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            } else {
                // 4.
                assertTrue(r.logged("use-after-free in wake_up_process"), r.mod.log().dmesg());
            }
        }
    }
}
