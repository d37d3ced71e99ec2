package org.jbtrfs.workqueue;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One unit of work for a {@link BtrfsWorkqueue} (kernel: struct btrfs_work in fs/btrfs/async-thread.h).
 *
 * <p>{@code func} runs on a pool thread, possibly concurrently with other works of the same queue.
 * An <em>ordered</em> work also has {@code orderedFunc} and {@code orderedFree}: after its {@code func}
 * returned, they run strictly in submission order with respect to the other ordered works of the
 * same sub-queue (kernel: run_ordered_work). {@code orderedFree} is the last thing that touches the
 * work; it may "free" it (drop it, recycle the object that holds it).
 *
 * <p>A work may be queued again once it is complete: a plain work from its own {@code func} (the
 * kernel clears the pending bit before running it), an ordered work only after its
 * {@code orderedFree} returned. Queueing a work that is still queued is an {@link IllegalStateException}
 * (the kernel would corrupt its ordered list).
 */
public final class BtrfsWork {
    private final Runnable func;
    private final Runnable orderedFunc;
    private final Runnable orderedFree;
    private volatile boolean highPriority;

    /** True from btrfs_queue_work until the work may be queued again; the CAS makes double queueing detectable. */
    private final AtomicBoolean queued = new AtomicBoolean();

    /**
     * The flush colour it was counted in (see {@link InFlight}). Plain: written by the queueing thread
     * while it owns the work (after the CAS on {@code queued}), read by the worker after polling it;
     * the MPSC queue's offer (ordered store) / poll (volatile load) pair is the release/acquire edge.
     */
    int color;

    /**
     * kernel: WORK_DONE_BIT — func returned. Volatile: the write after func is the release that lets
     * ordered_func, possibly running on another worker, see everything func wrote (the kernel pairs
     * set_bit with smp_mb__before_atomic / smp_rmb for the same reason).
     */
    volatile boolean done;
    /** kernel: WORK_ORDER_DONE_BIT — some worker is running the ordered parts; guarded by the OrderedList lock. */
    boolean orderDone;

    /** kernel: btrfs_init_work(work, func, NULL, NULL) — a plain work. */
    public BtrfsWork(Runnable func) {
        this(func, null, null);
    }

    /**
     * kernel: btrfs_init_work() in fs/btrfs/async-thread.c — {@code orderedFunc} and
     * {@code orderedFree} may be null (a plain work), {@code orderedFree} alone may be null, but an
     * {@code orderedFree} without {@code orderedFunc} would never run and is rejected.
     */
    public BtrfsWork(Runnable func, Runnable orderedFunc, Runnable orderedFree) {
        this.func = Objects.requireNonNull(func, "func");
        if (orderedFunc == null && orderedFree != null) {
            throw new IllegalArgumentException("ordered_free without ordered_func: it would never run");
        }
        this.orderedFunc = orderedFunc;
        this.orderedFree = orderedFree;
    }

    /**
     * kernel: btrfs_set_work_high_priority() in fs/btrfs/async-thread.c — queue on the high
     * sub-queue when the workqueue has one. Takes effect at the next queueing.
     */
    public BtrfsWork setHighPriority() {
        highPriority = true;
        return this;
    }

    public boolean isHighPriority() { return highPriority; }

    public boolean isOrdered() { return orderedFunc != null; }

    /**
     * True from queueing until the work may be queued again: for a plain work until its func starts,
     * for an ordered work until its ordered_free returned.
     */
    public boolean isQueued() { return queued.get(); }

    Runnable func() { return func; }

    Runnable orderedFunc() { return orderedFunc; }

    Runnable orderedFree() { return orderedFree; }

    /** Takes ownership for one queueing. */
    void claim(String queueName) {
        if (!tryClaim()) {
            throw new IllegalStateException("btrfs_queue_work on " + queueName + ": work is already queued and not yet complete");
        }
    }

    /** test_and_set_bit(WORK_STRUCT_PENDING_BIT): ownership for one queueing, or false if it is still queued. */
    boolean tryClaim() { return queued.compareAndSet(false, true); }

    /** The work is complete (or was dropped): it may be queued again. */
    void release() { queued.set(false); }
}
