package org.jbtrfs.core;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A kernel thread: a real thread lent by the module's {@link Kthreadd} pool and named for the role
 * it serves ("btrfs-cleaner", "btrfs-transaction").
 *
 * <p>Wake-ups have permit semantics, like the kernel's "set_current_state(TASK_INTERRUPTIBLE);
 * check; schedule()": {@link #wakeUpProcess()} sets a permit that the next {@link #schedule()}
 * consumes, so a wake-up between "decide to sleep" and "sleep" is not lost.
 */
public final class Kthread {
    private final String name;
    private final KernelClock clock;
    private final AtomicBoolean permit = new AtomicBoolean();
    private volatile Thread thread;
    private volatile boolean shouldStop;
    private volatile boolean shouldPark;
    private volatile boolean parked;
    private volatile boolean exited;
    private volatile boolean sleeping;
    private volatile int exitCode;
    private final Object state = new Object();

    Kthread(String name, KernelClock clock) {
        this.name = name;
        this.clock = clock;
    }

    public String name() { return name; }

    /** The real thread serving this kthread, or null once it exited. */
    public Thread thread() { return exited ? null : thread; }

    void bind(Thread t) { this.thread = t; }

    void exited(int code) {
        synchronized (state) {
            exitCode = code;
            exited = true;
            parked = false;
            state.notifyAll();
        }
    }

    /** True once the thread function returned. */
    public boolean hasExited() { return exited; }

    // ---- called from the kthread itself ------------------------------------------------------

    /** kernel: kthread_should_stop() */
    public boolean shouldStop() { return shouldStop; }

    /** kernel: kthread_should_park() */
    public boolean shouldPark() { return shouldPark; }

    /** kernel: kthread_parkme() — park here until unparked or stopped. */
    public void parkme() {
        synchronized (state) {
            while (shouldPark && !shouldStop) {
                parked = true;
                state.notifyAll();
                waitUninterruptibly();
            }
            parked = false;
        }
    }

    /**
     * kernel: schedule() in TASK_INTERRUPTIBLE — sleep until woken, parked or stopped.
     *
     * <p>A Java interrupt is discarded: kthreadd blocks every signal, so nothing but a wake-up, a
     * park or a stop ends a kthread's sleep; and a pending interrupt would make every later
     * LockSupport.park return at once, turning this sleep into a spin.
     */
    public void schedule() {
        sleeping = true;
        try {
            while (!permit.getAndSet(false)) {
                if (shouldStop || shouldPark) {
                    return;
                }
                LockSupport.park(this);
                Thread.interrupted();
            }
        } finally {
            sleeping = false;
        }
    }

    /**
     * True while the thread sleeps in {@link #schedule()} with no wake-up pending (TASK_INTERRUPTIBLE,
     * off the run queue): the next thing it does depends on who wakes it.
     */
    public boolean isSleeping() { return sleeping && !permit.get(); }

    /**
     * kernel: schedule_timeout_interruptible() — sleep until woken, parked, stopped or until
     * {@code nanos} passed on the module clock. Returns true if woken before the timeout.
     */
    public boolean scheduleTimeout(long nanos) {
        long deadline = clock.nanoTime() + nanos;
        while (!permit.getAndSet(false)) {
            if (shouldStop || shouldPark || clock.nanoTime() - deadline >= 0) {
                return false;
            }
            clock.parkUntil(deadline);
            Thread.interrupted(); // as in schedule(): no signals for kthreads, and no spinning
        }
        return true;
    }

    // ---- called from other threads -----------------------------------------------------------

    /** kernel: wake_up_process() — returns true if the thread may have been asleep. */
    public boolean wakeUpProcess() {
        Thread t = thread;
        if (exited || t == null) {
            return false;
        }
        boolean was = permit.getAndSet(true);
        LockSupport.unpark(t);
        return !was;
    }

    /** kernel: kthread_park() — request a park, wake the thread and wait until it parked. */
    public void park() {
        synchronized (state) {
            if (exited) {
                throw new IllegalStateException("kthread_park on exited kthread " + name);
            }
            shouldPark = true;
        }
        wake();
        synchronized (state) {
            while (!parked && !exited) {
                waitUninterruptibly();
            }
        }
    }

    /** kernel: kthread_unpark() */
    public void unpark() {
        synchronized (state) {
            shouldPark = false;
            state.notifyAll();
        }
        wake();
    }

    /**
     * Asks the thread function to return (kthread_should_stop() becomes true and the thread is woken)
     * without waiting: kthreadd's last resort at module unload for a kthread its owner never stopped.
     */
    void requestStop() {
        synchronized (state) {
            shouldStop = true;
            state.notifyAll();
        }
        wake();
    }

    /** True while the thread sits in {@link #parkme()}. */
    public boolean isParked() { return parked; }

    /**
     * kernel: kthread_stop() — request the stop, wake (and unpark) the thread, wait until the thread
     * function returned, and return its exit code. The real thread goes back to the pool.
     */
    public int stop() {
        if (Thread.currentThread() == thread && !exited) {
            throw new IllegalStateException("kthread_stop of self: " + name);
        }
        synchronized (state) {
            shouldStop = true;
            state.notifyAll();
        }
        wake();
        synchronized (state) {
            while (!exited) {
                waitUninterruptibly();
            }
            return exitCode;
        }
    }

    private void wake() {
        Thread t = thread;
        permit.set(true);
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    private void waitUninterruptibly() {
        try {
            state.wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            // uninterruptible: keep waiting, re-assert later
            Thread.interrupted();
        }
    }

    @Override
    public String toString() { return name + (exited ? " (exited " + exitCode + ")" : parked ? " (parked)" : ""); }
}
