package org.jbtrfs.workqueue;

import java.util.Objects;
import java.util.Set;
import org.jbtrfs.core.kernel.Lifetime;

/**
 * A btrfs workqueue (kernel: struct btrfs_workqueue in fs/btrfs/async-thread.c): a normal sub-queue
 * and, when allocated with {@link WqFlag#HIGHPRI}, a high one, both running on the module's shared
 * {@link WorkerPool}.
 *
 * <p>Lifetime: {@link #destroy} drains and then poisons the object, like btrfs_destroy_workqueue's
 * kfree; the owner's reference stays valid Java but dead btrfs. Queueing on it afterwards is the
 * use-after-free of the patch series: a KASAN-style report naming btrfs_queue_work is logged and a
 * {@link org.jbtrfs.core.KernelOops} thrown, where the kernel crashed on slab poison. Destroying twice
 * is the kernel's double free: reported and thrown the same way (kind DOUBLE_FREE), never a hang.
 */
public final class BtrfsWorkqueue {
    private final WorkerPool pool;
    private final String name;
    private final String device;
    private final SubQueue normal;
    private final SubQueue high; // null without HIGHPRI
    /** The wrapper's own lifetime (kernel: the kfree(wq) at the end of btrfs_destroy_workqueue). */
    private final Lifetime lifetime;
    private final String queueFunction;
    private final int thresh;
    /** Serializes destroys: a concurrent second one waits for the first, then reports the double free. */
    private final Object destroyLock = new Object();
    /** Position in the pool's destroy order, 0 while alive; volatile: read by any thread. */
    private volatile long destroyOrder;

