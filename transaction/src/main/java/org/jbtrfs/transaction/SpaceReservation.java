package org.jbtrfs.transaction;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.space.Flush;
import org.jbtrfs.transaction.space.SpaceManager;
import org.jbtrfs.transaction.space.Ticket;

/**
 * The reserving task's side of fs/btrfs/space-info.c: btrfs_reserve_metadata_bytes() — reserve, or queue a ticket and
 * sleep until the async reclaim work ({@link AsyncReclaim}) granted or failed it (handle_reserve_ticket,
 * wait_reserve_ticket) — and start_transaction()'s use of it.
 */
public final class SpaceReservation {
    private SpaceReservation() { }

    /**
     * kernel: btrfs_reserve_metadata_bytes() — {@code bytes} of the METADATA space_info's bytes_may_use, waiting for the
     * reclaim work when they do not fit. TASK_KILLABLE in the kernel; nothing kills here, a panic ends the sleep.
     *
     * @return whether the task slept on a ticket (granted: it is a woken task now, waiting for a CPU)
     * @throws org.jbtrfs.core.BtrfsException ENOSPC when the reclaim work failed the ticket (or NO_FLUSH did not fit)
     */
    public static boolean reserveMetadataBytes(FsInfo fs, long bytes, Flush flush) {
        return handleReserveTicket(fs, fs.space.reservations.reserve(bytes, flush));
    }

    /** kernel: handle_reserve_ticket() for a normal flusher — wait_reserve_ticket, then the ticket's outcome. */
    private static boolean handleReserveTicket(FsInfo fs, Ticket t) {
        if (t == null) {
            return false;
        }
        synchronized (t) {
            fs.kernel.sched().waitUntil(t, "wait_reserve_ticket", t::done);
        }
        fs.space.reservations.finish(t);
        return true;
    }

    /**
     * kernel: btrfs_reserve_data_bytes(fs_info, bytes, BTRFS_RESERVE_FLUSH_DATA) (5.11, via btrfs_check_data_free_space and
     * btrfs_alloc_data_chunk_ondemand) — {@code bytes} of the DATA space_info's bytes_may_use, waiting for the async data
     * reclaim work ({@link AsyncDataReclaim}) when they do not fit. Stop 56.
     *
     * @throws org.jbtrfs.core.BtrfsException ENOSPC when the work failed the ticket (no device space for a data chunk,
     *         nothing to flush or commit that frees enough)
     */
    public static void reserveDataBytes(FsInfo fs, long bytes) {
        handleReserveTicket(fs, fs.space.reservations.reserveData(bytes));
    }

    /**
     * start_transaction()'s reservation for {@code numItems} items (5.11): btrfs_calc_insert_metadata_size, twice that
     * for a FLUSH_ALL start while the delayed-refs reserve is not full (btrfs_block_rsv_add into trans_block_rsv, then
     * btrfs_migrate_to_delayed_refs_rsv of the second half); with no items, a FLUSH_ALL start refills the delayed-refs
     * reserve by at most one item (btrfs_delayed_refs_rsv_refill). Returns the bytes the handle holds in
     * trans_block_rsv (trans->bytes_reserved). The refill's bytes stay in the delayed-refs reserve whatever the join
     * then does (start_transaction's join_fail gives back the trans reserve's bytes only).
     */
    static long reserveForStart(FsInfo fs, int numItems, Flush flush) {
        var rsvs = fs.space.rsvs;
        if (numItems > 0) {
            long bytes = numItems * SpaceManager.METADATA_ITEM_SIZE;
            long delayedRefsBytes = 0;
            if (flush == Flush.FLUSH_ALL && !rsvs.delayedRefsFull()) {
                delayedRefsBytes = bytes;
                bytes <<= 1;
            }
            reserveMetadataBytes(fs, bytes, flush);
            rsvs.addBytes(rsvs.trans, bytes, true);
            if (delayedRefsBytes > 0) {
                rsvs.migrateToDelayedRefs(rsvs.trans, delayedRefsBytes);
                bytes -= delayedRefsBytes;
            }
            return bytes;
        }
        if (flush == Flush.FLUSH_ALL && !rsvs.delayedRefsFull()) {
            long refill = rsvs.delayedRefsRefillBytes();
            if (refill > 0) {
                delayedRefsRsvRefill(fs, refill, flush);
            }
        }
        return 0;
    }

    /**
     * kernel: btrfs_delayed_refs_rsv_refill() (delayed-ref.c, 5.11) past its computation of {@code bytes} — reserve
     * them (FLUSH_ALL: maybe on a ticket), then btrfs_block_rsv_add_bytes(rsv, bytes, 0): reserved grows, the size
     * does not, whatever happened to the reserve while the task slept. With {@link FixSwitch#DELAYED_REFS_REFILL_RACE}
     * (2ed45c0f1879, v6.6) the reserve is looked at again and takes only what it still lacks.
     */
    private static void delayedRefsRsvRefill(FsInfo fs, long bytes, Flush flush) {
        var rsvs = fs.space.rsvs;
        if (reserveMetadataBytes(fs, bytes, flush)) {
            // the woken task waits for a CPU before it takes the reserve's lock (the explorer's delay)
            fs.kernel.hooks().arrive(Hook.DELAYED_REFS_REFILL_BEFORE_ADD);
        }
        if (fs.applied(FixSwitch.DELAYED_REFS_REFILL_RACE)) {
            rsvs.refillDelayedRefsUpToSize(bytes);
        } else {
            rsvs.addBytes(rsvs.delayedRefs, bytes, false);
        }
    }
}
