package org.jbtrfs.transaction;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.SpinWatch;
import org.jbtrfs.transaction.space.SpaceReservations;
import org.jbtrfs.workqueue.DelayedWork;
import org.jbtrfs.workqueue.WorkerPool;

/**
 * fs_info->async_data_reclaim_work (fs/btrfs/space-info.c, 5.11): btrfs_async_reclaim_data_space, queued on
 * system_unbound_wq by a data reservation that must wait (btrfs_reserve_data_bytes with BTRFS_RESERVE_FLUSH_DATA: a
 * buffered write, autodefrag's re-dirtied cluster). It first allocates data chunks (ALLOC_CHUNK_FORCE) until the tickets
 * are served or the device has no room (space_info->full), then runs data_flush_states — FLUSH_DELALLOC_WAIT,
 * RUN_DELAYED_IPUTS, FLUSH_DELAYED_REFS, COMMIT_TRANS, ALLOC_CHUNK_FORCE — until every ticket is granted or, full,
 * failed. Like the metadata work it belongs to no mount: btrfs_remount (going read-only) and close_ctree cancel it right
 * after the metadata one ({@link #cancelSync}). Stop 56. Once the filesystem aborted, 5.11's loops never end: no chunk can
 * be allocated, so the space_info never becomes full ({@link FixSwitch#DATA_RECLAIM_ABORTED_LOOP}, later upstream).
 */
public final class AsyncDataReclaim {
    /** kernel: data_flush_states[] (5.11), as enum btrfs_flush_state values. */
    private static final int[] DATA_FLUSH_STATES = {6, 9, 4, 10, 8};
    /** ALLOC_CHUNK_FORCE. */
    private static final int ALLOC_CHUNK_FORCE = 8;

    private final FsInfo fs;
    private final DelayedWork work;

    AsyncDataReclaim(FsInfo fs, WorkerPool pool) {
        this.fs = fs;
        this.work = new DelayedWork(fs.kernel, pool.systemUnboundWq(), "async_data_reclaim_work", this::reclaimDataSpace,
            Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING, fs.workqueues().device());
        fs.space.reservations.installDataReclaimWork(new SpaceReservations.ReclaimWork() {
            @Override public void queue() { work.queue(); }
            @Override public boolean busy() { return work.busy(); }
            @Override public boolean preemptAllowed() { return false; }
        });
        // btrfs_has_fs_error() in the reclaim loops: the later upstream fix (v5.16); 5.11 has no such test
        fs.space.reservations.installAbortedTest(
            () -> fs.applied(FixSwitch.DATA_RECLAIM_ABORTED_LOOP) && fs.fsState.test(FsState.ERROR));
    }

    /**
     * kernel: cancel_work_sync(&fs_info->async_data_reclaim_work) — as the metadata work's cancel
     * ({@link AsyncReclaim#cancelSync}): a queued instance is dropped with its data tickets waiting under a set
     * space_info->flush, unless {@link FixSwitch#ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS} (proposed) serves them.
     */
    public void cancelSync() {
        work.cancelSync();
        if (fs.applied(FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS) && fs.space.reservations.requeueForStrandedDataTickets()) {
            work.flush();
        }
    }

    /** The work is queued or running (work_busy), for tests and inspection. */
    public boolean busy() { return work.busy(); }

    /** kernel: btrfs_async_reclaim_data_space(). */
    private void reclaimDataSpace() {
        SpaceReservations r = fs.space.reservations;
        SpaceReservations.DataProgress p = r.startData();
        SpinWatch spin = new SpinWatch(fs.kernel, "btrfs_join_transaction <- flush_space <- btrfs_async_reclaim_data_space");
        if (p != null && chunksFirst(r, p, spin)) {
            do {
                flush(DATA_FLUSH_STATES[p.flushState()]);
                turnIfAborted(spin);
            } while (r.nextData(p, DATA_FLUSH_STATES.length));
        }
        fs.kernel.hooks().arrive(Hook.ASYNC_DATA_RECLAIM_BEFORE_RETURN);
    }

    /** The first loop: force a chunk while the space_info is not full; false when no ticket is left (the work returns). */
    private boolean chunksFirst(SpaceReservations r, SpaceReservations.DataProgress p, SpinWatch spin) {
        while (!r.dataFull()) {
            flush(ALLOC_CHUNK_FORCE);
            if (!r.afterDataChunk(p)) {
                return false;
            }
            turnIfAborted(spin);
        }
        return true;
    }

    /**
     * On an aborted filesystem every flush state returns at once (its join refused): the loop no longer sleeps, and the
     * kernel's soft-lockup watchdog would see the kworker (the upstream commit's report); the port's spinner reports it
     * the same way and unwinds once the module panicked. A loop that sleeps in its states is not a soft lockup.
     */
    private void turnIfAborted(SpinWatch spin) {
        if (fs.fsState.test(FsState.ERROR)) {
            spin.turn();
        }
    }

    private void flush(int state) {
        fs.kernel.hooks().arrive(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH);
        FlushSpace.flushSpace(fs, true, Long.MAX_VALUE, state);
    }
}
