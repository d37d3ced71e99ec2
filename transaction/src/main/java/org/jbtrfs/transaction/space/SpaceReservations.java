package org.jbtrfs.transaction.space;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.Lifetime;

/**
 * The ticket side of fs/btrfs/space-info.c (5.11): for the METADATA space_info __reserve_bytes, the tickets the async
 * reclaim work flushes for, btrfs_try_granting_tickets, btrfs_can_overcommit, the reclaim-size arithmetic and the
 * give-up path (maybe_fail_all_tickets, steal_from_global_rsv); for the DATA space_info (stop 56) btrfs_reserve_data_bytes
 * with BTRFS_RESERVE_FLUSH_DATA — no overcommit, a ticket and async_data_reclaim_work when the bytes do not fit — and
 * btrfs_async_reclaim_data_space's bookkeeping. Every method runs under the {@link SpaceManager}'s lock
 * (space_info->lock); the task waiting for its ticket sleeps on the {@link Ticket} (transaction module,
 * {@code SpaceReservation}), and the works' flush states are ported there too ({@code AsyncReclaim},
 * {@code AsyncDataReclaim}).
 *
 * <p>Not modelled: the priority tickets (FLUSH_LIMIT, FLUSH_EVICT, FLUSH_FREE_SPACE_INODE: the port has no caller — its
 * v1 cache inodes reserve no data), the qgroup data reservations, {@code total_bytes_pinned} apart from
 * {@code bytes_pinned} (the port pins when the delayed ref runs), a profile factor (the port's metadata is single:
 * factor 1).
 */
public final class SpaceReservations {
    /** SZ_1M. */
    private static final long MIB = 1L << 20;

    /** The async reclaim work as __reserve_bytes sees it (fs_info->async_reclaim_work, system_unbound_wq). */
    public interface ReclaimWork {
        /** kernel: queue_work(system_unbound_wq, &fs_info->async_reclaim_work). */
        void queue();

        /** kernel: work_busy(&fs_info->async_reclaim_work) — queued or running. */
        boolean busy();

        /** need_do_async_reclaim's tail: {@code !btrfs_fs_closing(fs_info) && !test_bit(BTRFS_FS_STATE_REMOUNTING)}. */
        boolean preemptAllowed();
    }

    /**
     * 5.12's preemptive flushing (space-info.c): fs_info->preempt_reclaim_work (btrfs_preempt_reclaim_metadata_space), a
     * work of its own that a metadata reservation which fit queues while need_preemptive_reclaim holds — where 5.11
     * queued the async reclaim work itself (need_do_async_reclaim). Installed on 5.12's code paths only.
     */
    public interface PreemptWork {
        /** kernel: queue_work(system_unbound_wq, &fs_info->preempt_reclaim_work). */
        void queue();

        /** kernel: work_busy(&fs_info->preempt_reclaim_work). */
        boolean busy();

        /** need_preemptive_reclaim's tail: {@code !btrfs_fs_closing(fs_info) && !test_bit(BTRFS_FS_STATE_REMOUNTING)}. */
        boolean allowed();

        /** percpu_counter_sum_positive(&fs_info->delalloc_bytes): read without the space_info's lock, as in the kernel. */
        long delallocBytes();

        /** percpu_counter_sum_positive(&fs_info->ordered_bytes). */
        long orderedBytes();
    }

    private static final ReclaimWork NONE = new ReclaimWork() {
        @Override public void queue() { }
        @Override public boolean busy() { return false; }
        @Override public boolean preemptAllowed() { return false; }
    };

    private final SpaceManager space;
    private final SpaceInfo meta;
    private final SpaceInfo data;
    private final BlockRsvs rsvs;
    private final int onlineCpus = Runtime.getRuntime().availableProcessors();
    private ReclaimWork work = NONE;
    /** 5.12's preemptive work; null on 5.11's code paths. */
    private PreemptWork preempt;
    /** fs_info->async_data_reclaim_work as __reserve_bytes sees it (no preemptive reclaim for data). */
    private ReclaimWork dataWork = NONE;
    /** btrfs_has_fs_error() as the upstream fix {@code DATA_RECLAIM_ABORTED_LOOP} tests it (never true with it reverted). */
    private java.util.function.BooleanSupplier aborted = () -> false;

