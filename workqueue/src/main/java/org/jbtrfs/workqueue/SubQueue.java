package org.jbtrfs.workqueue;

import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.WorkOwner;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.Lifetime;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.Taint;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * One sub-queue of a {@link BtrfsWorkqueue}: the normal one or the high one (kernel: struct
 * __btrfs_workqueue and the kernel workqueue behind it).
 *
 * <h2>Scheduling on the shared pool</h2>
 * Pending works sit on an MPSC queue: any thread queues, but only the holder of this sub-queue's
 * <em>token</em> polls. The token is the SCHED bit of {@link #ctl}; whoever sets it (CAS) puts this
 * sub-queue on the pool's runnable queue, and the worker that takes it from there polls one work,
 * takes a concurrency slot and clears SCHED in one atomic step, re-offers the token if more work is
 * pending and a slot is free (so up to current_active workers run this sub-queue at once), then runs
 * the work, gives the slot back and re-offers the token again if needed. The hand-offs (CAS on ctl,
 * offer/poll of the runnable MPMC queue) order one holder's polls before the next holder's, which
 * is what JCTools' single-consumer contract needs.
 *
 * <p>No lost work: a producer offers (the MPSC offer CASes the producer index) and then reads ctl; a
 * worker changes ctl (clearing SCHED or releasing a slot) and then reads the queue's emptiness (the
 * producer index). Both pairs are sequentially consistent (CAS / volatile), so at least one side sees
 * the other: either the producer sees a free token and schedules, or the worker sees the new work and
 * schedules. Scheduling twice is harmless: the SCHED CAS lets only one win.
 */
final class SubQueue {
    private static final int SCHED = 1;
    private static final int ONE_ACTIVE = 2;

    private final WorkerPool pool;
    final String name;
    private final String device;
    /** Tokens of a high sub-queue go on the pool's high runnable queue. */
    final boolean high;
    /** Poisoned when the sub-queue is destroyed (kernel: kfree of the __btrfs_workqueue). */
    private final Lifetime lifetime;
    /** The kernel function a queueing on this sub-queue is reported in. */
    private final String queueFunction;
    private final Threshold threshold;
    private final InFlight inFlight = new InFlight();
    private final OrderedList ordered = new OrderedList(this);
    private final MpscUnboundedArrayQueue<BtrfsWork> pending = new MpscUnboundedArrayQueue<>(64);
    /** (works running << 1) | SCHED. */
    private final AtomicInteger ctl = new AtomicInteger();
    /**
     * kernel: __WQ_DRAINING. Set by destroy before it waits for the in-flight count: a Dekker pair
     * with queue(), which counts the work in flight before reading this (see there).
     */
    private volatile boolean draining;
    private final LongAdder executed = new LongAdder();
    private final Lockdep lockdep;
    /** The workqueue's lockdep map: a class of its own per workqueue (wq_init_lockdep), "(wq_completion)NAME". */
    private final Lockdep.LockClass wqMap;
    /** The works' lockdep map: one static class per INIT_WORK site. */
    private final Lockdep.LockClass workMap;

    SubQueue(WorkerPool pool, String name, String device, boolean high, int limitActive, int thresh, String queueFunction) {
        this.pool = pool;
        this.name = name;
        this.device = device;
        this.high = high;
        this.queueFunction = queueFunction;
        this.threshold = new Threshold(limitActive, thresh);
        this.lifetime = new Lifetime(pool.kernel().log(), "__btrfs_workqueue " + describe());
        this.lockdep = pool.kernel().lockdep();
        this.wqMap = lockdep.enabled() ? lockdep.dynamicClass("(wq_completion)" + name) : null;
        // btrfs_init_work's INIT_WORK for every btrfs_work; btrfs_discard's own delayed work (its only plain work)
        this.workMap = !lockdep.enabled() ? null : lockdep.staticClass("__queue_work".equals(queueFunction)
            ? "(work_completion)(&(&discard_ctl->work)->work)" : "(work_completion)(&work->normal_work)");
    }

    /** "btrfs-worker-high (device sdc)": how reports name this sub-queue. */
    String describe() { return name + " (device " + device + ")"; }

    /** kernel: __btrfs_queue_work() in fs/btrfs/async-thread.c (and queue_work() below it). */
    void queue(BtrfsWork work) {
        lifetime.use(queueFunction);
        work.claim(name);
        enqueue(work);
    }

    /** queue_work()'s test and set of the pending bit: false, nothing done, while {@code work} is still queued. */
    boolean queueUnlessPending(BtrfsWork work) {
        lifetime.use(queueFunction);
        if (!work.tryClaim()) {
            return false;
        }
        enqueue(work);
        return true;
    }

    /** The queueing of a work this caller claimed. */
    private void enqueue(BtrfsWork work) {
        // Counted in flight before reading `draining`: destroy sets `draining` before reading the
        // count, so either this sees the drain starting or the drain waits for this work.
        int color = inFlight.enter();
        if (draining && !isOwnWork()) {
            inFlight.exit(color);
            work.release();
            warnDraining();
            return;
        }
        work.color = color;
        work.done = false;
        work.orderDone = false;
        threshold.queueHook();
        if (work.isOrdered()) {
            ordered.add(work); // before the work can run: its func must find itself on the list
        }
        pending.offer(work);
        trySchedule();
    }

