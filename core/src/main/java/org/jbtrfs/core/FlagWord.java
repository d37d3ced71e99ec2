package org.jbtrfs.core;

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
 * waiter sees the bit clear. So no wake-up is lost and an uncontended clear costs no lock.
 */
public final class FlagWord<E extends Enum<E>> {
    private final AtomicLong word = new AtomicLong();
    private final Object waitQueue = new Object();
    private volatile int waiters;

    private static long mask(Enum<?> bit) { return 1L << bit.ordinal(); }

    /** kernel: test_bit() */
    public boolean test(E bit) { return (word.get() & mask(bit)) != 0; }

    /** kernel: set_bit() */
    public void set(E bit) { word.getAndUpdate(w -> w | mask(bit)); }

    /** kernel: clear_bit() — no wake-up: a waiter in {@link #waitOnBit} is not told. */
    public void clear(E bit) { word.getAndUpdate(w -> w & ~mask(bit)); }

    /** kernel: test_and_set_bit(); returns the old value. */
    public boolean testAndSet(E bit) { return (word.getAndUpdate(w -> w | mask(bit)) & mask(bit)) != 0; }

    /** kernel: test_and_clear_bit(); returns the old value. */
    public boolean testAndClear(E bit) { return (word.getAndUpdate(w -> w & ~mask(bit)) & mask(bit)) != 0; }

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
     * are deferred (uninterruptible sleep) and re-asserted on return.
     */
    public void waitOnBit(E bit) {
        if (!test(bit)) {
            return;
        }
        boolean interrupted = false;
        synchronized (waitQueue) {
            waiters++;
            try {
                while (test(bit)) {
                    try {
                        waitQueue.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                waiters--;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while some thread is blocked in {@link #waitOnBit} (tests use it to see a waiter arrive). */
    public boolean hasWaiters() { return waiters > 0; }

    /** The raw word, for reports. */
    public long raw() { return word.get(); }

    @Override
    public String toString() { return "0x" + Long.toHexString(word.get()); }
}
