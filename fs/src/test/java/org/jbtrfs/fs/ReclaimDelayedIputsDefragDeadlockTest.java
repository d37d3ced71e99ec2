package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK} (proposed, stop 55) through the data space (stop 56), both
 * directions, both crc32c modes: the same deadlock as {@link ReclaimDelayedIputsCleanerDeadlockTest}, with the cleaner's
 * autodefrag on a data ticket and the async data reclaim work in its RUN_DELAYED_IPUTS state.
 *
 * <p>Kernel or port: kernel. Read (v5.11): space-info.c data_flush_states (FLUSH_DELALLOC_WAIT, RUN_DELAYED_IPUTS, ...),
 * btrfs_async_reclaim_data_space, flush_space (RUN_DELAYED_IPUTS: btrfs_run_delayed_iputs, then
 * btrfs_wait_on_delayed_iputs); delalloc-space.c btrfs_delalloc_reserve_space → btrfs_check_data_free_space
 * (BTRFS_RESERVE_FLUSH_DATA: wait_reserve_ticket); ioctl.c cluster_pages_for_defrag (reserves first), btrfs_defrag_file;
 * file.c btrfs_run_defrag_inodes; disk-io.c cleaner_kthread (the defragger runs inside the pass, CLEANER_RUNNING set);
 * inode.c btrfs_add_delayed_iput (wakes the cleaner only if CLEANER_RUNNING is clear); ordered-data.c
 * btrfs_put_ordered_extent. Mainline keeps RUN_DELAYED_IPUTS in data_flush_states and the same wait (read in outline).
 * Kept bug-for-bug; the stop 55 fix (the wait runs the iputs queued while it waits) ends this one too — the data path
 * makes the deadlock reachable on any filesystem whose data space is full and mounted with autodefrag, without the
 * metadata tickets stop 55's reproducer needed.
 *
 * <p>The filesystem: autodefrag, a file of four small extents queued for the defragger (the cleaner held at its pass's
 * start), the device filled with data to ENOSPC (the data space_info full), a temporary file written back by a sync
 * whose ordered extent's finisher is held before its last put, then unlinked, and the data space's last room held by the
 * test. The cleaner's pass reaches the defragger, whose cluster reserves data: a ticket and the data work, which finds
 * the space full, flushes delalloc and reaches RUN_DELAYED_IPUTS (nothing queued); before its wait the finisher's last
 * put queues the file's delayed iput — the cleaner, in its pass, is not woken. Reverted: the work waits for the iput,
 * the cleaner for the work. Applied: the work's wait runs the iput, goes on through its states and, nothing freeing
 * enough, fails the ticket: the defragger's cluster ends with ENOSPC, the cleaner's pass ends.
 */
class ReclaimDelayedIputsDefragDeadlockTest {
    private static final int MIB = 1 << 20;