    /**
     * The kernel's __queue_work refuses, with a WARN, work queued on a draining workqueue from
     * outside it (only chained work from its own items may still come in) and drops it.
     */
    private void warnDraining() {
        KernelLog log = pool.kernel().log();
        log.taint(Taint.WARN);
        log.log(LogLevel.WARNING, LogEntry.Kind.WARNING,
            "WARNING: CPU: 0 PID: " + Thread.currentThread().getId() + " at kernel/workqueue.c:1416 __queue_work\n"
                + "workqueue " + describe() + " is being destroyed: work queued from outside it dropped\n"
                + log.taintLine() + "\nCall Trace:\n" + KernelLog.callTrace(new Throwable(), 1));
    }

    /** True when the calling thread is a pool worker executing a work of this sub-queue (kernel: is_chained_work). */
    boolean isOwnWork() {
        WorkerPool.Kworker k = WorkerPool.current();
        return k != null && k.running == this;
    }

    /** Puts this sub-queue on the pool's runnable queue unless it is there already or has no free slot. */
    void trySchedule() {
        while (true) {
            int c = ctl.get();
            if ((c & SCHED) != 0 || (c >>> 1) >= threshold.currentActive()) {
                return;
            }
            if (ctl.compareAndSet(c, c | SCHED)) {
                pool.makeRunnable(this);
                return;
            }
        }
    }

    private void scheduleIfPending() {
        if (!pending.isEmpty()) {
            trySchedule();
        }
    }

    /** A worker took this sub-queue's token from the runnable queue: run at most one work. */
    void runOne(WorkerPool.Kworker self) {
        BtrfsWork work = pending.poll(); // we hold the token: the only consumer right now
        if (work == null) {
            ctl.addAndGet(-SCHED); // a stale token: give it back
            scheduleIfPending();
            return;
        }
        ctl.addAndGet(ONE_ACTIVE - SCHED); // take a slot and free the token in one step
        scheduleIfPending(); // let another worker run the next one concurrently, slots permitting
        self.running = this;
        try {
            workHelper(work);
        } finally {
            self.running = null;
            ctl.addAndGet(-ONE_ACTIVE);
            scheduleIfPending();
        }
    }

    /**
     * kernel: btrfs_work_helper() in fs/btrfs/async-thread.c — run one work on a pool thread, marked as serving
     * this queue's device ({@link WorkOwner}) while it runs.
     */
    private void workHelper(BtrfsWork work) {
        WorkOwner.run(device, () -> helper(work));
    }

    private void helper(BtrfsWork work) {
        // Saved before func runs: a plain work may be queued again (or dropped) by its own func.
        boolean needOrder = work.isOrdered();
        int color = work.color;
        if (threshold.execHook()) {
            scheduleIfPending();
        }
        if (!needOrder) {
            work.release();
        }
        executed.increment();
        // process_one_work: lock_map_acquire of the workqueue's map, then of the work's, around the whole helper
        int depth = lockdep.depth();
        Lockdep.Held wq = wqMap == null ? null : lockdep.acquire(wqMap, false);
        Lockdep.Held w = workMap == null ? null : lockdep.acquire(workMap, false);
        try {
            runGuarded(work.func(), "func");
            if (needOrder) {
                work.done = true; // even if func threw: later ordered works must not wait forever
                ordered.run();
            } else {
                completed(color);
            }
            lockdep.checkWorkLeak(depth, 2, "btrfs_work_helper (" + describe() + ")");
        } finally {
            lockdep.release(w);
            lockdep.release(wq);
        }
    }

    /** A work is complete: func ran and, for an ordered work, its ordered parts. */
    void completed(int color) { inFlight.exit(color); }

    /** Runs one step of a work; an exception is an oops of this worker, which survives it. */
    void runGuarded(Runnable step, String what) {
        if (step == null) {
            return;
        }
        try {
            step.run();
        } catch (Throwable t) {
            pool.kernel().log().uncaught(describe() + " work " + what, t);
        }
    }

    /** kernel: flush_workqueue() on this sub-queue's workqueue (the caller refused its own works). */
    void flush() {
        waitsForEveryWork();
        inFlight.flush();
    }

    /** flush_workqueue()'s lockdep annotation: the caller waits for every work, so it takes the workqueue's map. */
    private void waitsForEveryWork() {
        if (wqMap != null) {
            lockdep.acquireRelease(wqMap);
        }
    }

    /**
     * kernel: __btrfs_destroy_workqueue() in fs/btrfs/async-thread.c — destroy_workqueue drains
     * (waits for every queued work, and works they chain), then the struct is freed. The caller
     * refused calls from this sub-queue's own works, which would wait for themselves.
     */
    void destroy() {
        draining = true;
        waitsForEveryWork(); // drain_workqueue → flush_workqueue
        inFlight.drain();
        lockdep.unregister(wqMap); // wq_unregister_lockdep
        lifetime.free();
    }

    long executed() { return executed.sum(); }

    int currentActive() { return threshold.currentActive(); }

    int limitActive() { return threshold.limitActive(); }

    /** kernel: the store of btrfs_workqueue_set_max() into this __btrfs_workqueue's limit_active. */
    void setMax(int limitActive) {
        lifetime.use("btrfs_workqueue_set_max");
        threshold.setLimitActive(limitActive);
    }

    boolean congested() { return threshold.congested(); }

    int running() { return ctl.get() >>> 1; }

    long inFlightCount() { return inFlight.total(); }

    /**
     * One line for a hang report: pending works, running ones, whether the token is out, the concurrency
     * limit, works in flight and the ordered list's head — what tells a lost schedule from a blocked order.
     */
    String debugState() {
        int c = ctl.get();
        return describe() + ": pending " + pending.size() + ", running " + (c >>> 1) + ", token " + ((c & SCHED) != 0 ? "out" : "home")
            + ", current_active " + threshold.currentActive() + ", in flight " + inFlight.total() + ", ordered " + ordered.debugState();
    }
}
