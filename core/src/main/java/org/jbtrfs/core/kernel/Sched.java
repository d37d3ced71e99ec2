package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelPanic;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * How a thread sleeps in the kernel of one loaded module, and how that module panics.
 *
 * <h2>The interrupt policy of the port (one, for every module)</h2>
 * The kernel sleeps the port models are TASK_UNINTERRUPTIBLE (wait_on_bit, wait_for_completion,
 * wait_current_trans, kthread_park/kthread_stop's waits, mutexes) or are entered by kthreads, which
 * block every signal. So a Java interrupt never ends a kernel sleep: it is <em>deferred</em> — the
 * thread keeps sleeping until its condition holds — and <em>re-asserted</em> when the sleep returns,
 * so the caller's own code (a test's executor, a user's thread pool) still sees it. Pooled threads
 * (kthreadd's, the kworkers) clear a stray interrupt between two jobs, so it never leaks into the next.
 *
 * <p>The one thing that ends a kernel sleep early is a kernel panic of the module ({@link #panic}):
 * every sleeper registered here is interrupted and its sleep throws {@link KernelPanic}. That is how a
 * hung module (a deadlock the port reproduces faithfully) is "rebooted" so a test or the stress runner
 * can unload it and go on. Mutexes ({@code ReentrantLock.lock()}) are not broken directly: their
 * holders are, and they release them as they unwind.
 *
 * <h2>Ordering</h2>
 * A sleeper registers in {@link #sleepers} before it tests the panic flag; {@link #panic} sets the flag
 * before it walks the set. Both are sequentially consistent, so either the sleeper sees the flag or the
 * panic sees (and interrupts) the sleeper; an interrupt that lands before {@code wait()} makes the wait
 * return at once. No panic is missed.
 */
public final class Sched {
    /** Threads sleeping in this kernel, each with what it waits for ("wait_on_bit CLEANER_RUNNING"). */
    private final Map<Thread, Sleep> sleepers = new ConcurrentHashMap<>();
    /** Numbers the sleeps, so that the deadlock oracle tells one sleep of a thread from its next. */
    private final java.util.concurrent.atomic.AtomicLong sleeps = new java.util.concurrent.atomic.AtomicLong();

    /**
     * One sleep of a thread: what it waits for, who can end it (null: not known) and when it began.
     *
     * @param serial numbers the sleeps of this kernel: the same sleep seen twice has the same serial
     */
    public record Sleep(String what, Blockers blockers, long since, long serial) { }
    private volatile String panic;

    /** The reason of the panic, or null while the module runs. */
    public String panicReason() { return panic; }

    public boolean panicked() { return panic != null; }

    /** Throws {@link KernelPanic} once the module panicked. */
    public void checkPanic() {
        String p = panic;
        if (p != null) {
            throw new KernelPanic(p);
        }
    }

    /**
     * Sets the panic flag. Returns false if the module had panicked already (the first reason is kept).
     * The caller then prints the panic and {@link #interruptSleepers() interrupts the sleepers}, in that
     * order: what the unwound sleepers do comes after the panic line in the log, as on a machine whose
     * other CPUs stop after the message.
     */
    boolean panic(String why) {
        synchronized (this) {
            if (panic != null) {
                return false;
            }
            panic = why;
        }
        return true;
    }

    /** After {@link #panic}: every registered sleeper is interrupted and sees the panic. */
    void interruptSleepers() {
        for (Thread t : sleepers.keySet()) {
            // only while still registered, atomically with its leave(): an interrupt can then not land after
            // the sleeper left and consumed the panic's interrupts (see leave)
            sleepers.computeIfPresent(t, (th, what) -> {
                th.interrupt();
                return what;
            });
        }
    }

    /** Registers the calling thread as sleeping in this kernel on {@code what} (paired with {@link #leave}). */
    public void enter(Thread self, String what) { enter(self, what, null); }

    /** As {@link #enter(Thread, String)}, naming who can end the sleep ({@link WaitGraph}'s edges; null: not known). */
    public void enter(Thread self, String what, Blockers blockers) {
        sleepers.put(self, new Sleep(what == null ? "uninterruptible sleep" : what, blockers, System.nanoTime(),
            sleeps.incrementAndGet()));
    }

    public void leave(Thread self) {
        sleepers.remove(self);
        consumePanicInterrupt(self);
    }

    /**
     * After a panic, an interrupt of {@code self} is the panic's own ({@link #interruptSleepers}, which
     * interrupts only registered sleepers, atomically with their removal): consumed here, so a thread that
     * goes on after the panic does not carry it into its next blocking call — whether it landed while the
     * thread blocked, or in the instant between the panic flag and the interrupt, after the sleeper had seen
     * the flag and begun to raise {@link KernelPanic}.
     */
    private void consumePanicInterrupt(Thread self) {
        if (panic != null && self == Thread.currentThread()) {
            Thread.interrupted();
        }
    }

    /**
     * Ends a sleep of {@code self} ({@link #leave}) and applies the interrupt policy: an interrupt that
     * came during the sleep was deferred and is re-asserted now, unless the module panicked — then it was
     * the panic's own ({@link #interruptSleepers}), and the {@link KernelPanic} the sleeper raises is its
     * delivery. Re-asserting it would leave a stale interrupt in a thread that goes on after the panic (a
     * test that catches it, the explorer replacing the module), failing its next unrelated blocking call.
     */
    public void leave(Thread self, boolean interrupted) {
        sleepers.remove(self);
        if (panic != null) {
            consumePanicInterrupt(self);
        } else if (interrupted) {
            self.interrupt();
        }
    }

    /** Threads sleeping in this kernel right now. */
    public int sleepers() { return sleepers.size(); }

    /** What each sleeping thread waits for, by thread name (a snapshot, for inspection and hung-task reports). */
    public Map<String, String> blocked() {
        Map<String, String> m = new TreeMap<>();
        sleepers.forEach((t, w) -> m.put(t.getName(), w.what()));
        return m;
    }

    /** The sleeps right now, by thread (a snapshot, for {@link WaitGraph}). */
    public Map<Thread, Sleep> sleeps() { return Map.copyOf(sleepers); }

    /**
     * TASK_UNINTERRUPTIBLE wait on {@code monitor}, which the caller holds, until {@code done} holds.
     * Interrupts are deferred and re-asserted on return (see {@link #leave(Thread, boolean)}); a panic throws
     * {@link KernelPanic}.
     */
    public void waitUntil(Object monitor, BooleanSupplier done) { waitUntil(monitor, null, done); }

    /** {@link #waitUntil(Object, BooleanSupplier)}, naming what is waited for ({@link #blocked()} shows it). */
    public void waitUntil(Object monitor, String what, BooleanSupplier done) { waitUntil(monitor, what, null, done); }

    /**
     * {@link #waitUntil(Object, String, BooleanSupplier)}, naming who can end the sleep too: the deadlock oracle's
     * edges ({@link WaitGraph}; null: not known).
     */
    public void waitUntil(Object monitor, String what, Blockers blockers, BooleanSupplier done) {
        if (done.getAsBoolean()) {
            return;
        }
        Thread self = Thread.currentThread();
        boolean interrupted = false;
        enter(self, what, blockers);
        try {
            while (!done.getAsBoolean()) {
                checkPanic();
                try {
                    monitor.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            leave(self, interrupted);
        }
    }

    /**
     * kernel: down() — an uninterruptible wait for {@code sem} like {@link #waitUntil}: named {@code what} in
     * {@link #blocked()}, interrupts deferred and re-asserted on return, a panic throws {@link KernelPanic} (a plain
     * {@code acquireUninterruptibly} is a sleep no panic could end).
     */
    public void down(java.util.concurrent.Semaphore sem, String what) {
        if (sem.tryAcquire()) {
            return;
        }
        Thread self = Thread.currentThread();
        boolean interrupted = false;
        enter(self, what);
        try {
            while (true) {
                checkPanic();
                try {
                    sem.acquire();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true; // the panic's (checked on the next turn), or deferred as every sleep defers it
                }
            }
        } finally {
            leave(self, interrupted);
        }
    }

    /**
     * TASK_INTERRUPTIBLE wait on {@code monitor}, which the caller holds, until {@code done} holds: returns
     * true when it does, false when the thread was interrupted (the interrupt status set again: the kernel's
     * -ERESTARTSYS); a panic throws {@link KernelPanic}. Named as {@link #blocked()} shows it.
     */
    public boolean waitUntilInterruptible(Object monitor, String what, BooleanSupplier done) {
        if (done.getAsBoolean()) {
            return true;
        }
        Thread self = Thread.currentThread();
        enter(self, what);
        try {
            while (!done.getAsBoolean()) {
                checkPanic();
                try {
                    monitor.wait();
                } catch (InterruptedException e) {
                    checkPanic(); // the panic's own interrupt ends the sleep with the panic
                    self.interrupt();
                    return false;
                }
            }
            return true;
        } finally {
            leave(self);
        }
    }

    /**
     * As {@link #waitUntil(Object, BooleanSupplier)} for at most {@code nanos} (real time); returns
     * whether {@code done} held.
     */
    public boolean waitUntil(Object monitor, BooleanSupplier done, long nanos) {
        if (done.getAsBoolean()) {
            return true;
        }
        long deadline = System.nanoTime() + nanos;
        Thread self = Thread.currentThread();
        boolean interrupted = false;
        enter(self, "timed wait");
        try {
            while (!done.getAsBoolean()) {
                checkPanic();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(monitor, left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            leave(self, interrupted);
        }
    }
}