    /** Everything up to the iput queued while the data work is held before its wait; returns the file's inode number. */
    private static long iputQueuedBeforeTheDataWorksWait(Repro r, Btrfs fs, long[] held) {
        FsInfo info = fs.fsInfo();
        // 5.12's preemptive work held before it runs a round (stop 57): its delalloc flushes write back files of their
        // own accord, and an ordered extent of theirs may be the one parked below, not "t"'s (1 run in 8 under load)
        r.mod.hooks().parkAt(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        AutoDefragTest.withCleanerHeld(r, fs, () -> AutoDefragTest.fourSmallWrites(fs));
        fs.createFile("spare");
        fs.writeFile("spare", new byte[64 << 10]);
        fs.createFile("big");
        BtrfsException e = assertThrows(BtrfsException.class, () -> {
            for (int i = 0; i < 64; i++) {
                fs.writeFile("big", new byte[MIB]);
            }
        });
        assertEquals(Errno.ENOSPC, e.errno());
        assertTrue(info.space.reservations.dataFull());
        fs.unlink("spare"); // room for the temporary file below
        fs.sync();
        long ino = OrderedExtentPutAtUmountTest.dirtyClosedFile(fs, "t");
        // the sync above returned once its ordered extents were COMPLETE; their finishers may still be between
        // btrfs_remove_ordered_extent and their last put — one of them would take the park meant for "t"'s, and "t"'s
        // iput would be queued (and run by the cleaner's pass) before the data work's wait (2 runs in 5 once the
        // kworker pool grew, stop 60: finishers run side by side there)
        info.workqueues().endioWriteWorkers.flush();
        r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        fs.sync(); // writes "t"; its finisher stops after removing its ordered extent, its last put not made
        r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT);
        fs.unlink("t"); // a temporary file: the ordered extent now holds the inode's last reference
        held[0] = DataReservationTest.holdDataRoom(info); // the data space's last room, a full device's
        // the metadata work runs the same state and reaches the same hook: queued by the fill's delalloc reservations, it
        // may still be going round its states and take the park meant for the data work (a likely reading of the one CI
        // failure of stop 59, the iput gone before the assertion below), so it is let finish first
        Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
        assertEquals(0, info.space.reservations.ticketsWaiting(), "no metadata ticket left to queue it again");
        r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Role.WORKER);
        r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING); // the pass reaches the defragger, whose cluster reserves
        r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Repro.WAIT);
        assertEquals(1, info.space.reservations.dataTicketsWaiting(), "the defragger's");
        assertEquals(0, info.space.reservations.ticketsWaiting(), "no metadata ticket: the data work is the one held");
        r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        info.workqueues().endioWriteWorkers.flush(); // the finisher's last put: btrfs_add_delayed_iput
        // what ran besides the data work, should the iput be gone (CI once, stop 59): the metadata work's states, the
        // ordered extents finished, the delayed iputs run
        assertEquals(List.of(ino), fs.inspect().delayedIputs(), () -> "metadata work states "
            + r.mod.hooks().arrivals(Hook.ASYNC_RECLAIM_BEFORE_FLUSH) + ", data work states "
            + r.mod.hooks().arrivals(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH) + ", ordered extents removed "
            + r.mod.hooks().arrivals(Hook.ORDERED_EXTENT_AFTER_REMOVE) + ", waits for delayed iputs "
            + r.mod.hooks().arrivals(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS) + "; " + r.mod.log().dmesg());
        assertTrue(info.flags.test(FsFlag.CLEANER_RUNNING), "the cleaner is in its pass: the add did not wake it");
        r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
        return ino;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheDataWorkWaitsForTheCleanerAndTheDefraggerForTheWork(Crc32cImpl crc) {
        try (Repro r = new Repro(32L << 20, c -> c.crc32c(crc).revert(FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK))) {
            Btrfs fs = r.mount("autodefrag");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            long ino = iputQueuedBeforeTheDataWorksWait(r, fs, held);
            ReclaimDelayedIputsCleanerDeadlockTest.awaitTheCircle(fs);
            assertEquals(List.of(ino), fs.inspect().delayedIputs(), "nobody runs it");
            assertEquals(1, info.space.reservations.dataTicketsWaiting());
            // the hung-task watchdog's verdict ends it (nothing in the kernel would)
            r.mod.kernel().panic("hung task: btrfs-cleaner blocked in 'wait_reserve_ticket'");
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheDataWorksWaitRunsTheIputAndTheDefraggerGetsAnAnswer(Crc32cImpl crc) {
        try (Repro r = new Repro(32L << 20, c -> c.crc32c(crc))) {
            Btrfs fs = r.mount("autodefrag");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            iputQueuedBeforeTheDataWorksWait(r, fs, held);
            Waits.within(Repro.WAIT).until(() -> !info.flags.test(FsFlag.CLEANER_RUNNING));
            assertTrue(fs.inspect().delayedIputs().isEmpty(), "the work ran it");
            assertEquals(0, info.space.reservations.dataTicketsWaiting());
            Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
            info.space.reservations.freeDataBytesMayUse(held[0]);
            r.mod.hooks().release(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
            fs.umount();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }
}
