package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelPanic;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A word of atomic flag bits with enum-typed bits: the kernel's {@code test_bit}, {@code set_bit},
 * {@code clear_bit}, {@code test_and_set_bit}, {@code clear_and_wake_up_bit} and
 * {@code wait_on_bit} on an {@code unsigned long}.
 *
 * <p>Memory ordering: every bit operation is a volatile (sequentially consistent) access of the
 * backing {@link AtomicLong}. That is stronger than the kernel's relaxed {@code set_bit}, and it is
 * what the patch 3/5 argument needs: remount "sets STATE_RO, then tests CLEANER_RUNNING" and the
 * cleaner "sets CLEANER_RUNNING, then tests STATE_RO"; with both accesses SC one of them sees the
 * other's store.
 *
 * <p>Waiting: {@link #waitOnBit} and {@link #clearAndWakeUpBit} are a Dekker pair on
 * {@code (bit, waiters)}: the waiter publishes itself in {@code waiters} and then re-tests the bit
 * under the monitor; the waker clears the bit and then reads {@code waiters}. Either the waker sees a
 * waiter (and notifies under the monitor, which the waiter holds from its test to its wait) or the
 * waiter sees the bit clear. So no wake-up is lost and an uncontended clear costs no lock. The sleep
 * follows the port's interrupt policy ({@link Sched}): uninterruptible, ended early only by a panic of
 * the module the word belongs to.
 */
public final class FlagWord<E extends Enum<E>> {
    private final AtomicLong word = new AtomicLong();
    private final Object waitQueue = new Object();
    private final Sched sched;
    /** Threads in {@link #waitOnBit}, all bits. Written under waitQueue, read by wakers without it. */
    private volatile int waiters;
    /** Threads in {@link #waitOnBit} per bit. Guarded by waitQueue. */
    private final int[] bitWaiters = new int[64];

    /** A flag word outside any module (waits are not ended by a panic). */
    public FlagWord() { this(null); }

    /** A flag word of a module's kernel: a panic of that module ends {@link #waitOnBit}. */
    public FlagWord(Sched sched) { this.sched = sched; }

    private static long mask(Enum<?> bit) { return 1L << bit.ordinal(); }

    /** kernel: test_bit() */
    public boolean test(E bit) { return (word.get() & mask(bit)) != 0; }

    /** kernel: set_bit() */
    public void set(E bit) { or(mask(bit)); }

    /** kernel: clear_bit() — no wake-up: a waiter in {@link #waitOnBit} is not told. */
    public void clear(E bit) { andNot(mask(bit)); }

    /** kernel: test_and_set_bit(); returns the old value. */
    public boolean testAndSet(E bit) { return (or(mask(bit)) & mask(bit)) != 0; }

    /** kernel: test_and_clear_bit(); returns the old value. */
    public boolean testAndClear(E bit) { return (andNot(mask(bit)) & mask(bit)) != 0; }

    /*
     * The read-modify-writes are written as get + compareAndSet loops rather than getAndUpdate(lambda):
     * the same atomic OR / AND-NOT, but made of the two accesses Lincheck's model checker intercepts, so
     * FlagWordLincheckTest can place a context switch before the store (it sees no switch point inside
     * getAndUpdate, and would miss an ordering bug around it).
     */

    /** Atomically ORs {@code m} into the word; returns the old word. */
    private long or(long m) {
        long old;
        do {
            old = word.get();
        } while (!word.compareAndSet(old, old | m));
        return old;
    }

    /** Atomically clears {@code m} in the word; returns the old word. */
    private long andNot(long m) {
        long old;
        do {
            old = word.get();
        } while (!word.compareAndSet(old, old & ~m));
        return old;
    }

    /** kernel: clear_and_wake_up_bit() — clear with release semantics, then wake waiters on the bit. */
    public void clearAndWakeUpBit(E bit) {
        clear(bit);
        if (waiters > 0) {
            synchronized (waitQueue) {
                waitQueue.notifyAll();
            }
        }
    }

    /**
     * kernel: wait_on_bit(..., TASK_UNINTERRUPTIBLE) — returns once {@code bit} is clear. Interrupts
     * are deferred (uninterruptible sleep) and re-asserted on return; a panic of the module throws
     * {@link KernelPanic}.
     */
    public void waitOnBit(E bit) { waitOnBit(bit, null); }

    /**
     * As {@link #waitOnBit(Enum)}, naming who clears the bit ({@link Blockers}: the deadlock oracle's edge; null: not
     * known) — a bit only its owner clears, as the cleaner kthread clears CLEANER_RUNNING.
     */
    public void waitOnBit(E bit, Blockers clearedBy) {
        if (!test(bit)) {
            return;
        }
        synchronized (waitQueue) {
            waiters++;
            bitWaiters[bit.ordinal()]++;
            try {
                if (sched != null) {
                    sched.waitUntil(waitQueue, "wait_on_bit(" + bit.name() + ")", clearedBy, () -> !test(bit));
                } else {
                    waitPlain(bit);
                }
            } finally {
                bitWaiters[bit.ordinal()]--;
                waiters--;
            }
        }
    }

    private void waitPlain(E bit) {
        boolean interrupted = false;
        while (test(bit)) {
            try {
                waitQueue.wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while some thread is blocked in {@link #waitOnBit} on any bit. */
    public boolean hasWaiters() { return waiters > 0; }

    /** Threads blocked in {@link #waitOnBit} on {@code bit} right now (a reproducer's proof of where a thread waits). */
    public int waiters(E bit) {
        synchronized (waitQueue) {
            return bitWaiters[bit.ordinal()];
        }
    }

    /** The raw word, for reports. */
    public long raw() { return word.get(); }

    @Override
    public String toString() { return "0x" + Long.toHexString(word.get()); }
}
