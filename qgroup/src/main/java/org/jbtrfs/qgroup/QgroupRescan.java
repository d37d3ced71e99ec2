package org.jbtrfs.qgroup;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.transaction.Backref;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.Item;
import org.jbtrfs.transaction.ctree.Leaf;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * The qgroup rescan (fs/btrfs/qgroup.c, v5.11 with patch 1/5; v5.10 with it reverted): init, the
 * BTRFS_IOC_QUOTA_RESCAN ioctl, the resume at RW mount / RO→RW remount, the wait, and the worker on the
 * single-threaded qgroup_rescan_workers queue, which walks the extent tree's commit root one leaf per
 * transaction.
 *
 * <p>Why the rescan and the live accounting neither count an extent twice nor miss it: the worker
 * holds a transaction handle while it reads a leaf of the commit root and moves the progress past it,
 * and the commit accounts only after every writer left, so the two never interleave. An extent below
 * the progress was either in the commit root the worker read (counted by the worker) or committed later
 * (counted live); one at or beyond it is left to the worker, which finds it in a later commit root — or,
 * freed first, never sees it.
 *
 * <p>Two kernel behaviours kept on purpose: {@link #resume()} does not re-arm the completion (after a
 * pause by RO remount and a resume by RO→RW remount, a wait returns while the worker runs; reference
 * §6.4), and it tests only the RESCAN status bit.
 */
final class QgroupRescan {
    private final QgroupFsInfo q;
    private final FsInfo fs;
    private final Qgroups accounting;

    QgroupRescan(QgroupFsInfo q, Qgroups accounting) {
        this.q = q;
        this.fs = q.fs;
        this.accounting = accounting;
    }

