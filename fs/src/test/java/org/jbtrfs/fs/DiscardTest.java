package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Mkfs;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Async discard (discard=async, fs/btrfs/discard.c): an emptied block group is discarded whole by the btrfs_discard
 * delayed work before the cleaner may remove it; umount, an RO remount and a remount turning it off clean it up. Kernel
 * functions read (v5.11, and mainline for the fix): fs/btrfs/discard.c (__add_to_discard_list, add_to_discard_list,
 * add_to_discard_unused_list, remove_from_discard_list, find_next_block_group, peek_discard_list,
 * btrfs_discard_cancel_work, btrfs_discard_queue_work, btrfs_discard_schedule_work, btrfs_finish_discard_pass,
 * btrfs_discard_workfn, btrfs_run_discard_work, btrfs_discard_calc_delay, btrfs_discard_punt_unused_bgs_list,
 * btrfs_discard_resume, btrfs_discard_stop, btrfs_discard_purge_list, btrfs_discard_cleanup), fs/btrfs/block-group.c
 * (btrfs_delete_unused_bgs' requeue of an untrimmed group, btrfs_update_block_group not marking it unused),
 * fs/btrfs/extent-tree.c (btrfs_finish_extent_commit), fs/btrfs/super.c (btrfs_parse_options' Opt_discard*,
 * btrfs_remount's RO path, btrfs_remount_cleanup, __btrfs_handle_fs_error), fs/btrfs/disk-io.c (open_ctree's
 * btrfs_discard_resume, close_ctree's btrfs_discard_cleanup).
 *
 * <p><b>Kernel bug, upstream since 2025:</b> {@link #anUnusedGroupThatGotAnExtentMakesTheWorkerSpinOnceUmountStoppedDiscard}
 * — decided kernel, not port: peek_discard_list moves a group of the unused list that got an extent with
 * __add_to_discard_list, which returns at once when btrfs_run_discard_work is false; the group stays first and the
 * loop takes it again, holding discard_ctl->lock, while close_ctree's btrfs_discard_cleanup waits for the work in
 * cancel_delayed_work_sync (Filipe Manana, "btrfs: fix discard worker infinite loop after disabling discard", 2025,
 * SUSE bug 1242012; {@link FixSwitch#DISCARD_WORKER_INFINITE_LOOP}).
 *
 * <p><b>Kernel bug, upstream since 2023:</b> {@link #anRwRemountAfterAnRoRemountResumesAsyncDiscardOnlyWithTheFix} —
 * decided kernel, not port: 5.11's btrfs_remount has no btrfs_discard_resume on its RO→RW path and btrfs_remount_cleanup
 * resumes only when the option is toggled on (Chris Mason, 981a37bab5e5, 6.4, "btrfs: properly enable async discard when
 * switching from RO->RW"; {@link FixSwitch#DISCARD_RESUME_RO_TO_RW}).
 */
class DiscardTest {
    // The tests mount with nospace_cache: a v1 free-space-cache writeout allocates data extents for its cache inodes at
    // commit — in the emptied group, as the kernel's does — which moves a group off the unused discard list by chance
    // and would make the lists' counts below a race.

    /** Async discard's waits compressed a thousandfold (the kernel's 10 s and 120 s become 10 ms and 120 ms). */
    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return new Repro(c -> {
            var k = c.crc32c(crc).discardTimeDivisor(1000).softLockupNanos(100_000_000L);
            return fixed ? k : k.revert(FixSwitch.DISCARD_WORKER_INFINITE_LOOP);
        });
    }

    /**
     * Writes one more MiB than a data chunk holds and syncs: a second data block group exists and is used, and only the
     * files' dentries hold their inodes.
     */
    private static List<String> fillTwoDataGroups(Btrfs fs, String prefix) {
        int n = (int) (Mkfs.dataChunkSize(64L << 20) >> 20) + 1;
        List<String> files = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.createFile(prefix + i);
            fs.writeFile(prefix + i, new byte[1 << 20]);
            files.add(prefix + i);
        }
        fs.sync();
        // the sync returns once the ordered extents are complete; an endio worker still holding one would make the
        // callers' unlink not the last iput, and the eviction freeing the extents a delayed iput of a later cleaner
        // pass (btrfs_put_ordered_extent -> btrfs_add_delayed_iput) — after the callers' sync, as in the kernel
        Repro.awaitOrderedExtentsReleased(fs);
        return files;
    }

    private static int dataGroups(FsInfo fi) { return fi.space.blockGroupCount(BlockGroupType.DATA); }

    /** Moves the module's clock on by a second at each look until {@code done}: the discard work's timer runs on it. */
    private static void advanceUntil(Repro r, java.util.function.BooleanSupplier done) {
        Waits.within(Repro.WAIT).until(() -> {
            if (done.getAsBoolean()) {
                return true;
            }
            r.clock.advance(1, TimeUnit.SECONDS);
            return false;
        });
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anEmptiedGroupIsDiscardedWholeBeforeTheCleanerRemovesIt(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = r.mountSettled("discard=async,nospace_cache");
            FsInfo fi = fs.fsInfo();
            assertTrue(r.logged("turning on async discard"));
            assertTrue(fi.flags.test(FsFlag.DISCARD_RUNNING), "open_ctree: btrfs_discard_resume");
            List<String> files = fillTwoDataGroups(fs, "big");
            assertEquals(2, dataGroups(fi));
            files.forEach(fs::unlink);
            fs.sync();
            // update_block_group did not mark the emptied groups unused: the commit's unpin queued them for discard
            assertEquals(0, fi.space.unusedCount());
            assertEquals(2, fi.discard.listSizes()[0], "both emptied data groups on the unused discard list");
            fs.runCleanerPass(Repro.WAIT);
            assertEquals(2, dataGroups(fi), "nothing for the cleaner yet");
            // the work discards one region per run; a group discarded whole leaves the lists for unused_bgs (the clock
            // moving on also runs the transaction kthread, whose wake-up of the cleaner may remove one at once)
            advanceUntil(r, () -> java.util.Arrays.stream(fi.discard.listSizes()).sum() == 0);
            assertTrue(fi.discard.discardedBytes() >= 9L << 20, "the freed space was discarded: " + fi.discard.discardedBytes());
            fs.runCleanerPass(Repro.WAIT);
            assertEquals(1, dataGroups(fi), "the cleaner removed the trimmed group (the last data group stays)");
            fs.umount();
            assertFalse(fi.discard.work().pending() || fi.discard.work().running(), "close_ctree cancelled the work");
        }
    }

    @Test
    void withoutAsyncDiscardTheCleanerRemovesAnEmptiedGroupAtOnce() {
        try (Repro r = repro(Crc32cImpl.ACCELERATED, true)) {
            Btrfs fs = r.mountSettled("");
            FsInfo fi = fs.fsInfo();
            fillTwoDataGroups(fs, "big").forEach(fs::unlink);
            fs.sync();
            assertArrayEquals(new int[3], fi.discard.listSizes());
            fs.runCleanerPass(Repro.WAIT);
            assertEquals(1, dataGroups(fi));
            fs.umount();
        }
    }

    /** A module with the RO→RW resume fix applied or reverted (the infinite loop's fix applied). */
    private static Repro reproResume(boolean fixed) {
        return new Repro(c -> {
            var k = c.discardTimeDivisor(1000).softLockupNanos(100_000_000L);
            return fixed ? k : k.revert(FixSwitch.DISCARD_RESUME_RO_TO_RW);
        });
    }

    /**
     * 981a37bab5e5 in both directions: an RO remount stops async discard (btrfs_discard_cleanup: the work cancelled, the
     * lists purged); the RO→RW remount resumes it only with the fix. Reverted, the writable filesystem keeps
     * BTRFS_FS_DISCARD_RUNNING clear: an emptied group is punted to a discard list that refuses it and is never removed,
     * however long the clock runs and the cleaner passes — until the next mount; the port's instrumentation records it.
     */
    @ParameterizedTest(name = "fixed {0}")
    @ValueSource(booleans = {true, false})
    void anRwRemountAfterAnRoRemountResumesAsyncDiscardOnlyWithTheFix(boolean fixed) {
        try (Repro r = reproResume(fixed)) {
            Btrfs fs = r.mountSettled("discard=async,nospace_cache");
            FsInfo fi = fs.fsInfo();
            fs.remount("ro");
            assertFalse(fi.flags.test(FsFlag.DISCARD_RUNNING));
            assertArrayEquals(new int[3], fi.discard.listSizes());
            assertFalse(fi.discard.work().pending());
            fs.remount("rw");
            assertTrue(fi.mountOpt.test(MountOpt.DISCARD_ASYNC));
            assertEquals(fixed, fi.flags.test(FsFlag.DISCARD_RUNNING));
            assertEquals(!fixed, fi.asyncDiscardOff(), "the instrumentation");
            fillTwoDataGroups(fs, "big").forEach(fs::unlink);
            fs.sync();
            if (fixed) {
                advanceUntil(r, () -> java.util.Arrays.stream(fi.discard.listSizes()).sum() == 0);
                fs.runCleanerPass(Repro.WAIT);
                assertEquals(1, dataGroups(fi), "discarded, then removed by the cleaner");
            } else {
                assertArrayEquals(new int[3], fi.discard.listSizes(), "add_to_discard_unused_list refuses: discard is off");
                for (int i = 0; i < 3; i++) {
                    r.clock.advance(31, TimeUnit.SECONDS);
                    fs.runCleanerPass(Repro.WAIT);
                }
                assertEquals(2, dataGroups(fi), "the emptied group stays until the next mount");
                assertEquals(0, fi.discard.discardedBytes());
            }
            fs.remount("nodiscard");
            assertTrue(r.logged("turning off async discard"));
            fs.remount("discard=async");
            assertTrue(fi.flags.test(FsFlag.DISCARD_RUNNING), "btrfs_remount_cleanup: toggled on, resumed");
            fs.umount();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"discard=", "discard=fast", "discard=async,discard=nope"})
    void anUnknownDiscardModeIsEinvalAndTheModuleStaysUsable(String opts) {
        try (Repro r = repro(Crc32cImpl.ACCELERATED, true)) {
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount(opts));
            assertEquals(Errno.EINVAL, e.errno());
            Btrfs fs = r.mount("discard");
            assertTrue(fs.fsInfo().mountOpt.test(MountOpt.DISCARD_SYNC));
            assertTrue(r.logged("turning on sync discard"));
            fs.umount();
        }
    }

    /**
     * The 2025 bug in both directions. Both data groups are emptied (the unused discard list), then used again
     * before the work looks at them; the work fires and is held on its way into peek_discard_list; umount's
     * btrfs_discard_cleanup clears BTRFS_FS_DISCARD_RUNNING and waits for it in cancel_delayed_work_sync. Released:
     * fixed, the groups leave the unused list and the work returns; reverted, it takes the same group for ever — the
     * soft-lockup report names btrfs_discard_workfn and the umount stays blocked until the machine is rebooted (here
     * the module panicked, which unwinds both).
     */
    @ParameterizedTest(name = "fixed {0}")
    @ValueSource(booleans = {true, false})
    void anUnusedGroupThatGotAnExtentMakesTheWorkerSpinOnceUmountStoppedDiscard(boolean fixed) {
        try (Repro r = repro(Crc32cImpl.GENERIC, fixed)) {
            Btrfs fs = r.mountSettled("discard=async,nospace_cache");
            FsInfo fi = fs.fsInfo();
            fillTwoDataGroups(fs, "a").forEach(fs::unlink);
            fs.sync();
            assertEquals(2, fi.discard.listSizes()[0]);
            fillTwoDataGroups(fs, "b"); // both groups used again, still on the unused discard list
            assertEquals(2, fi.discard.listSizes()[0]);
            r.mod.hooks().parkAt(Hook.DISCARD_WORKFN_BEFORE_PEEK);
            advanceUntil(r, () -> r.mod.hooks().isParked(Hook.DISCARD_WORKFN_BEFORE_PEEK));
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            // the discard work's cancel: close_ctree's earlier cancels (the reclaim works', 5.12's preemptive one among
            // them) are sleeps of the same name and may be passing; read the state once
            Waits.within(Repro.WAIT).until(() -> {
                String on = r.sleepingOn("umount");
                return on != null && on.startsWith("cancel_delayed_work_sync(btrfs_discard");
            });
            assertFalse(fi.flags.test(FsFlag.DISCARD_RUNNING), "btrfs_discard_stop ran");
            r.mod.hooks().release(Hook.DISCARD_WORKFN_BEFORE_PEEK);
            if (fixed) {
                umount.join(Repro.WAIT);
                assertFalse(r.logged("soft lockup"));
                return;
            }
            Waits.within(Repro.WAIT).until(() -> r.logged("watchdog: BUG: soft lockup"));
            assertTrue(r.logged("RIP: btrfs_discard_workfn"));
            umount.assertRunning();
            assertTrue(r.sleepingOn("umount").startsWith("cancel_delayed_work_sync(btrfs_discard"), "umount still waits for the work");
            r.mod.kernel().panic("the machine is rebooted");
            // the panic ends the wait — with KernelPanic, or normally when the unwinding spinner cleared its running state
            // before the waiter looked (after a panic nothing is kernel behaviour: either is fine)
            Waits.within(Repro.WAIT).until(umount::done);
            assertTrue(r.mod.kernel().panicked());
        }
    }
}
