package org.jbtrfs.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A clock that only moves when a test advances it. Threads in a timed sleep register here and are
 * unparked on every {@link #advance}, so they re-check their deadline.
 */
public final class ManualClock implements KernelClock {
    private volatile long now;
    private final Set<Thread> sleepers = ConcurrentHashMap.newKeySet();
    /** Timed sleeps begun on this clock (each {@link #parkUntil} call): a test's proof that a sleeper re-checked. */
    private final AtomicLong parks = new AtomicLong();

    public ManualClock() { this(0); }

    public ManualClock(long startNanos) { this.now = startNanos; }

    @Override public long nanoTime() { return now; }

    @Override public void parkUntil(long deadlineNanos) {
        Thread self = Thread.currentThread();
        parks.incrementAndGet();
        sleepers.add(self);
        try {
            // Registered before the re-check, so an advance() racing with us unparks us.
            if (now < deadlineNanos) {
                LockSupport.park(this);
            }
        } finally {
            sleepers.remove(self);
        }
    }

    /** Moves time forward and wakes every timed sleeper to re-check its deadline. */
    public void advance(long amount, TimeUnit unit) {
        if (amount < 0) {
            throw new IllegalArgumentException("time does not go backwards: " + amount);
        }
        synchronized (this) {
            now += unit.toNanos(amount);
        }
        sleepers.forEach(LockSupport::unpark);
    }

    /** Number of threads currently in a timed sleep on this clock. */
    public int sleepers() { return sleepers.size(); }

    /**
     * Timed sleeps begun on this clock so far. A sleeper woken by {@link #advance} that finds its deadline
     * still ahead begins another one: a test waits for this count to grow to know the sleeper re-checked its
     * deadline and went back to sleep, rather than guessing from elapsed time.
     */
    public long parks() { return parks.get(); }

    @Override public String toString() { return "manual@" + now + "ns"; }
}
