package org.jbtrfs.core.kernel;

import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.LatencyModel;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A kernel thread: a real thread lent by the module's {@link Kthreadd} pool and named for the role
 * it serves ("btrfs-cleaner", "btrfs-transaction").
 *
 * <h2>Wake-ups as the kernel has them</h2>
 * The task has a state ({@link TaskState}). A kthread that wants to sleep sets its own state with
 * {@link #setCurrentState} and then calls {@link #schedule()}, which returns once a waker put the state
 * back to RUNNING. {@link #wakeUpProcess()} is try_to_wake_up(TASK_NORMAL): it wakes a task that is
 * INTERRUPTIBLE and does <em>nothing</em> to a RUNNING one — there is no permit. So a wake-up that lands
 * while the kthread is still running its pass is lost, and so is one that lands between the kthread's
 * last check of its condition and its set_current_state; one that lands between set_current_state and
 * schedule() is not (schedule() then returns at once). Callers that must not lose a wake-up do what the
 * kernel does: set the state first, test the condition, then schedule.
 *
 * <h2>Park and stop</h2>
 * {@link #park()} is kthread_park(): set KTHREAD_SHOULD_PARK, wake_up_process (which a running kthread
 * does not notice), and wait for the kthread to reach {@link #parkme()} (the 'parked' completion).
 * {@link #stop()} is kthread_stop(): set KTHREAD_SHOULD_STOP, unpark, wake_up_process, wait for the
 * thread function to return, then drop the task reference. The task_struct is freed then (or, for a
 * kthread that died on its own, when it exited: kthreads are reaped by kthreadd at once), and a later
 * wake_up_process, kthread_park or kthread_stop of it is a use-after-free, reported KASAN-style and
 * raised as an oops in the caller — what close_ctree's ordering of the two kthread_stop calls exists to
 * avoid.
 *
 * <h2>Threads and locks</h2>
 * {@code state} is the only word both sides write: the kthread sets INTERRUPTIBLE / PARKED / RUNNING,
 * wakers compare-and-set INTERRUPTIBLE (or PARKED) to RUNNING and then unpark the thread. The flags
 * (should stop / park) are volatile and written before the waker's CAS, read by the kthread after its
 * own state store: both sequentially consistent, the Dekker pair behind "set state, test, schedule".
 * The completions (parked, exited) are guarded by {@code completions}.
 */
public final class Kthread {
    /** The task states the port distinguishes (include/linux/sched.h). */
    public enum TaskState { RUNNING, INTERRUPTIBLE, PARKED, DEAD }

    private final String name;
    private final KernelClock clock;
    private final Sched sched;
    private final KernelLog log;
    /** task_struct: freed by kthread_stop's put_task_struct, or at exit for a kthread nobody stops. */
    private final Lifetime task;
    private final AtomicReference<TaskState> state = new AtomicReference<>(TaskState.RUNNING);
    private volatile Thread thread;
    private volatile boolean shouldStop;
    private volatile boolean shouldPark;
    /** Blocked inside {@link #schedule()} or {@link #scheduleTimeout} (not merely in TASK_INTERRUPTIBLE). */
    private volatile boolean blocked;
    /** The task that asked for the current park or stop, once its wake-up was issued; null otherwise. */
    private volatile Thread requester;
    private volatile long sleeps;
    private final Object completions = new Object();
    /**
     * kthread->parked: completed by {@link #parkme()}, re-armed by {@link #unpark()}. Written under
     * completions; volatile so the requester's {@link IdlePoll} can watch it without the monitor.
     */
    private volatile boolean parkedDone;
    /** kthread->exited. Written under completions; volatile for the requester's {@link IdlePoll}. */
    private volatile boolean exited;
    private int exitCode;

    /** LatencyModel's wake-up cost: a woken kthread starts running this much later (0: the port's own speed). */
    private final long wakeupNanos;
    /** How long this kthread, and a task waiting for its park or exit, poll before blocking ({@link IdlePoll}). */
    private final long pollNanos;

    Kthread(String name, KernelClock clock, Sched sched, KernelLog log) { this(name, clock, sched, log, 0); }

    Kthread(String name, KernelClock clock, Sched sched, KernelLog log, long wakeupNanos) {
        this(name, clock, sched, log, wakeupNanos, IdlePoll.forWakeup(wakeupNanos));
    }

    /** With an explicit {@link IdlePoll} time (tests hold a kthread inside its poll). */
    Kthread(String name, KernelClock clock, Sched sched, KernelLog log, long wakeupNanos, long pollNanos) {
        this.wakeupNanos = wakeupNanos;
        this.pollNanos = pollNanos;
        this.name = name;
        this.clock = clock;
        this.sched = sched;
        this.log = log;
        this.task = new Lifetime(log, "task_struct of " + name);
    }

    public String name() { return name; }

    /** The real thread serving this kthread, or null once it exited. */
    public Thread thread() { return hasExited() ? null : thread; }

    void bind(Thread t) { this.thread = t; }

    void exited(int code) {
        boolean stopping;
        synchronized (completions) {
            exitCode = code;
            exited = true;
            state.set(TaskState.DEAD);
            completions.notifyAll();
            stopping = shouldStop; // under the lock kthread_stop pins the task in
        }
        if (!stopping) {
            // died on its own (an oops): kthreadd reaps it, nobody holds the task any more
            task.free();
        }
    }

    /** True once the thread function returned (TASK_DEAD). */
    public boolean hasExited() {
        synchronized (completions) {
            return exited;
        }
    }

    /** The task's state now. */
    public TaskState taskState() { return state.get(); }

    /** How many times the kthread went to sleep in {@link #schedule()} or {@link #scheduleTimeout}. */
    public long sleeps() { return sleeps; }

    // ---- called from the kthread itself ------------------------------------------------------

    /** kernel: kthread_should_stop() */
    public boolean shouldStop() { return shouldStop; }

    /** kernel: kthread_should_park() */
    public boolean shouldPark() { return shouldPark; }

    /** kernel: set_current_state() — only the kthread itself sets its state (a full barrier follows). */
    public void setCurrentState(TaskState s) {
        if (s == TaskState.DEAD) {
            throw new IllegalArgumentException("set_current_state(TASK_DEAD) is the exit path's");
        }
        state.set(s);
    }

    /**
     * kernel: schedule() — sleep until a waker sets the state back to RUNNING; returns at once if it
     * already is (a wake-up between set_current_state and here). Interrupts are deferred (see
     * {@link Sched}); a panic of the module ends the sleep with {@link KernelPanic}.
     */
    public void schedule() {
        if (state.get() == TaskState.RUNNING) {
            return;
        }
        Thread self = Thread.currentThread();
        boolean interrupted = false;
        sched.enter(self, "schedule() in " + state.get());
        try {
            sleeps++;
            blocked = true;
            // an interrupt ends the poll and is seen below (park returns at once) or, after a panic, consumed
            // by Sched.leave
            IdlePoll.poll(() -> state.get() == TaskState.RUNNING, pollNanos);
            while (state.get() != TaskState.RUNNING) {
                sched.checkPanic();
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            blocked = false;
            // woken: on the kernel's runqueue now, it runs once its waker leaves kernel mode (LatencyModel)
            LatencyModel.delay(wakeupNanos);
        } finally {
            blocked = false;
            sched.leave(self, interrupted);
        }
    }

    /**
     * kernel: schedule_timeout_interruptible() — set TASK_INTERRUPTIBLE, then {@link #scheduleTimeout}. A
     * wake-up that came before this call is not seen. Returns true if woken before the timeout.
     */
    public boolean scheduleTimeoutInterruptible(long nanos) {
        state.set(TaskState.INTERRUPTIBLE);
        return scheduleTimeout(nanos);
    }

    /**
     * kernel: schedule_timeout() — the caller set its state; sleep until a waker puts it back to RUNNING
     * or until {@code nanos} passed on the module clock (the timer wakes it). Returns at once if the state
     * is already RUNNING. Returns true if woken before the timeout.
     */
    public boolean scheduleTimeout(long nanos) {
        if (state.get() == TaskState.RUNNING) {
            return true;
        }
        long deadline = clock.nanoTime() + nanos;
        Thread self = Thread.currentThread();
        boolean interrupted = false;
        sched.enter(self, "schedule_timeout() in " + state.get());
        try {
            sleeps++;
            blocked = true;
            IdlePoll.poll(() -> state.get() == TaskState.RUNNING, Math.min(pollNanos, nanos)); // as in schedule()
            while (state.get() != TaskState.RUNNING) {
                sched.checkPanic();
                if (clock.nanoTime() - deadline >= 0) {
                    // the timer fires: process_timeout() wakes us; a waker may have beaten it
                    return !state.compareAndSet(TaskState.INTERRUPTIBLE, TaskState.RUNNING);
                }
                clock.parkUntil(deadline);
                interrupted |= Thread.interrupted();
            }
            blocked = false;
            LatencyModel.delay(wakeupNanos); // woken before its timer: see schedule()
            return true;
        } finally {
            blocked = false;
            sched.leave(self, interrupted);
        }
    }

    /**
     * kernel: kthread_parkme() — while a park is requested: TASK_PARKED, complete 'parked', sleep until
     * kthread_unpark or kthread_stop wakes us from TASK_PARKED.
     */
    public void parkme() {
        while (true) {
            state.set(TaskState.PARKED);
            if (!shouldPark) {
                break;
            }
            synchronized (completions) {
                parkedDone = true;
                completions.notifyAll();
            }
            schedule();
        }
        state.set(TaskState.RUNNING);
    }

    /** True while the task is TASK_INTERRUPTIBLE: a wake_up_process now would wake it. */
    public boolean isSleeping() { return state.get() == TaskState.INTERRUPTIBLE; }

    /** True while the kthread sits in {@link #parkme()} with the park completed. */
    public boolean isParked() {
        synchronized (completions) {
            return parkedDone && state.get() == TaskState.PARKED;
        }
    }

    // ---- called from other threads -----------------------------------------------------------

    /**
     * kernel: wake_up_process() — wakes the task if it is TASK_INTERRUPTIBLE and returns true; a task
     * that is running (or parked, or dead) is left alone and false is returned: the wake-up is lost.
     * On a task already freed this is a use-after-free (KASAN report, {@link KernelOops}).
     */
    public boolean wakeUpProcess() {
        task.use("wake_up_process");
        return tryToWakeUp(TaskState.INTERRUPTIBLE);
    }

    private boolean tryToWakeUp(TaskState from) {
        if (!state.compareAndSet(from, TaskState.RUNNING)) {
            return false;
        }
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
        return true;
    }

    /**
     * kernel: kthread_park() — request a park, wake the thread (a running one does not notice) and wait
     * until it parked. On a kthread that already exited: WARN_ON and -ENOSYS, as the kernel's
     * PF_EXITING check (once it is reaped: a use-after-free). Returns 0 or the negative errno.
     */
    public int park() {
        task.use("kthread_park");
        if (hasExited()) {
            log.warnOnAt(true, "kernel/kthread.c", 583, "kthread_park");
            return Errno.ENOSYS.ret();
        }
        if (shouldPark) {
            log.warnOnAt(true, "kernel/kthread.c", 586, "kthread_park");
            return Errno.EBUSY.ret();
        }
        shouldPark = true;
        if (Thread.currentThread() != thread) {
            wakeUpProcess();
            requester = Thread.currentThread(); // after the wake-up: see sleepsThroughRequest()
            IdlePoll.poll(() -> parkedDone, pollNanos);
            synchronized (completions) {
                sched.waitUntil(completions, "kthread_park(" + name + ")", Blockers.thread(() -> thread), () -> parkedDone);
            }
        }
        return 0;
    }

    /** kernel: kthread_unpark() — clear the request and wake the thread out of TASK_PARKED. */
    public void unpark() {
        task.use("kthread_unpark");
        synchronized (completions) {
            parkedDone = false; // reinit_completion(&kthread->parked)
        }
        requester = null;
        shouldPark = false;
        tryToWakeUp(TaskState.PARKED);
    }

    /**
     * Asks the thread function to return without waiting (kthread_should_stop() becomes true, the thread
     * is woken): kthreadd's last resort at module unload for a kthread its owner never stopped.
     */
    void requestStop() {
        shouldStop = true;
        shouldPark = false;
        tryToWakeUp(TaskState.PARKED);
        tryToWakeUp(TaskState.INTERRUPTIBLE);
    }

    /**
     * kernel: kthread_stop() — request the stop, unpark, wake_up_process (lost on a running kthread,
     * which sees the request at its next kthread_should_stop()), wait until the thread function returned,
     * drop the task reference (the task_struct is freed) and return the exit code.
     */
    public int stop() {
        if (Thread.currentThread() == thread && !hasExited()) {
            throw new IllegalStateException("kthread_stop of self: " + name);
        }
        synchronized (completions) {
            // get_task_struct() and the request as one step against the thread's own exit (which tests the request
            // under this lock): a kthread dying on its own from now on is not reaped — this stop holds it
            shouldStop = true;
        }
        task.use("kthread_stop"); // one that died before was reaped: the kernel's get_task_struct on a freed task
        // kthread_unpark()
        synchronized (completions) {
            parkedDone = false;
        }
        shouldPark = false;
        tryToWakeUp(TaskState.PARKED);
        wakeUpProcess();
        requester = Thread.currentThread();
        IdlePoll.poll(() -> exited, pollNanos);
        int code;
        synchronized (completions) {
            sched.waitUntil(completions, "kthread_stop(" + name + ")", Blockers.thread(() -> thread), () -> exited);
            code = exitCode;
        }
        task.free(); // put_task_struct()
        return code;
    }

    /**
     * The task whose kthread_park() or kthread_stop() this kthread sleeps through right now, or null: the
     * kthread is blocked in schedule() in TASK_INTERRUPTIBLE although the request was set and its wake-up
     * issued — so that wake-up was lost (it came while the kthread ran, between its last
     * kthread_should_park/stop test and set_current_state) and only another wake_up_process, or the
     * sleep's timer, ends the sleep. A state predicate, not a timeout: a wake-up that succeeded left the task
     * RUNNING, and a kthread that re-tests the request after setting its state never blocks with it set.
     * The kernel has no such check; an explorer uses it to name a lost wake-up at once instead of waiting
     * out the stall.
     */
    public Thread sleptThroughBy() {
        Thread r = requester;
        if (r == null || !blocked || !(shouldPark || shouldStop) || state.get() != TaskState.INTERRUPTIBLE) {
            return null;
        }
        return r;
    }

    /** True once the task_struct was freed (kthread_stop returned, or an exited kthread was reaped). */
    public boolean isFreed() { return task.isFreed(); }

    @Override
    public String toString() { return name + " (" + state.get() + ")"; }
}
