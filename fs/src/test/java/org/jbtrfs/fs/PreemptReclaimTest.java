package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.api.Test;

/**
 * 5.12's preemptive reclaim work (stop 57) as 5.12.9 has it, and 5.11's paths without it. Port checks, no switch:
 * space-info.c __reserve_bytes (a reservation that fits queues preempt_reclaim_work when need_preemptive_reclaim holds;
 * 5.11 queued async_reclaim_work itself, need_do_async_reclaim), btrfs_preempt_reclaim_metadata_space (rounds until
 * need_preemptive_reclaim is false; one round only and no ticket: the clamp backs off), btrfs_init_async_reclaim_work.
 */
class PreemptReclaimTest {
    private static final long ITEM = 256L << 10;

    /** Reservations standing for other tasks', one item at a time, until {@code queued} says a reclaim work was queued. */
    private static long reserveUntil(FsInfo info, java.util.function.BooleanSupplier queued) {
        long held = 0;
        while (!queued.getAsBoolean()) {
            assertTrue(info.space.reservations.room(Flush.NO_FLUSH) > ITEM, "queued before the space is full");
            info.space.reservations.reserve(ITEM, Flush.NO_FLUSH);
            info.space.rsvs.addBytes(info.space.rsvs.trans, ITEM, true);
            held += ITEM;
        }
        return held;
    }

    @Test
    void on512AReservationThatFitsQueuesThePreemptiveWorkWhichFlushesUntilBelowItsThreshold() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            assertNotNull(info.preemptReclaim(), "the default profile runs 5.12's paths");
            fs.createFile("f");
            fs.writeFile("f", new byte[64 << 10]); // delalloc: need_preemptive_reclaim weighs bytes_may_use
            r.mod.hooks().parkAt(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Role.WORKER);
            long held = reserveUntil(info, () -> info.preemptReclaim().busy());
            r.mod.hooks().awaitParked(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Repro.WAIT); // its first round passed the test
            // the held reservations are not the work's to free: it would go round while they pass the threshold
            info.space.rsvs.releaseMetadata(held);
            r.mod.hooks().release(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
            Waits.within(Repro.WAIT).until(() -> !info.preemptReclaim().busy());
            assertTrue(r.mod.hooks().arrivals(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH) >= 1, "a round ran");
            assertEquals(1, info.space.reservations.preemptClamp(), "never below 1");
            assertEquals(0, info.space.reservations.ticketsWaiting());
            fs.umount();
        }
    }

    @Test
    void on511TheAsyncReclaimWorkFlushesAheadOfTheTicketsItself() {
        try (Repro r = new Repro(c -> c.version(KernelVersion.V5_11))) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            assertNull(info.preemptReclaim(), "no preempt_reclaim_work before 5.12");
            // held at its end, so the loop below sees it busy however short its run (need_do_async_reclaim's "preempt")
            r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_RETURN, Role.WORKER);
            long held = reserveUntil(info, () -> info.asyncReclaim().busy());
            r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_RETURN, Repro.WAIT);
            info.space.rsvs.releaseMetadata(held);
            r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_RETURN);
            Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
            assertEquals(0, r.mod.hooks().arrivals(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH));
            fs.umount();
        }
    }
}