    /**
     * kernel: qgroup_rescan_init(fs_info, progress_objectid, init_flags) — {@code fresh} (init_flags
     * 1): a new rescan; EINPROGRESS if one is in progress, EINVAL if quotas are off; sets RESCAN. Not
     * fresh: the resume at mount, which requires RESCAN and ON (tested before the lock, as the kernel
     * does). Then the progress becomes {@code (progressObjectid, 0, 0)}, the completion is re-armed
     * (init_completion, under the lock) and the work item initialised (btrfs_init_work).
     */
    void init(boolean fresh, long progressObjectid) {
        if (!fresh) {
            if (!q.testFlag(QgroupStatusItem.FLAG_RESCAN)) {
                fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup rescan is not queued");
                throw new BtrfsException(Errno.EINVAL, "qgroup rescan is not queued");
            }
            if (!q.testFlag(QgroupStatusItem.FLAG_ON)) {
                fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup is not enabled");
                throw new BtrfsException(Errno.EINVAL, "qgroup is not enabled");
            }
        }
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            if (fresh) {
                if (q.testFlag(QgroupStatusItem.FLAG_RESCAN)) {
                    fs.log().warn(fs.sbId(), "qgroup rescan is already in progress");
                    throw new BtrfsException(Errno.EINPROGRESS, "qgroup rescan is already in progress");
                }
                if (!q.testFlag(QgroupStatusItem.FLAG_ON)) {
                    fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup is not enabled");
                    throw new BtrfsException(Errno.EINVAL, "qgroup is not enabled");
                }
                q.setFlag(QgroupStatusItem.FLAG_RESCAN);
            }
            q.rescanProgress = progressObjectid;
            if (!(fresh && fs.applied(FixSwitch.QGROUP_RESCAN_FAILED_INIT_REARM))) {
                // proposed fix applied: a fresh rescan's completion is re-armed where its worker is queued
                // (armQueuedRescan), so an ioctl that fails after this init leaves the previous rescan's done
                q.rescanCompletion.reinit();
            }
        } finally {
            q.rescanLock.unlock();
        }
        // btrfs_init_work(&fs_info->qgroup_rescan_work, ...): the one work item of this fs_info, re-initialised
        // with the same function — so queueing it while it is still pending is a no-op, as queue_work is. The port
        // once made a new work per init: a rescan ioctl and a quota enable racing (quota enable clears the RESCAN
        // bit the ioctl set, so both pass qgroup_rescan_init) then ran the worker twice where the kernel runs it
        // once, and the first run's end left the second unwaited (explorer, seed 15015, with quota2).
        // The kworker that runs it is the rescan worker (Role.RESCAN_WORKER) while it does, for hooks to tell.
        if (q.rescanWork == null) {
            q.rescanWork = new BtrfsWork(org.jbtrfs.core.Role.RESCAN_WORKER.wrap(this::runWorker));
        }
    }

    // ---- the worker's real end (the port's own bookkeeping: nothing in the kernel waits on it) ---------

    /** Monitor of {@link #outstanding}: notified when a run of the worker function returns. */
    private final Object idle = new Object();
    /** Queueings of the work whose run has not returned yet (guarded by {@link #idle}). */
    private int outstanding;

    private void runWorker() {
        q.rescanWorkerTask = Thread.currentThread();
        try {
            worker();
        } finally {
            q.rescanWorkerTask = null;
            synchronized (idle) {
                outstanding--;
                idle.notifyAll();
            }
        }
    }

    /** The state {@link Qgroups#debugState()} reports, read without qgroup_rescan_lock. */
    String debugState() {
        int runs;
        synchronized (idle) {
            runs = outstanding;
        }
        BtrfsWork w = q.rescanWork;
        return "qgroup: status flags 0x" + Long.toHexString(q.flags()) + ", qgroup_rescan_running " + q.rescanRunning
            + ", completion done " + q.rescanCompletion.isDone() + " (waiters " + q.rescanCompletion.waiters() + ")"
            + ", work " + (w == null ? "never initialised" : w.isQueued() ? "queued" : "not queued")
            + ", runs not returned " + runs + ", quota_root " + (fs.quotaRoot() == null ? "NULL" : "set");
    }

    /** The worker is queued or executing. */
    boolean workerActive() {
        synchronized (idle) {
            return outstanding > 0;
        }
    }

    /**
     * Waits (at most {@code nanos}) until no run of the worker is queued or executing: the event is the
     * worker function returning, not qgroup_rescan_running or the completion (which a resumed rescan does not
     * re-arm). A kernel panic ends the wait with KernelPanic. Returns false on timeout.
     */
    boolean awaitIdle(long nanos) {
        synchronized (idle) {
            return fs.kernel.sched().waitUntil(idle, () -> outstanding == 0, nanos);
        }
    }

    /**
     * kernel: btrfs_ioctl_quota_rescan_status() in fs/btrfs/ioctl.c — flags 1 and the progress objectid if
     * the RESCAN status bit is set; read here under qgroup_rescan_lock, with qgroup_rescan_running and
     * whether the worker is still queued or executing.
     */
    RescanStatus status() {
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            boolean flag = q.testFlag(QgroupStatusItem.FLAG_RESCAN);
            return new RescanStatus(flag ? 1 : 0, flag ? q.rescanProgress : 0, q.rescanRunning, workerActive());
        } finally {
            q.rescanLock.unlock();
        }
    }

    /**
     * kernel: btrfs_qgroup_rescan() (the BTRFS_IOC_QUOTA_RESCAN ioctl) — init; join and commit a
     * transaction so every delayed ref already accounted is in the extent tree (on failure clear RESCAN,
     * without a lock as the kernel does, and return the error); zero every qgroup; queue the worker.
     */
    void rescan() {
        init(true, 0);
        try {
            TransHandle h = Transactions.join(fs, fs.fsRoot(), "btrfs_qgroup_rescan");
            Transactions.commit(h);
        } catch (BtrfsException e) {
            q.clearFlag(QgroupStatusItem.FLAG_RESCAN);
            throw e;
        }
        zeroTracking();
        fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE);
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            q.rescanRunning = true;
            armAtQueueIfFixed();
            queue();
        } finally {
            q.rescanLock.unlock();
        }
    }

    /**
     * The proposed fixes' re-arm where the worker is queued ({@link FixSwitch#QGROUP_RESCAN_REQUEUE_WAITED},
     * {@link FixSwitch#QGROUP_RESCAN_FAILED_INIT_REARM}: with the latter a fresh qgroup_rescan_init no longer re-arms);
     * with both reverted the kernel's init re-armed it already.
     */
    void armAtQueueIfFixed() {
        if (fs.applied(FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED) || fs.applied(FixSwitch.QGROUP_RESCAN_FAILED_INIT_REARM)) {
            armQueuedRescan();
        }
    }

    /**
     * Proposed fix {@link FixSwitch#QGROUP_RESCAN_REQUEUE_WAITED}: reinit_completion() where a rescan is marked
     * running and queued (under qgroup_rescan_lock), not only in qgroup_rescan_init. Between the ioctl's init and its
     * queueing, quota disable and enable can run a whole rescan of their own whose end calls complete_all(); the
     * ioctl's run would then start with qgroup_rescan_running set and the completion already done, and every wait
     * for it would return at once. reinit_completion keeps the waiters of a run still executing (it only clears
     * {@code done}); that run sees its work pending again and leaves the completion to the next run.
     */
    void armQueuedRescan() {
        q.rescanCompletion.reinit();
    }

    /**
     * kernel: btrfs_qgroup_rescan_resume() — from btrfs_start_pre_rw_mount (RW mount, RO→RW remount):
     * queue the worker if the RESCAN status bit is set. Nothing else is tested (not QUOTA_ENABLED, not
     * ON), and the completion is not re-armed: a rescan paused by an RO remount (complete_all) and
     * resumed here is not waited for by a later wait. Only a mount re-arms it, through
     * btrfs_read_qgroup_config's qgroup_rescan_init.
     *
     * <p>The work item is the one qgroup_rescan_init last initialised. A status with RESCAN but not ON
     * never gets there on a fresh mount (btrfs_read_qgroup_config inits only with ON), so the kernel
     * would queue a work nobody initialised and the kworker would call a NULL function; the port reports
     * that oops instead of queueing.
     */
    void resume() {
        if (!q.testFlag(QgroupStatusItem.FLAG_RESCAN)) {
            return;
        }
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            q.rescanRunning = true;
            if (fs.applied(org.jbtrfs.core.FixSwitch.QGROUP_RESCAN_RESUME_REARM)) {
                // proposed fix: init_completion(&fs_info->qgroup_rescan_completion), as qgroup_rescan_init
                // does; without it a rescan paused by an RO remount (complete_all) and resumed here is not
                // waited for by the next RO remount or by quota disable
                q.rescanCompletion.reinit();
            }
            if (q.rescanWork == null) {
                fs.log().oops(LogEntry.Kind.OOPS, "BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
                    + "Workqueue: btrfs-qgroup-rescan btrfs_work_helper [btrfs]\n"
                    + "RIP: 0010:0x0 (btrfs_qgroup_rescan_resume queued qgroup_rescan_work, never initialised:"
                    + " RESCAN without ON in the qgroup status)");
                return;
            }
            queue();
        } finally {
            q.rescanLock.unlock();
        }
    }

    /**
     * kernel: btrfs_queue_work(fs_info->qgroup_rescan_workers, &fs_info->qgroup_rescan_work) — callers
     * set rescanRunning first. There is one work item: queueing it while it is still pending (queued, its
     * function not started: e.g. an RO→RW remount resuming a rescan that a remount without patch 1/5 did
     * not wait for) does nothing, as queue_work() on a work with WORK_STRUCT_PENDING set does; queued
     * while it runs, it runs once more afterwards. The test and the setting of the pending bit are one step
     * ({@link org.jbtrfs.workqueue.BtrfsWorkqueue#queueWorkUnlessPending}): 5.11's quota enable queues without
     * qgroup_rescan_lock while the rescan ioctl queues under it.
     */
    void queue() {
        BtrfsWork w = q.rescanWork;
        synchronized (idle) {
            outstanding++;
        }
        boolean queued = false;
        try {
            // one atomic test and set of the pending bit: quota enable queues without qgroup_rescan_lock (5.11), so
            // it can race the rescan ioctl's queueing; the port once tested isQueued() first and the loser threw
            queued = fs.workqueues().qgroupRescanWorkers.queueWorkUnlessPending(w);
        } finally {
            if (!queued) {
                synchronized (idle) {
                    outstanding--;
                    idle.notifyAll();
                }
            }
        }
    }

    /** kernel: qgroup_rescan_zero_tracking() — every counter to 0 and dirty, under the spinlock. */
    void zeroTracking() {
        q.lock.lock();
        try {
            for (Qgroup g : q.qgroups.values()) {
                g.rfer = 0;
                g.excl = 0;
                g.dirty = true;
            }
        } finally {
            q.lock.unlock();
        }
    }

    /**
     * kernel: btrfs_qgroup_wait_for_completion() — read rescan_running under the lock; if set, wait for
     * the completion ({@code interruptible}: returns false when interrupted, the kernel's -ERESTARTSYS).
     * close_ctree, remount RO (patch 1/5) and quota disable wait uninterruptibly.
     */
    boolean waitForCompletion(boolean interruptible) {
        if (!running()) {
            return true;
        }
        fs.kernel.hooks().arrive(Hook.QGROUP_WAIT_BEFORE_SLEEP);
        q.lock.mightSleep("wait_for_completion");
        return q.rescanCompletion.await(interruptible);
    }

    /** Not the kernel's: waits up to {@code timeout} for a running rescan; true if none runs now or it completed. */
    boolean waitForCompletion(long timeout, TimeUnit unit) throws InterruptedException {
        return !running() || q.rescanCompletion.await(unit.toNanos(timeout));
    }

    boolean running() {
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            return q.rescanRunning;
        } finally {
            q.rescanLock.unlock();
        }
    }

    /**
     * kernel: rescan_should_stop() (patch 1/5) — unmounting, or any remount in progress. Reverted: only
     * btrfs_fs_closing(), so an RO remount neither stops the worker nor waits for it.
     */
    private boolean shouldStop() {
        if (fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT)) {
            return fs.fsClosing() != 0 || fs.fsState.test(FsState.REMOUNTING);
        }
        return fs.fsClosing() != 0;
    }

    /**
     * kernel: btrfs_qgroup_rescan_worker() — one transaction per extent-tree leaf (committed after the
     * last leaf, else only ended) until done, an error, or {@link #shouldStop()}; then the status update
     * in one more transaction, ended and not committed, and complete_all. Patch 1/5 evaluates the stop
     * condition once per iteration into {@code stopped} and uses that value for both the RESCAN decision
     * and the final message (Sterba's remark and Filipe's answer in the thread).
     *
     * <p>{@link FixSwitch#QUOTA_RESCAN_DISABLE_NULL_DEREF} (b7adbf9ada35, v6.2): the status update only after
     * at least one leaf was rescanned ({@code did_leaf_rescans}; in 5.11's loop, a leaf the QUOTA_ENABLED test
     * let through). Reverted, a worker that found quotas disabled before its first leaf starts the status
     * update on {@code fs_info->quota_root}, which quota disable may have set to NULL meanwhile.
     *
     * <p>Hooks: {@link Hook#QGROUP_RESCAN_BEFORE_LEAF} comes before every stop check (so also before the
     * check that ends the loop; not after the last leaf, where err &gt; 0 ends it), and
     * {@link Hook#QGROUP_RESCAN_BEFORE_STATUS_UPDATE} after the loop.
     *
     * <p>A consequence of patch 1/5 the thread does not discuss, kept as the kernel has it: REMOUNTING
     * is set for the whole of every remount, and an RO→RW remount queues this worker
     * (btrfs_qgroup_rescan_resume from btrfs_start_pre_rw_mount) before it clears REMOUNTING — a worker
     * that makes its first check in between stops at once ("qgroup scan paused") and the rescan stays
     * paused until the next mount.
     */
    private void worker() {
        int err = 0;
        boolean stopped = false;
        boolean didLeafRescans = false;
        boolean p1 = fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT);
        // kernel: while (!err && !(stopped = rescan_should_stop(fs_info))) — written out so that the hook
        // comes before the stop check: a worker parked there decides whether to go on only when
        // released, after whatever the test did meanwhile (a remount setting or clearing REMOUNTING)
        while (err == 0) {
            fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            if (stopped = shouldStop()) {
                break;
            }
            TransHandle h;
            try {
                h = Transactions.start(fs, fs.fsRoot(), 0, "btrfs_qgroup_rescan_worker");
            } catch (BtrfsException e) {
                err = e.errno().ret();
                break;
            }
            if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                err = Errno.EINTR.ret();
            } else {
                try {
                    err = leaf();
                } catch (BtrfsException e) {
                    err = e.errno().ret();
                }
                didLeafRescans = true;
            }
            if (err > 0) {
                try {
                    Transactions.commit(h);
                } catch (BtrfsException e) {
                    // the kernel ignores btrfs_commit_transaction()'s return here; an abort shows elsewhere
                }
            } else {
                Transactions.end(h);
            }
        }
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            if (err > 0 && q.testFlag(QgroupStatusItem.FLAG_INCONSISTENT)) {
                q.clearFlag(QgroupStatusItem.FLAG_INCONSISTENT);
            } else if (err < 0) {
                q.setFlag(QgroupStatusItem.FLAG_INCONSISTENT);
            }
        } finally {
            q.rescanLock.unlock();
        }
        fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE);
        // "only update status, since the previous part has already updated the qgroup info" — reverted
        // b7adbf9ada35, also when no leaf was rescanned: a worker queued after quota disable's wait finds
        // quota_root NULL here and oopses in start_transaction; applied, such a worker starts nothing
        TransHandle h = null;
        boolean endedUnderLock = false;
        if (didLeafRescans || !fs.applied(FixSwitch.QUOTA_RESCAN_DISABLE_NULL_DEREF)) {
            try {
                h = Transactions.start(fs, fs.quotaRoot(), 1, "btrfs_qgroup_rescan_worker");
            } catch (BtrfsException e) {
                err = e.errno().ret();
                fs.log().error(fs.sbId(), "fail to start transaction for status update: " + err);
            }
        }
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            // 5.10 re-reads btrfs_fs_closing() here and again for the message; 5.11 uses the cached value
            if (!(p1 ? stopped : fs.fsClosing() != 0)) {
                q.clearFlag(QgroupStatusItem.FLAG_RESCAN);
            }
            if (h != null) {
                try {
                    QgroupItems.updateStatusItem(q, h, fs.quotaRoot());
                } catch (BtrfsException e) {
                    err = e.errno().ret();
                    fs.log().error(fs.sbId(), "fail to update qgroup status: " + err);
                }
            }
            if (h != null && fs.applied(FixSwitch.QGROUP_RESCAN_END_BEFORE_COMPLETE)) {
                // proposed fix: no handle left when a wait for the rescan returns (close_ctree's, before kthread_stop)
                Transactions.end(h);
                endedUnderLock = true;
            }
            if (fs.applied(FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED) && q.rescanWork.isQueued()) {
                // proposed fix: queued again while this run executed (work_pending): the rescan goes on in the
                // next run, which ends it — its waiters wait for that one
            } else {
                q.rescanRunning = false;
                q.rescanCompletion.completeAll();
            }
        } finally {
            q.rescanLock.unlock();
        }
        if (h == null) {
            return;
        }
        // ended, not committed: whoever commits next (transaction kthread, sync, commit_super) writes it. Reverted
        // QGROUP_RESCAN_END_BEFORE_COMPLETE, the rescan is already marked over: close_ctree may be past its wait
        if (!endedUnderLock) {
            Transactions.end(h);
        }
        boolean paused = p1 ? stopped : fs.fsClosing() != 0;
        if (paused) {
            fs.log().info(fs.sbId(), "qgroup scan paused");
        } else if (err >= 0) {
            fs.log().info(fs.sbId(), "qgroup scan completed" + (err > 0 ? " (inconsistency flag cleared)" : ""));
        } else {
            fs.log().error(fs.sbId(), "qgroup scan failed with " + err);
        }
    }

    /**
     * kernel: qgroup_rescan_leaf() — under qgroup_rescan_lock only: find the extent tree's commit-root
     * leaf at the progress key, move the progress past its last item, take a private copy of it. Then,
     * without the lock, account every extent item of the copy through btrfs_find_all_roots ({@link Backref}: the
     * commit roots' backref walk) and btrfs_qgroup_account_extent. Returns 1 after the last leaf (the
     * progress becomes all-ones), else 0.
     */
    private int leaf() {
        Leaf leaf;
        boolean done;
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            leaf = Trees.commitRootLeaf(fs, fs.extentRoot(), new Key(q.rescanProgress, 0, 0));
            if (leaf.items().isEmpty()) {
                // "The rescan is about to end": every real extent objectid is below the progress now
                q.rescanProgress = -1L;
                return 1;
            }
            done = leaf.isLast();
            q.rescanProgress = leaf.items().get(leaf.items().size() - 1).key().objectid() + 1;
        } finally {
            q.rescanLock.unlock();
        }
        long nodesize = fs.superCopy().nodesize;
        for (Item it : leaf.items()) {
            Key k = it.key();
            long numBytes;
            if (k.type() == ItemType.EXTENT_ITEM) {
                numBytes = k.offset();
            } else if (k.type() == ItemType.METADATA_ITEM) {
                numBytes = nodesize;
            } else {
                continue;
            }
            // btrfs_find_all_roots, then btrfs_qgroup_account_extent(trans, bytenr, num_bytes, NULL, roots): an extent
            // the commit roots no longer have (freed since the copy) has no roots and changes no qgroup
            accounting.accountExtent(k.objectid(), numBytes, List.of(), Backref.findAllRoots(fs, k.objectid()));
        }
        if (done) {
            q.rescanProgress = -1L;
            return 1;
        }
        return 0;
    }
}
