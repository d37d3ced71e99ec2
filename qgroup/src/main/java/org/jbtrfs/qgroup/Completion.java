package org.jbtrfs.qgroup;

/**
 * struct completion (kernel/sched/completion.c), the part qgroup.c uses: {@code init_completion} /
 * {@code reinit_completion}, {@code complete_all}, {@code wait_for_completion} and its interruptible
 * variant. After {@link #completeAll()} every wait returns at once until {@link #reinit()} — the
 * kernel's {@code done = UINT_MAX}; that matters for the rescan, whose completion is re-armed only by
 * qgroup_rescan_init (see {@link Qgroups#rescanResume()}).
 *
 * <p>A new object is in the state {@code init_completion} leaves it: not done. Everything is guarded
 * by the object's monitor; {@link #waiters()} lets a reproducer see that a remount is really blocked
 * here, instead of guessing from a thread state.
 */
final class Completion {
    private final org.jbtrfs.core.kernel.Sched sched;
    private boolean done; // guarded by this
    private int waiters; // guarded by this
    /** Who completes it: the deadlock oracle's edge of an uninterruptible wait (null: not known). */
    private final org.jbtrfs.core.kernel.Blockers completer;

    /** A completion outside any module (an uninterruptible wait is ended by nothing but completeAll). */
    Completion() { this(null, null); }

    /** A completion of a module: a panic of the module ends an uninterruptible wait with KernelPanic. */
    Completion(org.jbtrfs.core.kernel.Sched sched) { this(sched, null); }

    /**
     * As {@link #Completion(org.jbtrfs.core.kernel.Sched)}; {@code completer}
     * names the task that will complete it (the deadlock oracle's edge, {@link org.jbtrfs.core.kernel.WaitGraph}),
     * answering null while none is known.
     */
    Completion(org.jbtrfs.core.kernel.Sched sched, java.util.function.Supplier<Thread> completer) {
        this.sched = sched;
        this.completer = completer == null ? null : org.jbtrfs.core.kernel.Blockers.thread(completer);
    }

    /** kernel: reinit_completion() */
    synchronized void reinit() { done = false; }

    /** kernel: complete_all() — wake every waiter; later waits return at once. */
    synchronized void completeAll() {
        done = true;
        notifyAll();
    }

    synchronized boolean isDone() { return done; }

    /** Threads blocked in {@link #await} right now. */
    synchronized int waiters() { return waiters; }

    /**
     * kernel: wait_for_completion() ({@code interruptible} false: TASK_UNINTERRUPTIBLE, an interrupt is
     * remembered and re-asserted on return) or wait_for_completion_interruptible() (returns false when
     * interrupted, with the interrupt status set: the kernel's -ERESTARTSYS).
     */
    synchronized boolean await(boolean interruptible) {
        if (!interruptible && sched != null) {
            waiters++;
            try {
                sched.waitUntil(this, "wait_for_completion(qgroup_rescan_completion)", completer, () -> done);
                return true;
            } finally {
                waiters--;
            }
        }
        if (interruptible && sched != null) {
            waiters++;
            try {
                return sched.waitUntilInterruptible(this, "wait_for_completion_interruptible(qgroup_rescan_completion)", () -> done);
            } finally {
                waiters--;
            }
        }
        boolean interrupted = false;
        waiters++;
        try {
            while (!done) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    if (interruptible) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                    interrupted = true;
                }
            }
            return true;
        } finally {
            waiters--;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A timed wait (not in the kernel's qgroup code; for callers that must not hang): true if done. */
    synchronized boolean await(long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        waiters++;
        try {
            while (!done) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        } finally {
            waiters--;
        }
    }
}
