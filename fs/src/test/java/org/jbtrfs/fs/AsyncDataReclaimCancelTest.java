package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.internal.Internals;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.SpaceReservation;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS} (proposed, stop 55) on the data work (stop 56), both
 * directions, both crc32c modes: cancel_work_sync(&fs_info->async_data_reclaim_work) drops a queued instance the same
 * way — the data tickets that queued it wait under a set space_info->flush, and no data reservation queues the work
 * again (space-info.c __reserve_bytes with BTRFS_RESERVE_FLUSH_DATA, btrfs_async_reclaim_data_space: the only place
 * that clears the flag; kernel/workqueue.c try_to_grab_pending).
 *
 * <p>Kernel or port: kernel, and in 5.11 out of reach from the two callers: btrfs_remount's and close_ctree's cancels
 * meet no data ticket of the modelled reservers — a buffered writer holds its file open for write, which makes the RO
 * remount EBUSY (sb_prepare_remount_readonly) and the umount busy; the cleaner's autodefrag is waited for by
 * btrfs_remount_begin (defrag_running, with REMOUNTING set first, so no new defrag starts) and by close_ctree's
 * kthread_park. Read: super.c btrfs_remount and btrfs_remount_begin, disk-io.c close_ctree and cleaner_kthread,
 * file.c btrfs_run_defrag_inodes, fs/namespace.c sb_prepare_remount_readonly. So the test cancels the data work
 * itself, where a remount would, with a data ticket of its own: the proposed fix covers both works alike, as a
 * kernel helper would.
 */
class AsyncDataReclaimCancelTest {
    /** Reserves the data space's room (the test's hold), then a ticket on another thread; the work held where picked up. */
    private static TestThread<Void> aTicketWhileTheWorkIsPending(Repro r, FsInfo info, long[] held) {
        held[0] = DataReservationTest.holdDataRoom(info);
        r.mod.hooks().parkAt(Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING, Role.WORKER);
        TestThread<Void> t = TestThread.run("reserve", () -> {
            SpaceReservation.reserveDataBytes(info, 4096);
            info.space.reservations.freeDataBytesMayUse(4096);
        });
        r.mod.hooks().awaitParked(Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING, Repro.WAIT);
        assertEquals(1, info.space.reservations.dataTicketsWaiting());
        return t;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCancelledDataWorkLeavesTheTicketUnderTheFlag(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> reserver = aTicketWhileTheWorkIsPending(r, info, held);
            TestThread<Void> cancel = TestThread.run("cancel", () -> info.asyncDataReclaim().cancelSync());
            try {
                Waits.within(Repro.WAIT).until(() -> cancel.done());
                r.mod.hooks().release(Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING);
                Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
                assertEquals(1, info.space.reservations.dataTicketsWaiting(), "the dropped work served nothing");
                assertFalse(reserver.done());
                assertTrue(Internals.debugState(r.mod).contains("data tickets 1, flush true, data reclaim work idle"),
                    Internals.debugState(r.mod));
            } finally {
                r.mod.hooks().disarm(Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING);
                info.space.reservations.freeDataBytesMayUse(held[0]); // bytes back: the only way out
            }
            reserver.join();
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheCancelQueuesTheDataWorkAgainAndWaitsForIt(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            int chunks = info.space.blockGroupCount(BlockGroupType.DATA);
            TestThread<Void> reserver = aTicketWhileTheWorkIsPending(r, info, held);
            TestThread<Void> cancel = TestThread.run("cancel", () -> info.asyncDataReclaim().cancelSync());
            // the cancel took the held instance, queued the work again and waits for it: a second kworker forces a chunk
            reserver.join();
            cancel.join();
            r.mod.hooks().release(Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING);
            assertEquals(0, info.space.reservations.dataTicketsWaiting());
            assertEquals(chunks + 1, info.space.blockGroupCount(BlockGroupType.DATA));
            info.space.reservations.freeDataBytesMayUse(held[0]);
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }
}
