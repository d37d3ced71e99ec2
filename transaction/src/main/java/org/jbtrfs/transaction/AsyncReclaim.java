package org.jbtrfs.transaction;

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
            Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING, fs.workqueues().device());
        fs.space.reservations.installReclaimWork(new SpaceReservations.ReclaimWork() {
            @Override public void queue() { work.queue(); }
            @Override public boolean busy() { return work.busy(); }
            @Override public boolean preemptAllowed() { return notClosingNorRemounting(fs); }
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

    /**
     * The tail of need_do_async_reclaim (5.11) and need_preemptive_reclaim (5.12):
     * {@code !btrfs_fs_closing(fs_info) && !test_bit(BTRFS_FS_STATE_REMOUNTING, &fs_info->fs_state)}.
     */
    static boolean notClosingNorRemounting(FsInfo fs) {
        return !fs.flags.test(FsFlag.CLOSING_START) && !fs.fsState.test(FsState.REMOUNTING);
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
                FlushSpace.flushSpace(fs, false, p.toReclaim(), p.flushState());
                fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_AFTER_FLUSH);
            } while (r.next(p));
        }
        fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_BEFORE_RETURN);
    }

    /** kernel: calc_reclaim_items_nr() — items of btrfs_calc_insert_metadata_size(fs_info, 1) in {@code toReclaim}, at least 1. */
    public static long calcReclaimItemsNr(long toReclaim) {
        long nr = toReclaim / SpaceManager.METADATA_ITEM_SIZE;
        return nr == 0 ? 1 : nr;
    }
}
