package org.jbtrfs.workqueue;

import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.WorkOwner;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.kernel.LentThreads;

/**
 * kernel: struct delayed_work (include/linux/workqueue.h, kernel/workqueue.c) — a work and its timer: when the timer
 * fires, the work is queued on its workqueue and runs on a kworker. The states the kernel keeps in the work's pending
 * bit and the timer: idle, timer armed, queued, running (and armed or queued again while running); and CANCELING
 * while a {@link #cancelSync()} waits, during which every queueing attempt is a no-op.
 *
 * <p>The timer runs on the module's clock ({@link KernelClock}; a test's {@code ManualClock} fires it by advancing
 * time), on a thread lent only while it is armed: an idle delayed work holds no thread, so no thread of a filesystem
 * outlives its cancel.
 */
public final class DelayedWork {
    private final Kernel kernel;
    private final BtrfsWorkqueue wq;
    private final Runnable func;
    private final String name;
    /** Arrived at by the kworker that took the queued work, before it clears the pending bit; null: none. */
    private final Hook pickup;
    /** The device of the filesystem the work serves ({@link WorkOwner}) when its queue serves every filesystem; null: the queue's. */
    private final String owner;

    // guarded by this
    private long deadline;
    private boolean armed;
    private boolean queued;
    private boolean running;
    private boolean canceling;
    private LentThreads.Lease timer;
    /** A timer thread is lent and will look at {@link #armed} again before it leaves. */
    private boolean timerActive;
    private Thread timerThread;
    /** Queued while its function ran: handed to the queue when it returns ({@link #enqueueLocked}). */
    private boolean deferred;
    /** Bumped by each cancel of a queued work: a queued BtrfsWork of an older generation does nothing when it runs. */
    private long generation;
    /** Runs of the function that returned, for {@link #flush}. */
    private long completed;

    /** kernel: INIT_DELAYED_WORK(dwork, func), to be queued on {@code wq}. */
    public DelayedWork(Kernel kernel, BtrfsWorkqueue wq, String name, Runnable func) {
        this(kernel, wq, name, func, null);
    }

    /**
     * The same, with {@code pickup} arrived at by the kworker that took the queued work off the list, before the work
     * stops being pending (process_one_work: set_work_pool_and_clear_pending) — a test's or the explorer's handle on the
     * window while a woken kworker waits for a CPU.
     */
    public DelayedWork(Kernel kernel, BtrfsWorkqueue wq, String name, Runnable func, Hook pickup) {
        this(kernel, wq, name, func, pickup, null);
    }

    /**
     * The same, for a filesystem's work on a queue that serves every filesystem (system_unbound_wq: the reclaim works of
     * fs_info): the kworker runs it, its pickup hook included, as serving {@code owner} ({@link WorkOwner}), as the
     * works of the filesystem's own queues are — a listener telling filesystems apart (the explorer's schedule, the
     * kernel log's oops line) sees whose work it is, not a work of nobody's.
     */
    public DelayedWork(Kernel kernel, BtrfsWorkqueue wq, String name, Runnable func, Hook pickup, String owner) {
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.wq = Objects.requireNonNull(wq, "wq");
        this.name = Objects.requireNonNull(name, "name");
        this.func = Objects.requireNonNull(func, "func");
        this.pickup = pickup;
        this.owner = owner;
    }

    /**
     * kernel: mod_delayed_work() — queue the work after {@code delayNanos}, or move its timer there if it is pending
     * (armed or queued and not started). A running work is not pending: it runs again after. No-op while a cancel waits.
     */
    public void mod(long delayNanos) {
        if (delayNanos < 0) {
            throw new IllegalArgumentException("delay must not be negative: " + delayNanos);
        }
        synchronized (this) {
            if (canceling) {
                return; // try_to_grab_pending: -ENOENT while canceling, which mod_delayed_work reports as done
            }
            if (queued) {
                queued = false; // grabbed off the worklist: the queued instance will do nothing
                generation++;
            }
            deadline = kernel.clock().nanoTime() + delayNanos;
            armed = true;
            if (!timerActive) {
                timerActive = true;
                timer = LentThreads.SHARED.lend(kernel.name() + "-timer/" + name, this::timerLoop);
            } else if (timerThread != null) {
                LockSupport.unpark(timerThread);
            }
        }
    }

