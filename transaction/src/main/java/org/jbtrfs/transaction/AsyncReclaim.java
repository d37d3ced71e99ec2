package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.space.SpaceManager;
import org.jbtrfs.transaction.space.SpaceReservations;
import org.jbtrfs.workqueue.DelayedWork;
import org.jbtrfs.workqueue.WorkerPool;

/**
 * fs_info->async_reclaim_work (fs/btrfs/space-info.c, 5.11): btrfs_async_reclaim_metadata_space, queued on
 * system_unbound_wq by a metadata reservation that must wait (a ticket) or that found the space_info nearly full. It
 * runs the flush states (flush_space) until every ticket is granted or failed. The work belongs to no mount: only
 * btrfs_remount (going read-only) and close_ctree cancel it ({@link #cancelSync}, cancel_work_sync) — and nothing
 * stops a reservation made after that cancel from queueing it again.
 */
public final class AsyncReclaim {
    private final FsInfo fs;
    private final DelayedWork work;

    AsyncReclaim(FsInfo fs, WorkerPool pool) {
        this.fs = fs;
        this.work = new DelayedWork(fs.kernel, pool.systemUnboundWq(), "async_reclaim_work", this::reclaimMetadataSpace,
            Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING);
        fs.space.reservations.installReclaimWork(new SpaceReservations.ReclaimWork() {
            @Override public void queue() { work.queue(); }
            @Override public boolean busy() { return work.busy(); }
            @Override public boolean preemptAllowed() {
                return !fs.flags.test(FsFlag.CLOSING_START) && !fs.fsState.test(FsState.REMOUNTING);
            }
        }, fs.log());
    }

    /**
     * kernel: cancel_work_sync(&fs_info->async_reclaim_work) — take it off the queue, wait for a running instance. A
     * queued instance is dropped with the tickets that queued it still waiting and space_info->flush still set: no
     * reservation queues the work again ({@link FixSwitch#ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS}).
     */
    public void cancelSync() {
        work.cancelSync();
        if (fs.applied(FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS) && fs.space.reservations.requeueForStrandedTickets()) {
            // proposed: the tickets' tasks are what the caller waits for (the cleaner, by wait_on_bit): serve them
            work.flush();
        }
    }

    /** The work is queued or running (work_busy), for tests and inspection. */
    public boolean busy() { return work.busy(); }

    /** kernel: btrfs_async_reclaim_metadata_space(). */
    private void reclaimMetadataSpace() {
        SpaceReservations r = fs.space.reservations;
        SpaceReservations.Progress p = r.start();
        if (p != null) {
            do {
                fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_BEFORE_FLUSH);
                flushSpace(p.toReclaim(), p.flushState());
                fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_AFTER_FLUSH);
            } while (r.next(p));
        }
        fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_BEFORE_RETURN);
    }

    /**
     * kernel: flush_space() — one flush state; advisory: its errors are not looked at, the tickets tell. The port runs
     * every delayed item and delayed ref where the kernel's _NR states run a number of them (the port has no partial
     * run).
     */
    private void flushSpace(long toReclaim, int state) {
        switch (state) {
            case 1, 2 -> { // FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_ITEMS
                TransHandle h = joinOrNull();
                if (h != null) {
                    try {
                        fs.delayedInodes.runDelayedItems(h); // aborts the transaction itself on error
                    } catch (BtrfsException ignored) {
                        // the abort was reported
                    } finally {
                        Transactions.end(h);
                    }
                }
            }
            case 3, 4 -> { // FLUSH_DELAYED_REFS_NR, FLUSH_DELAYED_REFS
                TransHandle h = joinOrNull();
                if (h != null) {
                    try {
                        ExtentCommit.runDelayedRefs(h);
                    } catch (BtrfsException e) {
                        Transactions.abort(fs, h.transaction(), e); // btrfs_run_delayed_refs aborts on error
                    } finally {
                        Transactions.end(h);
                    }
                }
            }
            case 5, 6 -> fs.delallocShrinker().shrink(toReclaim, state == 6); // FLUSH_DELALLOC(_WAIT): shrink_delalloc
            case 7, 8 -> { // ALLOC_CHUNK, ALLOC_CHUNK_FORCE
                TransHandle h = joinOrNull();
                if (h != null) {
                    try {
                        fs.space.allocMetadataChunk(Mkfs.metadataSize(fs.device.size()), state == 8);
                    } finally {
                        Transactions.end(h); // btrfs_create_pending_block_groups inserts the new chunk's item
                    }
                }
            }
            case 9 -> { // RUN_DELAYED_IPUTS: btrfs_run_delayed_iputs, btrfs_wait_on_delayed_iputs
                fs.delayedIputRunner().run();
                fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
                fs.delayedIputsWaiter().run();
            }
            case 10 -> mayCommitTransaction(); // COMMIT_TRANS
            default -> { }
        }
    }

    /** flush_space's btrfs_join_transaction(fs_info->extent_root); an error (IS_ERR) ends the state. */
    private TransHandle joinOrNull() {
        try {
            return Transactions.join(fs, fs.extentRoot(), "flush_space");
        } catch (BtrfsException e) {
            return null;
        }
    }

    /**
     * kernel: may_commit_transaction() — commit only if it can satisfy the first ticket: the bytes it still needs
     * beyond the free space are pinned, or sit in the delayed, delayed-refs and trans reserves, or the transaction
     * frees block groups (BTRFS_TRANS_HAVE_FREE_BGS).
     */
    private void mayCommitTransaction() {
        SpaceReservations r = fs.space.reservations;
        long needed = r.commitBytesNeeded();
        if (needed == 0) {
            return;
        }
        TransHandle h = joinOrNull();
        if (h == null) {
            return;
        }
        boolean haveFreeBgs;
        synchronized (h.transaction) {
            haveFreeBgs = !h.transaction.deletedBgs.isEmpty();
        }
        if (!r.commitWorthIt(needed, haveFreeBgs)) {
            Transactions.end(h);
            return;
        }
        try {
            Transactions.commit(h);
        } catch (BtrfsException ignored) {
            // flush_space only traces the error
        }
    }

    /** kernel: calc_reclaim_items_nr() — items of btrfs_calc_insert_metadata_size(fs_info, 1) in {@code toReclaim}, at least 1. */
    public static long calcReclaimItemsNr(long toReclaim) {
        long nr = toReclaim / SpaceManager.METADATA_ITEM_SIZE;
        return nr == 0 ? 1 : nr;
    }
}
