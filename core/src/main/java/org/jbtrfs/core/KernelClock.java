package org.jbtrfs.core;

/**
 * The module's clock. The transaction kthread's commit interval and every timed kthread sleep run on
 * it, so tests can use a {@link ManualClock} and advance time instead of waiting 30 seconds.
 */
public interface KernelClock {
    /** Monotonic time in nanoseconds. */
    long nanoTime();

    /**
     * Blocks the calling thread until {@code deadlineNanos} is reached on this clock, the thread is
     * unparked ({@link java.util.concurrent.locks.LockSupport#unpark}), or spuriously. Callers loop.
     */
    void parkUntil(long deadlineNanos);

    /** Seconds, as the kernel's ktime_get_seconds() used for transaction start times. */
    default long seconds() { return nanoTime() / 1_000_000_000L; }

    /** The real monotonic clock. */
    KernelClock SYSTEM = new KernelClock() {
        @Override public long nanoTime() { return System.nanoTime(); }

        @Override public void parkUntil(long deadlineNanos) {
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(this, left);
            }
        }

        @Override public String toString() { return "system"; }
    };
}
