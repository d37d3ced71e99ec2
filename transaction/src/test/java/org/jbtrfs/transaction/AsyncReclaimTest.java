package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.jbtrfs.transaction.space.Flush;
import org.jbtrfs.transaction.space.SpaceManager;
import org.jbtrfs.transaction.space.SpaceReservations;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Metadata reservation tickets and the async reclaim work (space-info.c, 5.11: __reserve_bytes, handle_reserve_ticket,
 * btrfs_try_granting_tickets, btrfs_async_reclaim_metadata_space, flush_space, may_commit_transaction,
 * maybe_fail_all_tickets, steal_from_global_rsv; transaction.c start_transaction's doubled reservation).
 */
class AsyncReclaimTest {
    private static final long ITEM = SpaceManager.METADATA_ITEM_SIZE;

    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    /**
     * Starts handles, each reserving half of what is left, until one more item would not fit (a FLUSH_ALL start
     * reserves twice its items while the delayed-refs reserve is not full).
     */
    private static List<TransHandle> fillWithHandles(FsInfo fs) {
        SpaceReservations r = fs.space.reservations;
        List<TransHandle> held = new ArrayList<>();
        long room;
        while (true) {
            room = r.room(Flush.FLUSH_ALL);
            long factor = fs.space.rsvs.delayedRefsFull() ? 1 : 2;
            long items = room / (2 * factor * ITEM);
            if (items == 0) {
                items = room > factor * ITEM ? 1 : 0;
            }
            if (items == 0) {
                break;
            }
            held.add(Transactions.start(fs, fs.treeRoot(), (int) items, "test_fill"));
        }
        assertEquals(0, r.ticketsWaiting(), "every fill handle was reserved without a ticket");
        return held;
    }

    @Test
    void aStartThatDoesNotFitWaitsOnATicketThatAReleaseGrants() {
        FsInfo fs = t.open();
        List<TransHandle> held = fillWithHandles(fs);
        TestThread<TransHandle> waiter = TestThread.call("waiter", () -> Transactions.start(fs, fs.treeRoot(), 1, "test_waiter"));
        Waits.within().until(() -> "wait_reserve_ticket".equals(t.kernel.sched().blocked().get("waiter")));
        assertEquals(1, fs.space.reservations.ticketsWaiting());
        assertTrue(fs.space.reservations.flushing(), "the ticket kicked the async reclaim work");
        // the work's COMMIT_TRANS commit waits for the fill handles; ending them gives their bytes back to the ticket
        for (TransHandle h : held) {
            Transactions.end(h);
        }
        TransHandle h = waiter.join();
        Transactions.end(h);
        Waits.within().until(() -> !fs.asyncReclaim().busy());
        assertEquals(0, fs.space.reservations.ticketsWaiting());
        assertFalse(fs.space.reservations.flushing());
        t.closeClean(fs);
        assertFalse(t.kernel.log().tainted(), t.kernel.log().dmesg());
    }

    /**
     * A start asking more than the filesystem can ever have: three rounds of the flush states (the forced metadata
     * chunks taking what unallocated space there is) and the work fails the ticket with ENOSPC. Then, with the device
     * allocated and every byte held where no flush state gives it back, a FLUSH_ALL_STEAL start (unlink, rmdir, removing a block group) takes them
     * from the global reserve instead. The filesystem stays usable.
     */
    @Test
    void aTicketNothingCanSatisfyFailsWithEnospcAndAStealTicketTakesTheGlobalReserve() {
        FsInfo fs = t.open();
        SpaceReservations r = fs.space.reservations;
        BtrfsException e = assertThrows(BtrfsException.class, () -> Transactions.start(fs, fs.treeRoot(), 4000, "test_enospc"));
        assertEquals(Errno.ENOSPC, e.errno());
        Waits.within().until(() -> !fs.asyncReclaim().busy());
        assertEquals(0, r.ticketsWaiting());
        // the rounds' forced chunks left a hole smaller than a chunk, which the next ALLOC_CHUNK state would fill with a
        // chunk cut to fit (__btrfs_alloc_chunk): taken now, so that no flush state can add space below
        TransHandle chunks = Transactions.join(fs, fs.extentRoot(), "test_chunks");
        while (fs.space.allocMetadataChunk(true, chunks.newBgs)) {
            assertTrue(fs.space.blockGroupCount(BlockGroupType.METADATA) < 64);
        }
        Transactions.end(chunks); // inserts the new groups' items

        // bytes of the delayed_block_rsv, taken without flushing: all there is, the device being allocated
        long held = r.room(Flush.FLUSH_ALL);
        assertEquals(held, r.room(Flush.NO_FLUSH), "no unallocated space to overcommit into");
        assertNull(r.reserve(held, Flush.NO_FLUSH));
        fs.space.rsvs.addBytes(fs.space.rsvs.delayed, held, true);
        assertThrows(BtrfsException.class, () -> Transactions.start(fs, fs.treeRoot(), 1, "test_enospc_again"));
        TransHandle steal = Transactions.startFallbackGlobalRsv(fs, fs.treeRoot(), 4, "test_steal");
        Transactions.end(steal);
        Waits.within().until(() -> !fs.asyncReclaim().busy());
        assertEquals(0, r.ticketsWaiting());
        fs.space.rsvs.release(fs.space.rsvs.delayed, held);
        t.closeClean(fs);
    }

    /** cancel_work_sync waits for a flush state in progress: nothing of the work runs after it returns. */
    @Test
    void cancelWaitsForTheRunningFlushState() {
        FsInfo fs = t.open();
        List<TransHandle> held = fillWithHandles(fs);
        t.kernel.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        TestThread<TransHandle> waiter = TestThread.call("waiter", () -> Transactions.start(fs, fs.treeRoot(), 1, "test_waiter"));
        t.kernel.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_FLUSH, Waits.BOUND);
        TestThread<Void> cancel = TestThread.run("canceller", () -> fs.asyncReclaim().cancelSync());
        Waits.within().until(() -> t.kernel.sched().blocked().getOrDefault("canceller", "").startsWith("cancel_delayed_work_sync"));
        t.kernel.hooks().disarm(Hook.ASYNC_RECLAIM_BEFORE_FLUSH);
        for (TransHandle h : held) {
            Transactions.end(h);
        }
        cancel.join();
        Transactions.end(waiter.join());
        assertFalse(fs.asyncReclaim().busy());
        t.closeClean(fs);
    }
}
