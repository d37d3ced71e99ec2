package org.jbtrfs.core.kernel;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@code atomic_t} a task waits to see reach 0: {@code atomic_inc}, {@code atomic_dec_and_test} followed by
 * {@code wake_up_var}, and {@code wait_var_event(&v, !atomic_read(&v))} — fs_info->nr_delayed_iputs and
 * btrfs_wait_on_delayed_iputs(), for one. The waiter tests the count under the monitor it sleeps on and the
 * decrement that reaches 0 notifies under it, so no wake-up is lost. The sleep follows the port's interrupt policy
 * ({@link Sched}): uninterruptible, ended early only by a panic of the module.
 */
public final class AtomicVar {
    private final AtomicInteger count = new AtomicInteger();
    private final Sched sched;

    public AtomicVar(Sched sched) { this.sched = sched; }

    /** atomic_inc */
    public void inc() { count.incrementAndGet(); }

    /** atomic_dec_and_test, and wake_up_var when it reached 0. */
    public void dec() {
        if (count.decrementAndGet() == 0) {
            synchronized (count) {
                count.notifyAll();
            }
        }
    }

    /** atomic_read */
    public int get() { return count.get(); }

    /** wait_var_event(&v, !atomic_read(&v)); {@code what} names the sleep for the scheduler's bookkeeping. */
    public void waitForZero(String what) {
        waitForZeroOr(what, () -> false);
    }

    /**
     * wait_var_event(&v, !atomic_read(&v) || other()): the same sleep, ended also by {@code other}, whose changes
     * {@link #wake} after they are made.
     */
    public void waitForZeroOr(String what, java.util.function.BooleanSupplier other) {
        synchronized (count) {
            sched.waitUntil(count, what, () -> count.get() == 0 || other.getAsBoolean());
        }
    }

    /** wake_up_var(&v) without a change of the count: for a waiter of {@link #waitForZeroOr}. */
    public void wake() {
        synchronized (count) {
            count.notifyAll();
        }
    }
}