    SpaceReservations(SpaceManager space, SpaceInfo meta, SpaceInfo data, BlockRsvs rsvs) {
        this.space = space;
        this.meta = meta;
        this.data = data;
        this.rsvs = rsvs;
    }

    /**
     * The space_infos' lifetime (freed by btrfs_free_block_groups at the end of close_ctree): the reclaim work touches
     * them after it was cancelled only as a use-after-free.
     */
    private volatile Lifetime lifetime;

    /** kernel: btrfs_init_async_reclaim_work() — open_ctree names the work __reserve_bytes queues. */
    public void installReclaimWork(ReclaimWork w, KernelLog log) {
        synchronized (space) {
            work = w == null ? NONE : w;
            lifetime = new Lifetime(log, "struct btrfs_space_info");
        }
    }

    /** btrfs_init_async_reclaim_work()'s third INIT_WORK (5.12): preempt_reclaim_work; from now on 5.12's paths. */
    public void installPreemptWork(PreemptWork w) {
        synchronized (space) {
            preempt = w;
        }
    }

    /** btrfs_init_async_reclaim_work()'s second INIT_WORK: the work a data reservation that must wait queues. */
    public void installDataReclaimWork(ReclaimWork w) {
        synchronized (space) {
            dataWork = w == null ? NONE : w;
        }
    }

    /**
     * The abort test of the reclaim loops and maybe_fail_all_tickets (0e24f6d84b4c, v5.16): the filesystem has an error
     * and the fix is applied.
     */
    public void installAbortedTest(java.util.function.BooleanSupplier test) {
        synchronized (space) {
            aborted = test == null ? () -> false : test;
        }
    }

    /** btrfs_free_block_groups() frees the space_infos (poisons them for the reclaim work). */
    void freeSpaceInfos() {
        Lifetime l = lifetime;
        if (l != null && !l.isFreed()) {
            l.free();
        }
    }

    private void use(String function) {
        Lifetime l = lifetime;
        if (l != null) {
            l.use(function);
        }
    }

    // ---- reserving ---------------------------------------------------------------------------------------------------

