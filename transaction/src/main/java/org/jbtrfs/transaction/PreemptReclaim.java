package org.jbtrfs.transaction;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.space.SpaceReservations;
import org.jbtrfs.workqueue.DelayedWork;
import org.jbtrfs.workqueue.WorkerPool;

/**
 * fs_info->preempt_reclaim_work (fs/btrfs/space-info.c, 5.12): btrfs_preempt_reclaim_metadata_space, queued on
 * system_unbound_wq by a metadata reservation that fit while need_preemptive_reclaim held. Without tickets to serve,
 * it keeps the metadata space below its threshold by flushing whichever pool is largest — delalloc, the pinned bytes
 * (a forced commit), the delayed items or the delayed refs, each of the last three through a btrfs_join_transaction —
 * until need_preemptive_reclaim is false. close_ctree cancels it with the other two reclaim works; btrfs_remount going
 * read-only cancels only those two ({@link FixSwitch#PREEMPT_RECLAIM_RO_REMOUNT}, proposed). Exists on 5.12's code
 * paths only: on 5.11's the async reclaim work flushes ahead of the tickets itself ({@link AsyncReclaim}).
 */
public final class PreemptReclaim {
    private final FsInfo fs;
    private final DelayedWork work;

    PreemptReclaim(FsInfo fs, WorkerPool pool) {
        this.fs = fs;
        this.work = new DelayedWork(fs.kernel, pool.systemUnboundWq(), "preempt_reclaim_work", this::reclaim, null,
            fs.workqueues().device());
        fs.space.reservations.installPreemptWork(new SpaceReservations.PreemptWork() {
            @Override public void queue() { work.queue(); }
            @Override public boolean busy() { return work.busy(); }
            @Override public boolean allowed() { return AsyncReclaim.notClosingNorRemounting(fs); }
            @Override public long delallocBytes() { return fs.delallocShrinker().delallocBytes(); }
            @Override public long orderedBytes() { return fs.delallocShrinker().orderedBytes(); }
        });
    }

    /** kernel: cancel_work_sync(&fs_info->preempt_reclaim_work) — take it off the queue, wait for a running instance. */
    public void cancelSync() { work.cancelSync(); }

    /** The work is queued or running (work_busy), for tests and inspection. */
    public boolean busy() { return work.busy(); }

    /** kernel: btrfs_preempt_reclaim_metadata_space() (5.12). */
    private void reclaim() {
        SpaceReservations r = fs.space.reservations;
        FsInfo.DelallocShrinker counters = fs.delallocShrinker();
        int loops = 0;
        while (true) {
            SpaceReservations.PreemptStep step = r.preemptStep(counters.delallocBytes(), counters.orderedBytes());
            if (step == null) {
                break;
            }
            loops++;
            // after the test, before flush_space: the join's GFP_NOFS handle allocation may sleep in reclaim here
            fs.kernel.hooks().arrive(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
            FlushSpace.flushSpace(fs, false, step.toReclaim(), step.flushState());
            // cond_resched()
        }
        r.preemptDone(loops);
    }
}
