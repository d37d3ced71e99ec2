package org.jbtrfs.workqueue;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The concurrency limit of one sub-queue and its thresholding (kernel: limit_active, current_active,
 * thresh, pending, count and thres_lock of struct __btrfs_workqueue).
 *
 * <p>thresh 0 means the default of 32. Below 32 thresholding is off and the limit is simply
 * max_active. Otherwise concurrency starts at 1 and {@link #execHook} moves it by one step at a time:
 * up while more than {@code thresh} works are pending, down while fewer than {@code thresh / 2}, clamped
 * to [1, max_active].
 */
final class Threshold {
    /** kernel: DFT_THRESHOLD. */
    static final int DFT_THRESHOLD = 32;
    /** kernel: NO_THRESHOLD. */
    static final int NO_THRESHOLD = -1;

    /**
     * kernel: limit_active — written by btrfs_workqueue_set_max (a remount's thread_pool=N) with no lock, read by
     * {@link #execHook} under this lock: volatile, each hook reads it once.
     */
    private volatile int limitActive;
    private final int thresh;
    /** kernel: wq->pending — works queued and not yet started; only kept when thresholding. */
    private final AtomicInteger pending = new AtomicInteger();
    /** kernel: wq->count; guarded by this (the kernel's thres_lock). */
    private int count;
    /**
     * kernel: current_active. Written under this lock, read lock-free by the scheduler: volatile, so
     * a raised limit is seen by the next trySchedule without taking the lock. A stale read only delays
     * or briefly over-admits by the one step the hook just took, as the kernel's workqueue_set_max_active
     * outside thres_lock does.
     */
    private volatile int currentActive;

    /** kernel: the threshold part of __btrfs_alloc_workqueue(). */
    Threshold(int limitActive, int thresh) {
        this.limitActive = limitActive;
        if (thresh == 0) {
            thresh = DFT_THRESHOLD;
        }
        if (thresh < DFT_THRESHOLD) {
            // A small thresh means "no thresholding": run at max_active from the start.
            this.currentActive = limitActive;
            this.thresh = NO_THRESHOLD;
        } else {
            this.currentActive = 1;
            this.thresh = thresh;
        }
    }

    int limitActive() { return limitActive; }

    /**
     * kernel: __btrfs_workqueue_set_max()'s store — the clamp of the next {@link #execHook} uses it. Without
     * thresholding it changes nothing: current_active was fixed at allocation and is not recomputed.
     */
    void setLimitActive(int limit) { limitActive = limit; }

    int currentActive() { return currentActive; }

    /** The effective threshold, or {@link #NO_THRESHOLD}. */
    int thresh() { return thresh; }

    /**
     * kernel: btrfs_workqueue_normal_congested() — more than twice the threshold pending; never without
     * thresholding.
     */
    boolean congested() {
        return thresh != NO_THRESHOLD && pending.get() > thresh * 2;
    }

    /** kernel: thresh_queue_hook() in fs/btrfs/async-thread.c — one more work pending. */
    void queueHook() {
        if (thresh != NO_THRESHOLD) {
            pending.incrementAndGet();
        }
    }

    /**
     * kernel: thresh_exec_hook() in fs/btrfs/async-thread.c — a work starts; maybe move the limit.
     * Returns true when the limit rose, so the caller can admit more works at once.
     */
    boolean execHook() {
        if (thresh == NO_THRESHOLD) {
            return false;
        }
        pending.decrementAndGet();
        synchronized (this) {
            // The kernel comment says this count limits how often the limit is recomputed; the code
            // actually skips only every (thresh / 4)-th call. Ported as written.
            count = (count + 1) % (thresh / 4);
            if (count == 0) {
                return false;
            }
            int next = currentActive;
            int p = pending.get(); // may be stale by now; the kernel accepts that too
            if (p > thresh) {
                next++;
            }
            if (p < thresh / 2) {
                next--;
            }
            next = Math.max(1, Math.min(limitActive, next)); // clamp_val(new_current_active, 1, wq->limit_active)
            int old = currentActive;
            currentActive = next;
            return next > old;
        }
    }
}