    /**
     * kernel: __reserve_bytes() up to its wait — take {@code bytes} of bytes_may_use if they fit (or may be overcommitted)
     * and no ticket waits; maybe queue the reclaim work early (need_do_async_reclaim). Otherwise a FLUSH_ALL(_STEAL)
     * reservation queues a ticket, kicks the reclaim work if it is not flushing yet, and returns the ticket to wait on.
     *
     * @return null when reserved, else the ticket
     * @throws BtrfsException ENOSPC for {@link Flush#NO_FLUSH} when it does not fit
     */
    public Ticket reserve(long bytes, Flush flush) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes must be positive: " + bytes);
        }
        Ticket t;
        PreemptWork p;
        boolean preemptMaybe = false;
        synchronized (space) {
            p = preempt;
            long used = meta.usedWithMayUse();
            boolean pendingTickets = !meta.tickets.isEmpty();
            if (!pendingTickets && (used + bytes <= meta.totalBytes || canOvercommit(bytes, flush))) {
                meta.bytesMayUse += bytes;
                if (p != null) {
                    preemptMaybe = preemptMayBeNeeded(p);
                } else if (needDoAsyncReclaim(used + bytes) && !work.busy()) {
                    work.queue(); // "preempt" (5.11)
                }
                t = null;
            } else {
                if (flush == Flush.NO_FLUSH) {
                    throw new BtrfsException(Errno.ENOSPC, "cannot reserve " + bytes + " bytes of metadata without flushing");
                }
                t = new Ticket(meta, bytes, flush == Flush.FLUSH_ALL_STEAL);
                meta.reclaimSize += bytes;
                meta.tickets.addLast(t);
                if (!meta.flush) {
                    meta.flush = true;
                    work.queue(); // "enospc"
                }
            }
        }
        if (t != null && p != null) {
            maybeClampPreempt(p);
        } else if (preemptMaybe) {
            maybeQueuePreempt(p);
        }
        return t;
    }

    /**
     * 5.12 __reserve_bytes' "preempt" queueing: need_preemptive_reclaim, then queue_work unless work_busy. The
     * percpu counters are summed outside the lock (the kernel sums them under it, but they are per-cpu and racy
     * anyway; here they are the inodes' own, whose locks may be held around a reservation).
     */
    private void maybeQueuePreempt(PreemptWork p) {
        long delalloc = p.delallocBytes();
        long ordered = p.orderedBytes();
        synchronized (space) {
            if (needPreemptiveReclaim(p, delalloc, ordered) && !p.busy()) {
                p.queue();
            }
        }
    }

    /**
     * kernel: maybe_clamp_preempt() (5.12) — a reservation had to queue a ticket, so the preemptive flushing did not
     * keep up: while delalloc outweighs the ordered extents, flush earlier (clamp + 1, at most 8).
     */
    private void maybeClampPreempt(PreemptWork p) {
        long ordered = p.orderedBytes();
        long delalloc = p.delallocBytes();
        if (ordered < delalloc) {
            synchronized (space) {
                meta.clamp = Math.min(meta.clamp + 1, 8);
            }
        }
    }

    /**
     * kernel: need_preemptive_reclaim() (5.12; caller holds the lock): not when "just plain full" (used and reserved
     * past 98 %) nor while tickets wait; else when the pinned bytes plus the reclaimable reservations — the delayed
     * and delayed-refs reserves when the ordered extents outweigh delalloc, every bytes_may_use otherwise — reach the
     * free space (with what overcommit would add) shifted right by the clamp; never while closing or remounting.
     */
    private boolean needPreemptiveReclaim(PreemptWork p, long delalloc, long ordered) {
        return preemptPossible(p) && meta.bytesPinned
            + (ordered >= delalloc ? rsvs.delayedRefs.reserved + rsvs.delayed.reserved : meta.bytesMayUse) >= preemptThresh();
    }

    /**
     * {@link #needPreemptiveReclaim} without the percpu counters, with the larger of its two measures of use: false
     * means need_preemptive_reclaim is false whatever they are.
     */
    private boolean preemptMayBeNeeded(PreemptWork p) {
        return preemptPossible(p) && meta.bytesPinned
            + Math.max(rsvs.delayedRefs.reserved + rsvs.delayed.reserved, meta.bytesMayUse) >= preemptThresh();
    }

    /** need_preemptive_reclaim's first tests: not "just plain full" (98 %), no ticket waiting, not closing or remounting. */
    private boolean preemptPossible(PreemptWork p) {
        return meta.bytesUsed + meta.bytesReserved < meta.totalBytes * 98 / 100 && meta.reclaimSize == 0 && p.allowed();
    }

    /** need_preemptive_reclaim's threshold: available free space (FLUSH_ALL) plus the unallocated bytes, >> clamp. */
    private long preemptThresh() {
        long thresh = calcAvailableFreeSpace(Flush.FLUSH_ALL)
            + (meta.totalBytes - meta.bytesUsed - meta.bytesReserved - meta.bytesReadonly);
        return thresh >> meta.clamp;
    }

    /** One round of btrfs_preempt_reclaim_metadata_space's loop: the flush state and how much it should reclaim. */
    public record PreemptStep(int flushState, long toReclaim) { }

    /**
     * btrfs_preempt_reclaim_metadata_space()'s loop test and choice (5.12): null once need_preemptive_reclaim is false;
     * else flush whichever pool is largest — delalloc (FLUSH_DELALLOC) when bytes_may_use beyond the block reserves
     * exceeds those reserves, the pinned bytes (FORCE_COMMIT_TRANS) when they exceed the delayed and delayed-refs
     * reserves, else the larger of those two (FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_REFS_NR) — a quarter of it, at
     * least one item. {@code delalloc} and {@code ordered}: the percpu counters, summed by the caller.
     */
    public PreemptStep preemptStep(long delalloc, long ordered) {
        synchronized (space) {
            PreemptWork p = preempt;
            if (p == null || !needPreemptiveReclaim(p, delalloc, ordered)) {
                return null;
            }
            long global = rsvs.global.reserved;
            long blockRsvSize = global + rsvs.delayed.reserved + rsvs.delayedRefs.reserved + rsvs.trans.reserved;
            long delallocSize = blockRsvSize < meta.bytesMayUse ? meta.bytesMayUse - blockRsvSize : 0;
            blockRsvSize -= global;
            int state;
            long toReclaim;
            if (delallocSize > blockRsvSize) {
                toReclaim = delallocSize;
                state = FLUSH_DELALLOC;
            } else if (meta.bytesPinned > rsvs.delayed.reserved + rsvs.delayedRefs.reserved) {
                toReclaim = meta.bytesPinned;
                state = FORCE_COMMIT_TRANS;
            } else if (rsvs.delayed.reserved > rsvs.delayedRefs.reserved) {
                toReclaim = rsvs.delayed.reserved;
                state = FLUSH_DELAYED_ITEMS_NR;
            } else {
                toReclaim = rsvs.delayedRefs.reserved;
                state = FLUSH_DELAYED_REFS_NR;
            }
            toReclaim >>= 2;
            return new PreemptStep(state, toReclaim == 0 ? SpaceManager.METADATA_ITEM_SIZE : toReclaim);
        }
    }

    /** The preemptive work's end (5.12): it went round once only and no ticket waits — back off the clamp by one. */
    public void preemptDone(int loops) {
        synchronized (space) {
            if (loops == 1 && meta.reclaimSize == 0) {
                meta.clamp = Math.max(1, meta.clamp - 1);
            }
        }
    }

    /** space_info->clamp of the metadata space_info (5.12's preemptive flushing), for tests. */
    public int preemptClamp() {
        synchronized (space) {
            return meta.clamp;
        }
    }

    /**
     * kernel: handle_reserve_ticket() after wait_reserve_ticket() — a ticket still holding bytes or failed leaves the
     * list (the tickets behind it may fit now) and the reservation fails with its error, -ENOSPC if none.
     */
    public void finish(Ticket t) {
        synchronized (space) {
            Errno err = t.error;
            if (t.bytes != 0 || err != null) {
                if (removeTicket(t.owner, t)) {
                    tryGrantingTickets(t.owner);
                }
                Errno e = err != null ? err : Errno.ENOSPC;
                throw new BtrfsException(e, "no " + (t.owner == data ? "data" : "metadata")
                    + " space for a reservation the async reclaim could not satisfy");
            }
        }
    }

    /** kernel: btrfs_space_info_free_bytes_may_use() — give bytes back; a waiting ticket may fit now. */
    void freeBytesMayUse(long bytes) {
        meta.updateBytesMayUse(-bytes);
        tryGrantingTickets();
    }

    /** kernel: btrfs_try_granting_tickets() (the normal list; caller holds the lock) — oldest first, while they fit. */
    void tryGrantingTickets() { tryGrantingTickets(meta); }

    /**
     * btrfs_try_granting_tickets() of either space_info: a data ticket fits only under total_bytes (btrfs_can_overcommit
     * refuses data), a metadata one may overcommit.
     */
    void tryGrantingTickets(SpaceInfo si) {
        while (!si.tickets.isEmpty()) {
            Ticket t = si.tickets.peekFirst();
            long used = si.usedWithMayUse();
            if (used + t.bytes <= si.totalBytes || si == meta && canOvercommit(t.bytes, Flush.FLUSH_ALL)) {
                si.bytesMayUse += t.bytes;
                removeTicket(si, t);
                t.bytes = 0;
                si.ticketsId++;
                t.wake();
            } else {
                break;
            }
        }
    }

    /** kernel: remove_ticket() — whether it was still on the list (!list_empty(&ticket->list)). */
    private static boolean removeTicket(SpaceInfo si, Ticket t) {
        if (!si.tickets.remove(t)) {
            return false;
        }
        si.reclaimSize -= t.bytes;
        return true;
    }

    // ---- data --------------------------------------------------------------------------------------------------------

    /**
     * kernel: btrfs_reserve_data_bytes(fs_info, bytes, BTRFS_RESERVE_FLUSH_DATA) → __reserve_bytes() up to its wait — the
     * bytes join the DATA space_info's bytes_may_use if they fit under total_bytes and no ticket waits (data never
     * overcommits); otherwise a ticket, and async_data_reclaim_work queued if space_info->flush was clear. There is no
     * preemptive data reclaim.
     *
     * @return null when reserved, else the ticket to wait on ({@link #finish} after it)
     */
    public Ticket reserveData(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes must be positive: " + bytes);
        }
        synchronized (space) {
            if (data.tickets.isEmpty() && data.usedWithMayUse() + bytes <= data.totalBytes) {
                data.bytesMayUse += bytes;
                return null;
            }
            Ticket t = new Ticket(data, bytes, false);
            data.reclaimSize += bytes;
            data.tickets.addLast(t);
            if (!data.flush) {
                data.flush = true;
                dataWork.queue(); // "enospc"
            }
            return t;
        }
    }

    /**
     * kernel: btrfs_free_reserved_data_space_noquota() → btrfs_space_info_free_bytes_may_use() — a data reservation given
     * back (a write that failed after reserving, a delalloc range invalidated or re-dirtied: EXTENT_CLEAR_DATA_RESV); a
     * waiting data ticket may fit now.
     */
    public void freeDataBytesMayUse(long bytes) {
        if (bytes <= 0) {
            return;
        }
        synchronized (space) {
            data.updateBytesMayUse(-bytes);
            tryGrantingTickets(data);
        }
    }

    /**
     * btrfs_add_reserved_bytes()'s {@code btrfs_space_info_update_bytes_may_use(-ram_bytes)} for a delalloc extent (caller
     * holds the lock): the reservation becomes bytes_reserved; no ticket is looked at.
     */
    void dataMayUseToReserved(long ramBytes) {
        data.updateBytesMayUse(-ramBytes);
    }

    /** btrfs_async_reclaim_data_space()'s state: last_tickets_id and flush_state (an index into data_flush_states). */
    public static final class DataProgress {
        long lastTicketsId;
        int flushState;

        /** The index into data_flush_states to run next. */
        public int flushState() { return flushState; }
    }

    /**
     * btrfs_async_reclaim_data_space()'s head: no ticket clears space_info->flush and ends the work (null); else the
     * progress of the loops.
     */
    public DataProgress startData() {
        use("btrfs_async_reclaim_data_space");
        synchronized (space) {
            if (data.tickets.isEmpty()) {
                data.flush = false;
                return null;
            }
            DataProgress p = new DataProgress();
            p.lastTicketsId = data.ticketsId;
            return p;
        }
    }

    /** The data space_info's {@code full}: a chunk allocation failed for want of device space since the last new group. */
    public boolean dataFull() {
        synchronized (space) {
            return data.full;
        }
    }

    /**
     * btrfs_async_reclaim_data_space()'s first loop, after one forced chunk allocation: no ticket left clears the flag and
     * ends the work (false); else the tickets' id is remembered.
     */
    public boolean afterDataChunk(DataProgress p) {
        use("btrfs_async_reclaim_data_space");
        synchronized (space) {
            if (data.tickets.isEmpty()) {
                data.flush = false;
                return false;
            }
            if (aborted.getAsBoolean()) {
                return abortedFs(); // "something happened, fail everything and bail"
            }
            p.lastTicketsId = data.ticketsId;
            return true;
        }
    }

    /** btrfs_async_reclaim_data_space's aborted_fs label: every ticket failed, the flag cleared; the work returns (false). */
    private boolean abortedFs() {
        maybeFailAllTickets(data);
        data.flush = false;
        return false;
    }

    /**
     * btrfs_async_reclaim_data_space()'s second loop, after one state of data_flush_states ({@code states} of them): no
     * ticket left ends the work (flag cleared); progress starts the states over, none moves on; past the last state a
     * full space_info fails the tickets (maybe_fail_all_tickets; none failed clears the flag and ends the work), a not
     * full one starts over. Returns false when the work returns.
     */
    public boolean nextData(DataProgress p, int states) {
        use("btrfs_async_reclaim_data_space");
        synchronized (space) {
            if (data.tickets.isEmpty()) {
                data.flush = false;
                return false;
            }
            if (p.lastTicketsId == data.ticketsId) {
                p.flushState++;
            } else {
                p.lastTicketsId = data.ticketsId;
                p.flushState = 0;
            }
            if (p.flushState >= states) {
                if (data.full) {
                    if (maybeFailAllTickets(data)) {
                        p.flushState = 0;
                    } else {
                        data.flush = false;
                    }
                } else {
                    p.flushState = 0;
                }
                if (aborted.getAsBoolean()) {
                    return abortedFs();
                }
            }
            return p.flushState < states;
        }
    }

    /** may_commit_transaction()'s first half for the DATA space_info (see {@link #commitBytesNeeded}). */
    public long dataCommitBytesNeeded() {
        use("may_commit_transaction");
        synchronized (space) {
            return bytesNeeded(data);
        }
    }

    /**
     * may_commit_transaction()'s test for DATA: only block groups the transaction frees or enough pinned data bytes make a
     * commit worth it — the delayed reserves are metadata ("reclaiming this space won't recover any space").
     */
    public boolean dataCommitWorthIt(long bytesNeeded, boolean haveFreeBgs) {
        synchronized (space) {
            return haveFreeBgs || data.bytesPinned >= bytesNeeded;
        }
    }

    /** Data tickets waiting now, for shrink_delalloc's loop of the data work, inspection and tests. */
    public int dataTicketsWaiting() {
        synchronized (space) {
            return data.tickets.size();
        }
    }

    /** The DATA space_info's bytes_may_use (tests and inspection). */
    public long dataMayUse() {
        synchronized (space) {
            return data.bytesMayUse;
        }
    }

    // ---- overcommit and the reclaim size -----------------------------------------------------------------------------

    /** kernel: calc_available_free_space() — unallocated device space, 1/8 of it for FLUSH_ALL, else 1/2. */
    private long calcAvailableFreeSpace(Flush flush) {
        long avail = space.unallocatedBytes();
        return flush == Flush.FLUSH_ALL ? avail >> 3 : avail >> 1;
    }

    /** kernel: btrfs_can_overcommit() of the METADATA space_info. */
    private boolean canOvercommit(long bytes, Flush flush) {
        return canOvercommit(meta, bytes, flush);
    }

    /**
     * kernel: btrfs_can_overcommit() — never for data; else what is used or promised plus {@code bytes} below the
     * space_info's total and the share of unallocated device space {@code flush} allows (caller holds the lock).
     */
    boolean canOvercommit(SpaceInfo si, long bytes, Flush flush) {
        if (si.type == BlockGroupType.DATA) {
            return false;
        }
        return si.usedWithMayUse() + bytes < si.totalBytes + calcAvailableFreeSpace(flush);
    }

    /** kernel: btrfs_calc_reclaim_metadata_size() (caller holds the lock). */
    long calcReclaimMetadataSize() {
        long avail = calcAvailableFreeSpace(Flush.FLUSH_ALL);
        long used = meta.usedWithMayUse();
        long toReclaim = meta.reclaimSize;
        if (meta.totalBytes + avail < used) {
            toReclaim += used - (meta.totalBytes + avail);
        }
        if (toReclaim != 0 || preempt != null) {
            return toReclaim; // 5.12: the tickets' bytes only — the preemptive work flushes ahead of them
        }
        toReclaim = Math.min(onlineCpus * MIB, 16 * MIB);
        if (canOvercommit(toReclaim, Flush.FLUSH_ALL)) {
            return 0;
        }
        used = meta.usedWithMayUse();
        long expected = canOvercommit(MIB, Flush.FLUSH_ALL) ? meta.totalBytes * 95 / 100 : meta.totalBytes * 90 / 100;
        toReclaim = used > expected ? used - expected : 0;
        return Math.min(toReclaim, meta.bytesMayUse + meta.bytesReserved);
    }

    /** kernel: need_do_async_reclaim() (caller holds the lock). */
    private boolean needDoAsyncReclaim(long used) {
        long thresh = meta.totalBytes * 98 / 100;
        if (meta.bytesUsed + meta.bytesReserved >= thresh) {
            return false; // "just plain full": async reclaim just slows us down
        }
        if (calcReclaimMetadataSize() == 0) {
            return false;
        }
        return used >= thresh && work.preemptAllowed();
    }

    // ---- the reclaim work's view -------------------------------------------------------------------------------------

    /**
     * The async reclaim work's progress through its flush states (btrfs_async_reclaim_metadata_space's locals), advanced
     * under the lock by {@link #start} and {@link #next}.
     */
    public static final class Progress {
        long toReclaim;
        long lastTicketsId;
        int flushState;
        int commitCycles;

        /** The flush state to run next (enum btrfs_flush_state). */
        public int flushState() { return flushState; }

        /** The bytes the work is after (to_reclaim). */
        public long toReclaim() { return toReclaim; }
    }

    /** kernel: enum btrfs_flush_state — FLUSH_DELAYED_ITEMS_NR = 1 … COMMIT_TRANS = 10, 5.12's FORCE_COMMIT_TRANS = 11. */
    public static final int FLUSH_DELAYED_ITEMS_NR = 1;
    public static final int FLUSH_DELAYED_REFS_NR = 3;
    public static final int FLUSH_DELALLOC = 5;
    public static final int ALLOC_CHUNK_FORCE = 8;
    public static final int COMMIT_TRANS = 10;
    public static final int FORCE_COMMIT_TRANS = 11;

    /**
     * Proposed ({@code ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS}), right after a cancel_work_sync of the reclaim work: with
     * no ticket waiting, clear space_info->flush (a dropped work set it for tickets since granted: left set, no later
     * ticket would queue the work); with tickets waiting, keep it set and queue the work for them again. Returns whether
     * it queued the work (the caller then waits for it).
     */
    public boolean requeueForStrandedTickets() {
        return requeueForStrandedTickets(meta, work);
    }

    /** {@link #requeueForStrandedTickets()} for the data space_info and async_data_reclaim_work. */
    public boolean requeueForStrandedDataTickets() {
        return requeueForStrandedTickets(data, dataWork);
    }

    private boolean requeueForStrandedTickets(SpaceInfo si, ReclaimWork w) {
        use("btrfs_cancel_async_reclaim");
        synchronized (space) {
            if (si.tickets.isEmpty()) {
                si.flush = false;
                return false;
            }
            si.flush = true;
            w.queue();
            return true;
        }
    }

    /**
     * btrfs_async_reclaim_metadata_space()'s head: nothing to reclaim clears space_info->flush and ends the work
     * (null); else the first flush state.
     */
    public Progress start() {
        use("btrfs_async_reclaim_metadata_space");
        synchronized (space) {
            long toReclaim = calcReclaimMetadataSize();
            if (toReclaim == 0) {
                meta.flush = false;
                return null;
            }
            Progress p = new Progress();
            p.toReclaim = toReclaim;
            p.lastTicketsId = meta.ticketsId;
            p.flushState = FLUSH_DELAYED_ITEMS_NR;
            return p;
        }
    }

    /**
     * btrfs_async_reclaim_metadata_space()'s loop body after one flush_space(): no ticket left ends the work (flush
     * cleared); progress restarts the states; no progress moves on, past ALLOC_CHUNK_FORCE on the first round, and after
     * COMMIT_TRANS round again — after the third round failing the tickets it cannot satisfy. Returns false when the
     * work returns.
     */
    public boolean next(Progress p) {
        use("btrfs_async_reclaim_metadata_space");
        synchronized (space) {
            if (meta.tickets.isEmpty()) {
                meta.flush = false;
                return false;
            }
            p.toReclaim = calcReclaimMetadataSize();
            if (p.lastTicketsId == meta.ticketsId) {
                p.flushState++;
            } else {
                p.lastTicketsId = meta.ticketsId;
                p.flushState = FLUSH_DELAYED_ITEMS_NR;
                if (p.commitCycles > 0) {
                    p.commitCycles--;
                }
            }
            if (p.flushState == ALLOC_CHUNK_FORCE && p.commitCycles == 0) {
                p.flushState++;
            }
            if (p.flushState > COMMIT_TRANS) {
                p.commitCycles++;
                if (p.commitCycles > 2) {
                    if (maybeFailAllTickets(meta)) {
                        p.flushState = FLUSH_DELAYED_ITEMS_NR;
                        p.commitCycles--;
                    } else {
                        meta.flush = false;
                    }
                } else {
                    p.flushState = FLUSH_DELAYED_ITEMS_NR;
                }
            }
            return p.flushState <= COMMIT_TRANS;
        }
    }

    /**
     * kernel: maybe_fail_all_tickets() (caller holds the lock); data tickets never steal. 5.11's first_ticket_bytes rule: a
     * ticket smaller than the first stops the failing (true: the flusher goes round again, a commit may satisfy it). Once
     * aborted (with {@code DATA_RECLAIM_ABORTED_LOOP} applied) every ticket fails with EIO: no steal, no granting, and no
     * first_ticket_bytes rule — the upstream fix (v5.16) patched a maybe_fail_all_tickets that had lost it, and its
     * aborted_fs label ignores the answer and clears the flag, so a ticket the rule kept would wait under a clear flag
     * with no work to serve it (stop 58: the port had kept the rule under the fix; the explorer's class dbad4537).
     */
    private boolean maybeFailAllTickets(SpaceInfo si) {
        long ticketsId = si.ticketsId;
        long firstTicketBytes = 0;
        boolean abort = aborted.getAsBoolean();
        while (!si.tickets.isEmpty() && ticketsId == si.ticketsId) {
            Ticket t = si.tickets.peekFirst();
            if (!abort && t.steal && stealFromGlobalRsv(t)) {
                return true;
            }
            if (!abort) { // once aborted, the later fix's "simply fail everything"
                if (firstTicketBytes == 0) {
                    firstTicketBytes = t.bytes;
                } else if (firstTicketBytes > t.bytes) {
                    return true;
                }
            }
            removeTicket(si, t);
            t.error = abort ? Errno.EIO : Errno.ENOSPC;
            t.wake();
            if (!abort) {
                tryGrantingTickets(si);
            }
        }
        return ticketsId != si.ticketsId;
    }

    /** kernel: steal_from_global_rsv() — keep a tenth of the global reserve, hand the rest to the ticket. */
    private boolean stealFromGlobalRsv(Ticket t) {
        BlockRsv global = rsvs.global;
        long minBytes = global.size / 10;
        if (global.reserved < minBytes + t.bytes) {
            return false;
        }
        global.reserved -= t.bytes;
        removeTicket(meta, t);
        t.bytes = 0;
        meta.ticketsId++;
        t.wake();
        if (global.reserved < global.size) {
            global.full = false;
        }
        return true;
    }

    /**
     * may_commit_transaction()'s first half: the bytes the first ticket still needs beyond the free space (0: nothing
     * to commit for).
     */
    public long commitBytesNeeded() {
        use("may_commit_transaction");
        synchronized (space) {
            return bytesNeeded(meta);
        }
    }

    private static long bytesNeeded(SpaceInfo si) {
        long used = si.usedWithMayUse();
        long curFree = used < si.totalBytes ? si.totalBytes - used : 0;
        Ticket t = si.tickets.peekFirst();
        long needed = t != null ? t.bytes : 0;
        return needed > curFree ? needed - curFree : 0;
    }

    /**
     * may_commit_transaction()'s test under a joined handle: a commit is worth it if the transaction frees block groups,
     * if enough is pinned, or if enough sits in the delayed, delayed-refs and trans reserves plus what is pinned.
     */
    public boolean commitWorthIt(long bytesNeeded, boolean haveFreeBgs) {
        synchronized (space) {
            if (haveFreeBgs || meta.bytesPinned >= bytesNeeded) {
                return true;
            }
            long reclaim = rsvs.delayed.reserved + rsvs.delayedRefs.reserved + rsvs.trans.reserved;
            if (reclaim >= bytesNeeded) {
                return true;
            }
            return meta.bytesPinned >= bytesNeeded - reclaim;
        }
    }

    /**
     * What a reservation with {@code flush} may still take without a ticket: total_bytes plus the overcommit allowance (an
     * eighth of the unallocated space for FLUSH_ALL, half of it for the others), less every byte counted (inspection and
     * tests).
     */
    public long room(Flush flush) {
        synchronized (space) {
            return meta.totalBytes + calcAvailableFreeSpace(flush) - meta.usedWithMayUse();
        }
    }

    /**
     * The metadata space_info's tickets and flag for a hang report, with whether the reclaim work is queued or running
     * ({@code workBusy}): tickets waiting, the flag set and the work idle is a ticket nothing will flush for.
     */
    public String debugState(boolean workBusy) {
        synchronized (space) {
            return "metadata tickets " + meta.tickets.size() + ", flush " + meta.flush + ", reclaim work " + (workBusy ? "busy" : "idle");
        }
    }

    /** {@link #debugState} of the data space_info and async_data_reclaim_work. */
    public String dataDebugState(boolean workBusy) {
        synchronized (space) {
            return "data tickets " + data.tickets.size() + ", flush " + data.flush + ", data reclaim work " + (workBusy ? "busy" : "idle");
        }
    }

    /** Tickets waiting now (space_info->tickets), for inspection and tests. */
    public int ticketsWaiting() {
        synchronized (space) {
            return meta.tickets.size();
        }
    }

    /** space_info->flush: the reclaim work is queued or running for the tickets (inspection and tests). */
    public boolean flushing() {
        synchronized (space) {
            return meta.flush;
        }
    }
}
