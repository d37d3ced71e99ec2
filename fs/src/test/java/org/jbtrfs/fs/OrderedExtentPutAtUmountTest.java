package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT}: the window the faithful data path opens in 5.10/5.11 with
 * every patch of the series applied. btrfs_sync_fs waits for ordered extents with btrfs_wait_ordered_roots,
 * which returns once btrfs_finish_ordered_io has called btrfs_remove_ordered_extent
 * (BTRFS_ORDERED_COMPLETE); the worker drops its two references after that, and the last one hands the
 * inode to btrfs_add_delayed_iput. When the file was closed (and its dentry pruned: remount and umount
 * prune them all), that is the inode's last reference and it is queued for a cleaner that may never run
 * again:
 * <ol>
 *   <li>after an RO remount's btrfs_commit_super: the RO cleaner sleeps; umount's close_ctree (RO, no
 *       commit) hits the delayed_iputs assertion;</li>
 *   <li>at RW umount, after close_ctree's btrfs_commit_super ran the delayed iputs: the assertion;</li>
 *   <li>at RW umount, after the kthreads were stopped (while btrfs_stop_all_workers drains
 *       endio_write_workers): the assertion passed already; the wake-up goes to the exited cleaner's freed
 *       task_struct (use-after-free in wake_up_process) and the inode is never put — "VFS: Busy inodes after
 *       unmount", btrfs_inode objects at rmmod.</li>
 * </ol>
 * Later kernels flush endio_write_workers (and endio_freespace_worker) and run the delayed iputs in
 * close_ctree right after parking the cleaner: the switch applied. Hooks hold the worker after the removal;
 * without them the window is narrow but real (the port's suite hit case 3 about once in 130 umounts before
 * the switch existed).
 */
class OrderedExtentPutAtUmountTest {

    /** A closed file with one dirty block: sync_filesystem's writeback makes it an ordered extent. */
    static long dirtyClosedFile(Btrfs fs) { return dirtyClosedFile(fs, "f"); }

    /** The same under {@code name}. */
    static long dirtyClosedFile(Btrfs fs, String name) {
        fs.createFile(name);
        fs.writeFile(name, new byte[4096]);
        try (FileHandle h = fs.open(name)) {
            return h.ino();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void afterAnRoRemountRevertedTheAssertionFires(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            DelayedIputsRoRemountTest.queueDelayedIputAfterRemountRo(r, fs);
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
            assertEquals(1, r.mod.unload().remaining("btrfs_inode"));
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void afterAnRoRemountAppliedCloseCtreeRunsTheDelayedIput(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            DelayedIputsRoRemountTest.queueDelayedIputAfterRemountRo(r, fs);
            fs.umount();
            assertTrue(fs.inspect().delayedIputs().isEmpty());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** Case 2: the worker is released once close_ctree's btrfs_commit_super has run the delayed iputs. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void atRwUmountRevertedThePutAfterCommitSuperHitsTheAssertion(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            long ino = dirtyClosedFile(fs);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT); // past btrfs_commit_super
            r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            fs.fsInfo().workqueues().endioWriteWorkers.flush(); // its puts and btrfs_add_delayed_iput are done
            assertEquals(List.of(ino), fs.inspect().delayedIputs());
            r.releaseIntoTheDelayedIputsAssertion(umount);
        }
    }

    /** Case 3: the worker is released while btrfs_stop_all_workers is about to drain endio_write_workers. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void atRwUmountRevertedThePutAfterTheKthreadsStoppedLeaksTheInode(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            long ino = dirtyClosedFile(fs);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_WORKERS);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_WORKERS, Repro.WAIT); // the assertion passed
            r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            fs.fsInfo().workqueues().endioWriteWorkers.flush(); // its puts and btrfs_add_delayed_iput are done
            assertEquals(List.of(ino), fs.inspect().delayedIputs());
            // btrfs_add_delayed_iput woke the cleaner kthread close_ctree had already stopped: its task_struct
            assertTrue(r.logged("use-after-free in wake_up_process"), r.mod.log().dmesg());
            r.mod.hooks().release(Hook.UMOUNT_BEFORE_STOP_WORKERS);
            umount.join();
            assertTrue(r.logged("VFS: Busy inodes after unmount of sdc"));
            assertFalse(r.logged("assertion failed"));
            UnloadReport rep = r.mod.unload();
            assertEquals(1, rep.remaining("btrfs_inode"), rep.toString());
        }
    }

    /**
     * Applied: the worker is released once close_ctree parked the cleaner (after sync_filesystem returned
     * and evict_inodes skipped the still-referenced inode); close_ctree's flush of endio_write_workers waits
     * for its puts and runs the delayed iput they queued — outside cleaner_mutex, so not btrfs_commit_super's
     * run. The reverted direction needs the later release points above: with the flush the worker must
     * finish before close_ctree goes on.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void atRwUmountAppliedCloseCtreeWaitsForTheWorkerAndRunsTheDelayedIput(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            long ino = dirtyClosedFile(fs);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            java.util.concurrent.atomic.AtomicBoolean heldAfterSync = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicBoolean ranByCloseCtree = new java.util.concurrent.atomic.AtomicBoolean();
            r.mod.hooks().arm(Hook.UMOUNT_AFTER_PARK_CLEANER, HookAction.run(() -> {
                heldAfterSync.set(r.mod.hooks().isParked(Hook.ORDERED_EXTENT_AFTER_REMOVE));
                r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            }));
            r.mod.hooks().arm(Hook.CLEANER_BEFORE_DELAYED_IPUT, HookAction.run(() -> ranByCloseCtree.set(
                Thread.currentThread().getName().equals("umount") && !fs.fsInfo().cleanerMutex.isHeldByCurrentThread())));
            TestThread.run("umount", fs::umount).join();
            assertTrue(heldAfterSync.get(), "the worker was still inside its window when sync_filesystem returned");
            assertTrue(ranByCloseCtree.get(), "inode " + ino + "'s delayed iput was run by close_ctree");
            assertFalse(r.logged("Busy inodes"));
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