    /**
     * kernel: queue_work() of the work itself, no timer (a plain work_struct: the async reclaim work) — false if it is
     * pending already or a cancel waits; queued while its function runs, it runs once more after.
     */
    public boolean queue() {
        synchronized (this) {
            if (canceling || armed || queued) {
                return false;
            }
            queued = true;
            enqueueLocked();
            return true;
        }
    }

    /** kernel: work_busy() — pending or running. */
    public synchronized boolean busy() { return armed || queued || running; }

    /** kernel: delayed_work_pending() — armed or queued, not yet started. */
    public synchronized boolean pending() { return armed || queued; }

    /** The work's function is running right now. */
    public synchronized boolean running() { return running; }

    /**
     * kernel: cancel_delayed_work_sync() — disarm the timer, take the work off the worklist, and wait until a running
     * instance returned; queueing attempts meanwhile are no-ops. Returns whether the work was pending. An uninterruptible
     * sleep: a module panic ends it.
     */
    public boolean cancelSync() {
        boolean wasPending;
        synchronized (this) {
            wasPending = armed || queued;
            canceling = true;
            armed = false;
            if (queued) {
                queued = false;
                generation++;
            }
            if (timerThread != null) {
                LockSupport.unpark(timerThread);
            }
        }
        synchronized (this) {
            try {
                kernel.sched().waitUntil(this, "cancel_delayed_work_sync(" + name + ")", () -> !running);
            } finally {
                canceling = false;
            }
        }
        awaitTimerGone();
        return wasPending;
    }

    /**
     * kernel: flush_work() of a plain work — wait until the instance queued or running now has returned (not for one
     * queued after). Returns whether it waited. A cancel of the queued instance ends the wait too (it will not run). An
     * uninterruptible sleep: a module panic ends it.
     */
    public boolean flush() {
        synchronized (this) {
            if (!queued && !running) {
                return false;
            }
            long target = completed + (running && (queued || deferred) ? 2 : 1);
            kernel.sched().waitUntil(this, "flush_work(" + name + ")", () -> completed >= target || (!queued && !running));
            return true;
        }
    }

    /** The timer thread, disarmed, goes back to its pool before a cancel returns: nothing of the work runs after. */
    private void awaitTimerGone() {
        LentThreads.Lease t;
        synchronized (this) {
            t = timer;
        }
        if (t != null) {
            t.await(5_000_000_000L);
        }
    }

    private void timerLoop() {
        KernelClock clock = kernel.clock();
        synchronized (this) {
            timerThread = Thread.currentThread();
        }
        while (true) {
            long wait;
            synchronized (this) {
                if (!armed || kernel.panicked()) {
                    leaveTimer();
                    return;
                }
                wait = deadline;
                if (clock.nanoTime() >= wait) {
                    armed = false;
                    queued = true;
                    leaveTimer();
                    // delayed_work_timer_fn → __queue_work
                    enqueueLocked();
                    return;
                }
            }
            // at most 50 ms at a time: a module that panicked (nothing cancels its works then) gets its thread back soon
            // even when the timer was armed for the kernel's 120 s
            clock.parkUntil(Math.min(wait, clock.nanoTime() + 50_000_000L));
        }
    }

    /** The timer thread decides to leave (under the lock): a later {@link #mod} lends a new one. */
    private void leaveTimer() {
        timerActive = false;
        timerThread = null;
    }

    /**
     * __queue_work() of the pending work (caller holds the lock, {@link #queued} set). A work item is non-reentrant: queued
     * while its function runs, the kernel hands it to the worker already executing it (find_worker_executing_work), which
     * runs it again after — never two instances at once. So while it runs the queueing is only remembered.
     */
    private void enqueueLocked() {
        if (running) {
            deferred = true;
            return;
        }
        long gen = generation;
        wq.queueWork(new BtrfsWork(owner == null ? () -> runQueued(gen) : () -> WorkOwner.run(owner, () -> runQueued(gen))));
    }

    private void runQueued(long gen) {
        if (pickup != null) {
            kernel.hooks().arrive(pickup);
        }
        synchronized (this) {
            if (!queued || gen != generation) {
                return; // cancelled or re-armed after it was queued
            }
            queued = false;
            running = true;
        }
        try {
            func.run();
        } finally {
            synchronized (this) {
                running = false;
                completed++;
                if (deferred) {
                    deferred = false;
                    if (queued) {
                        enqueueLocked(); // queued while it ran: its turn now
                    }
                }
                notifyAll();
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "delayed_work " + name + (armed ? ", armed" : "") + (queued ? ", queued" : "") + (running ? ", running" : "")
            + (canceling ? ", canceling" : "");
    }
}