    private BtrfsWorkqueue(WorkerPool pool, String device, String name, boolean withHigh, int limitActive, int thresh,
                           String queueFunction) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.device = Objects.requireNonNull(device, "device");
        this.name = name;
        this.thresh = thresh;
        this.queueFunction = queueFunction;
        this.normal = new SubQueue(pool, name, device, false, limitActive, thresh, queueFunction);
        this.high = withHigh ? new SubQueue(pool, name + "-high", device, true, limitActive, thresh, queueFunction) : null;
        this.lifetime = new Lifetime(pool.kernel().log(), "btrfs_workqueue " + describe());
        pool.register(this);
    }

    /**
     * kernel: btrfs_alloc_workqueue() in fs/btrfs/async-thread.c — a queue named "btrfs-{name}" on
     * the filesystem of {@code device}; with {@link WqFlag#HIGHPRI} also "btrfs-{name}-high". Each
     * sub-queue runs at most {@code limitActive} works at once; {@code thresh} as in
     * {@link Threshold} (0 → 32; below 32 no thresholding; else concurrency adapts between 1 and
     * limitActive).
     *
     * @throws IllegalArgumentException limitActive below 1 or thresh negative
     * @throws IllegalStateException    the pool is shut down (module unloaded)
     */
    public static BtrfsWorkqueue alloc(WorkerPool pool, String device, String name, Set<WqFlag> flags, int limitActive,
                                       int thresh) {
        checkLimits(name, limitActive);
        if (thresh < 0) {
            throw new IllegalArgumentException("btrfs-" + name + ": thresh must be >= 0 (0 = default 32): " + thresh);
        }
        return new BtrfsWorkqueue(pool, device, "btrfs-" + name, flags.contains(WqFlag.HIGHPRI), limitActive, thresh,
            "btrfs_queue_work");
    }

    /**
     * kernel: alloc_workqueue() in kernel/workqueue.c — a plain kernel workqueue under its own name
     * (btrfs_discard): no thresholding, no high sub-queue; queueing after destroy is reported in
     * __queue_work.
     */
    public static BtrfsWorkqueue allocPlain(WorkerPool pool, String device, String name, int maxActive) {
        checkLimits(name, maxActive);
        return new BtrfsWorkqueue(pool, device, name, false, maxActive, Threshold.NO_THRESHOLD, "__queue_work");
    }

    private static void checkLimits(String name, int limitActive) {
        Objects.requireNonNull(name, "name");
        if (limitActive < 1) {
            throw new IllegalArgumentException(name + ": max_active must be >= 1: " + limitActive);
        }
    }

    /**
     * kernel: btrfs_queue_work() in fs/btrfs/async-thread.c — queue {@code work} on the high
     * sub-queue if it is high priority and this queue has one, else on the normal one. The first thing
     * it does is touch the queue, as the kernel dereferences wq: on a destroyed queue that is the
     * use-after-free (KASAN report in btrfs_queue_work, {@link org.jbtrfs.core.KernelOops}).
     *
     * @throws NullPointerException  work is null
     * @throws IllegalStateException the work is still queued, or the pool is shut down
     */
    public void queueWork(BtrfsWork work) {
        lifetime.use(queueFunction);
        Objects.requireNonNull(work, "work");
        refuseUnloaded("btrfs_queue_work");
        SubQueue dest = work.isHighPriority() && high != null ? high : normal;
        dest.queue(work);
    }

    /**
     * kernel: btrfs_queue_work() with queue_work()'s answer, for a plain work queued from several places (the qgroup
     * rescan's one work item): the test of WORK_STRUCT_PENDING and its setting are one atomic step, so of two
     * callers racing for a work that is not queued exactly one queues it, and a work still pending (queued, its
     * function not started) is left as it is — false, as queue_work() returns. Queued while its function runs, it
     * runs once more afterwards.
     *
     * @throws IllegalArgumentException if {@code work} is ordered (btrfs never queues an ordered work twice)
     */
    public boolean queueWorkUnlessPending(BtrfsWork work) {
        lifetime.use(queueFunction);
        Objects.requireNonNull(work, "work");
        if (work.isOrdered()) {
            throw new IllegalArgumentException("work: an ordered work is queued once (btrfs_queue_work)");
        }
        refuseUnloaded("btrfs_queue_work");
        SubQueue dest = work.isHighPriority() && high != null ? high : normal;
        return dest.queueUnlessPending(work);
    }

    /**
     * kernel: btrfs_workqueue_set_max() in fs/btrfs/async-thread.c — limit_active of each sub-queue becomes
     * {@code limitActive}, stored with no lock (a remount's btrfs_resize_thread_pool). A thresholded sub-queue's next
     * thresh_exec_hook clamps its concurrency to it; one without thresholding keeps the max_active it was allocated
     * with (the kernel reads limit_active nowhere else). It dereferences the queue first: on a destroyed one that is
     * a use-after-free (KASAN report in btrfs_workqueue_set_max, {@link org.jbtrfs.core.KernelOops}).
     *
     * @throws IllegalArgumentException limitActive below 1 (btrfs_parse_options refuses thread_pool=0)
     */
    public void setMax(int limitActive) {
        lifetime.use("btrfs_workqueue_set_max");
        if (limitActive < 1) {
            throw new IllegalArgumentException("limitActive must be >= 1: " + limitActive);
        }
        normal.setMax(limitActive);
        if (high != null) {
            high.setMax(limitActive);
        }
    }

    /**
     * kernel: btrfs_workqueue_normal_congested() in fs/btrfs/async-thread.c — the normal sub-queue has more than
     * twice its threshold of works pending (false without thresholding).
     */
    public boolean normalCongested() { return normal.congested(); }

    /**
     * kernel: btrfs_flush_workqueue() in fs/btrfs/async-thread.c — waits until every work queued
     * before the call completed, ordered parts included (high sub-queue first, then normal). Works
     * queued after the call do not delay it.
     *
     * @throws IllegalStateException called from one of this queue's own works (it would wait for
     *                               itself), or the pool is shut down
     */
    public void flush() {
        lifetime.use("btrfs_flush_workqueue");
        refuseOwnWork("btrfs_flush_workqueue");
        refuseUnloaded("btrfs_flush_workqueue");
        if (high != null) {
            high.flush();
        }
        normal.flush();
    }

    /**
     * kernel: btrfs_destroy_workqueue() in fs/btrfs/async-thread.c — destroys the high sub-queue then
     * the normal one, each draining first (every queued work, and any work those works queue on their
     * own sub-queue, runs to completion; work queued from outside while draining is dropped with a
     * WARN, as the kernel's __queue_work does), then frees the queue. Afterwards no work of it runs
     * and the caller's reference is dead. A second destroy is a double free: KASAN-style report and
     * {@link org.jbtrfs.core.KernelOops}.
     *
     * @throws IllegalStateException called from one of this queue's own works (it would wait for
     *                               itself), or the pool is shut down
     */
    public void destroy() {
        synchronized (destroyLock) {
            if (lifetime.isFreed()) {
                lifetime.free(); // second kfree of the same object: logs the double free and throws
            }
            // Before anything is torn down: either would make the drain wait forever.
            refuseOwnWork("btrfs_destroy_workqueue");
            refuseUnloaded("btrfs_destroy_workqueue");
            if (high != null) {
                high.destroy();
            }
            normal.destroy();
            lifetime.free();
            destroyOrder = pool.unregister(this);
        }
    }

    private void refuseOwnWork(String function) {
        if (normal.isOwnWork() || (high != null && high.isOwnWork())) {
            // The kernel would deadlock (lockdep reports it); a clear error instead of a hang.
            throw new IllegalStateException(function + " on " + describe() + " from one of its own works would wait for itself");
        }
    }

    private void refuseUnloaded(String function) {
        if (pool.isShutdown()) {
            // No thread is left to run what is queued: waiting for it would hang.
            throw new IllegalStateException(function + " on " + describe() + ": kworker pool is shut down (module unloaded)");
        }
    }

    /** "btrfs-worker" — the workqueue's name as the kernel registers it. */
    public String name() { return name; }

    /** The kworker pool it runs on (the module's). */
    public WorkerPool pool() { return pool; }

    /** The filesystem's device ("sdc"). */
    public String device() { return device; }

    /** "btrfs-worker (device sdc)": how logs and reports name this queue. */
    public String describe() { return name + " (device " + device + ")"; }

    public boolean hasHigh() { return high != null; }

    /** limit_active of the normal sub-queue: max_active at allocation, or the last {@link #setMax}. */
    public int limitActive() { return normal.limitActive(); }

    /** The thresh given at allocation (0 = default 32; -1 for a plain workqueue: none). */
    public int thresh() { return thresh; }

    public boolean isDestroyed() { return lifetime.isFreed(); }

    /** 1-based position of this queue in its pool's destroy order; 0 while it is alive. */
    public long destroyOrder() { return destroyOrder; }

    /** Works queued and not complete yet, both sub-queues. */
    public long inFlight() { return normal.inFlightCount() + (high != null ? high.inFlightCount() : 0); }

    /** The state of its sub-queues, one line each, for a hang report. */
    public String debugState() {
        return normal.debugState() + (high == null ? "" : "\n" + high.debugState());
    }

    SubQueue normal() { return normal; }

    SubQueue high() { return high; }

    @Override
    public String toString() { return "BtrfsWorkqueue{" + describe() + (isDestroyed() ? ", destroyed" : "") + "}"; }
}
