package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.SpaceReservation;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS} (proposed, stop 55), both directions, both crc32c modes.
 *
 * <p>Kernel or port: kernel. Read (v5.11): space-info.c __reserve_bytes (a FLUSH_ALL or FLUSH_ALL_STEAL ticket queues
 * fs_info->async_reclaim_work only if space_info->flush is clear, and sets it), btrfs_async_reclaim_metadata_space
 * (the only place that clears it), wait_reserve_ticket (a killable sleep: a kthread is never woken from it but by a
 * grant or a failure); kernel/workqueue.c cancel_work_sync → __cancel_work_timer → try_to_grab_pending (a pending work
 * is taken off its worklist and does not run; queue_work while the cancel waits finds the pending bit taken);
 * super.c btrfs_remount (cancel_work_sync first, then SB_RDONLY, btrfs_delete_unused_bgs, wait_on_bit(CLEANER_RUNNING));
 * disk-io.c cleaner_kthread (btrfs_delete_unused_bgs with CLEANER_RUNNING set); block-group.c btrfs_delete_unused_bgs
 * → btrfs_start_trans_remove_block_group (FLUSH_ALL_STEAL). Mainline's btrfs_remount_ro and __reserve_bytes keep the
 * same order and flag (read in outline). The port's DelayedWork keeps the kernel's pending and cancel semantics
 * ({@code DelayedWorkTest}).
 *
 * <p>The filesystem: metadata full and no device space for a metadata chunk, one unused block group. The cleaner's
 * pass takes the group and reserves to remove it: a steal ticket, the work queued; before a kworker clears the work's
 * pending bit, an RO remount cancels it. Reverted: the ticket waits with the flag set and the work idle, the remount
 * waits for the cleaner in wait_on_bit(CLEANER_RUNNING) — until the test gives back the bytes it holds (nothing in the
 * kernel would); the flag then stays set with no ticket, so a later reservation's ticket gets no flusher either.
 * Applied: the remount finds the ticket after its cancel, queues the work again and waits for it; the work steals for
 * the ticket, the cleaner removes the group, the remount commits it.
 *
 * <p>The running variant (stop 54's open lead): the cancel waits for an instance that has cleared the flag on its way
 * out (held at {@code ASYNC_RECLAIM_BEFORE_RETURN}); the cleaner's ticket sets the flag and its queue_work is refused.
 * The same two outcomes.
 */
class AsyncReclaimCancelStrandsTicketsTest {
    private static final String REMOUNT = CleanerRoRemountRaceTest.REMOUNT;

    /**
     * The cleaner's pass held where it took the unused group, before its removal's reservation; then all the metadata
     * space's room but a page reserved into the chunk reserve (standing for what a full filesystem holds): the steal
     * ticket will not fit. Returns the bytes held, for the test to give back.
     */
    static long cleanerAtItsRemovalWithTheMetadataHeld(Repro r, Btrfs fs) {
        FsInfo info = fs.fsInfo();
        r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        Repro.wakeCleaner(fs);
        r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, Repro.WAIT);
        long held = info.space.reservations.room(Flush.FLUSH_ALL_STEAL) - 4096;
        assertNull(info.space.reservations.reserve(held, Flush.NO_FLUSH));
        info.space.rsvs.addBytes(info.space.rsvs.chunk, held, true);
        return held;
    }

    /**
     * The cleaner's pass has taken the unused group and reserved for its removal (a steal ticket that does not fit:
     * the metadata space's room but a page is held), the work it queued is held where a kworker took it, still
     * pending; the remount runs on its own thread. Returns the remount and the bytes held.
     */
    private static TestThread<Void> remountWhileTheWorkIsPending(Repro r, Btrfs fs, long[] held) {
        FsInfo info = fs.fsInfo();
        // a kworker taking the work is held from here: the hold below, nearly full, may queue it already ("preempt")
        r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING, Role.WORKER);
        held[0] = cleanerAtItsRemovalWithTheMetadataHeld(r, fs);
        r.mod.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        // the cleaner's steal ticket sets the flag and finds the work pending (queued by it or by the preempt above)
        Waits.within(Repro.WAIT).until(() -> info.space.reservations.ticketsWaiting() == 1);
        r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING, Repro.WAIT);
        assertTrue(info.space.reservations.flushing());
        return TestThread.run(REMOUNT, () -> fs.remount("ro"));
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCancelledWorkLeavesTheCleanersTicketAndTheRemountWaiting(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS)) {
            Btrfs fs = AsyncReclaimRequeuedAfterCancelTest.fullDevice(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> remount = remountWhileTheWorkIsPending(r, fs, held);
            try {
                Repro.awaitBlockedOn(fs, REMOUNT, "wait_on_bit(CLEANER_RUNNING)");
                // the kworker goes on: the cancel took the work, it does not run
                r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING);
                strandedUntilTheBytesComeBack(r, fs, remount, held);
            } finally {
                endTheHangOnFailure(r, info, held);
            }
            remount.join();
            assertEquals(0, info.space.reservations.ticketsWaiting());
            assertTrue(info.space.reservations.flushing(), "set for the mount's lifetime: no later ticket queues the work");
            fs.umount();
        }
    }

    /** A failed check leaves the hang: end it, or the umount of the test's cleanup waits for the remount for ever. */
    private static void endTheHangOnFailure(Repro r, FsInfo info, long[] held) {
        if (held[0] != 0) {
            r.mod.hooks().disarm(Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING);
            r.mod.hooks().disarm(Hook.ASYNC_RECLAIM_BEFORE_RETURN);
            info.space.rsvs.release(info.space.rsvs.chunk, held[0]);
        }
    }

    /**
     * The running variant: the work, run for a ticket it then failed (ENOSPC: nothing frees metadata), has cleared the
     * flag and is held before it returns; the remount's cancel waits for it; the cleaner's steal ticket finds the flag
     * clear, sets it, and its queue_work is refused (the cancel holds the pending bit). Returns the remount, the work
     * released and the cancel returned.
     */
    private static TestThread<Void> cleanersTicketQueuedWhileTheCancelWaits(Repro r, Btrfs fs, long[] held) {
        FsInfo info = fs.fsInfo();
        held[0] = cleanerAtItsRemovalWithTheMetadataHeld(r, fs);
        Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy()); // a "preempt" queueing of the hold, done
        r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_RETURN, Role.WORKER);
        TestThread<Void> reserver = TestThread.run("reserve", () -> {
            try {
                SpaceReservation.reserveMetadataBytes(info, 8192, Flush.FLUSH_ALL);
                info.space.rsvs.addBytes(info.space.rsvs.chunk, 8192, true);
                info.space.rsvs.release(info.space.rsvs.chunk, 8192);
            } catch (BtrfsException e) {
                assertEquals(Errno.ENOSPC, e.errno()); // failed after three rounds: the flush states free nothing
            }
        });
        r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_RETURN, Repro.WAIT);
        reserver.join();
        assertFalse(info.space.reservations.flushing(), "the returning work cleared the flag");
        TestThread<Void> remount = TestThread.run(REMOUNT, () -> fs.remount("ro"));
        Repro.awaitBlockedOn(fs, REMOUNT, "cancel_delayed_work_sync(async_reclaim_work)");
        r.mod.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        Waits.within(Repro.WAIT).until(() -> info.space.reservations.ticketsWaiting() == 1);
        assertTrue(info.space.reservations.flushing(), "the cleaner's ticket set the flag; its queue_work was refused");
        r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_RETURN);
        return remount;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedATicketQueuedWhileTheCancelWaitsIsStrandedToo(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS)) {
            Btrfs fs = AsyncReclaimRequeuedAfterCancelTest.fullDevice(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            try {
                TestThread<Void> remount = cleanersTicketQueuedWhileTheCancelWaits(r, fs, held);
                strandedUntilTheBytesComeBack(r, fs, remount, held);
                remount.join();
            } finally {
                endTheHangOnFailure(r, info, held);
            }
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRemountQueuesTheWorkForATicketQueuedWhileItsCancelWaited(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = AsyncReclaimRequeuedAfterCancelTest.fullDevice(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> remount = cleanersTicketQueuedWhileTheCancelWaits(r, fs, held);
            remount.join();
            assertEquals(0, info.space.reservations.ticketsWaiting());
            assertFalse(info.space.reservations.flushing());
            assertEquals(0, info.space.unusedCount(), "the cleaner removed the group, the remount committed it");
            info.space.rsvs.release(info.space.rsvs.chunk, held[0]);
            fs.umount();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }

    /** Reverted: the ticket and the remount wait with the work idle, until the test gives back the {@code held} bytes. */
    private static void strandedUntilTheBytesComeBack(Repro r, Btrfs fs, TestThread<Void> remount, long[] held) {
        FsInfo info = fs.fsInfo();
        Repro.awaitBlockedOn(fs, REMOUNT, "wait_on_bit(CLEANER_RUNNING)");
        Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
        assertEquals(1, info.space.reservations.ticketsWaiting());
        assertTrue(info.space.reservations.flushing(), "the flag still says a flusher is on its way");
        assertEquals("wait_reserve_ticket", fs.inspect().blockedOn().get(cleanerThread(fs)), fs.inspect().blockedOn().toString());
        assertFalse(remount.done());
        // a second reservation's ticket does not queue the work either
        TestThread<Void> second = TestThread.run("reserve", () -> {
            SpaceReservation.reserveMetadataBytes(info, 8192, Flush.FLUSH_ALL);
            info.space.rsvs.addBytes(info.space.rsvs.chunk, 8192, true);
            info.space.rsvs.release(info.space.rsvs.chunk, 8192);
        });
        Waits.within(Repro.WAIT).until(() -> info.space.reservations.ticketsWaiting() == 2);
        assertFalse(info.asyncReclaim().busy(), "no reservation queues the work while the flag is set");
        // only bytes given back end it (here the test's; on a filesystem being made read-only, nothing's)
        info.space.rsvs.release(info.space.rsvs.chunk, held[0]);
        held[0] = 0;
        second.join();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRemountQueuesTheWorkAgainForTheTicket(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = AsyncReclaimRequeuedAfterCancelTest.fullDevice(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> remount = remountWhileTheWorkIsPending(r, fs, held);
            // the remount's cancel took the held instance; it queued the work again, which a second kworker runs
            Waits.within(Repro.WAIT).until(() -> info.space.reservations.ticketsWaiting() == 0);
            r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING);
            remount.join();
            assertFalse(info.space.reservations.flushing());
            assertEquals(0, info.space.unusedCount(), "the cleaner removed the group, the remount committed it");
            assertTrue(fs.inspect().openTransactions().isEmpty(), fs.inspect().openTransactions().toString());
            info.space.rsvs.release(info.space.rsvs.chunk, held[0]);
            fs.umount();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    private static String cleanerThread(Btrfs fs) {
        return fs.inspect().blockedOn().keySet().stream().filter(t -> t.contains("cleaner")).findFirst().orElse("btrfs-cleaner");
    }
}
