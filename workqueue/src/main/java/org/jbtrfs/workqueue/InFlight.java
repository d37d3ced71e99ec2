package org.jbtrfs.workqueue;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Counts the works of one sub-queue that were queued and are not complete yet, for
 * btrfs_flush_workqueue (wait for what was queued before the call) and btrfs_destroy_workqueue
 * (wait for everything, including works queued by the works being drained).
 *
 * <p>Flush uses two colours, a simplified form of the kernel workqueue's flush colours: a work is
 * counted in the colour current when it was queued; a flusher flips the colour and waits until the
 * old colour drains. Works queued after the flip land in the other colour, so a flusher never waits
 * for work queued after it started, even under a steady stream of submissions. Flushers are
 * serialized, so at most one colour is ever being waited for and two are enough. A producer that read
 * the colour just before a flip is counted in the old colour: the flusher then also waits for that
 * work, which was concurrent with the flush, never for one queued after flush() was called.
 *
 * <p>Drain waits for the total to reach zero; during a drain only chained works (queued by a work of
 * the same sub-queue, which is itself still counted) can raise it, so once zero it stays zero.
 */
final class InFlight {
    private final AtomicLong[] byColor = {new AtomicLong(), new AtomicLong()};
    private final AtomicLong total = new AtomicLong();
    /** Colour new works are counted in; flipped only under {@link #flushMutex}. */
    private volatile int color;
    private final ReentrantLock flushMutex = new ReentrantLock();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition reachedZero = lock.newCondition();
    /**
     * Threads waiting in {@link #awaitZero}. Dekker pair with {@link #exit}: a waiter writes this
     * (volatile) before re-reading the counter; exit decrements the counter (a volatile RMW) before
     * reading this. Sequential consistency of volatiles means at least one side sees the other, so
     * either the waiter sees zero and never sleeps, or exit sees a waiter and signals it under the lock
     * (which the waiter holds from its check until await releases it: no lost wake-up).
     */
    private volatile int waiters;

    /** A work is queued: returns the colour it is counted in. */
    int enter() {
        // total first: destroy's drain reads total after setting `draining`; see SubQueue.queue.
        total.incrementAndGet();
        int c = color;
        byColor[c].incrementAndGet();
        return c;
    }

    /** A work counted in colour {@code c} is complete (or was dropped). */
    void exit(int c) {
        // Both decrements must happen: no short-circuit.
        boolean colorZero = byColor[c].decrementAndGet() == 0;
        boolean totalZero = total.decrementAndGet() == 0;
        if ((colorZero || totalZero) && waiters != 0) {
            lock.lock();
            try {
                reachedZero.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Waits until every work counted before the call is complete. */
    void flush() {
        flushMutex.lock();
        try {
            int old = color;
            color = old ^ 1;
            awaitZero(byColor[old]);
        } finally {
            flushMutex.unlock();
        }
    }

    /** Waits until no work is in flight. */
    void drain() { awaitZero(total); }

    long total() { return total.get(); }

    private void awaitZero(AtomicLong counter) {
        if (counter.get() == 0) {
            return;
        }
        lock.lock();
        try {
            waiters++; // under the lock: a single writer at a time
            try {
                while (counter.get() != 0) {
                    // Uninterruptible like the kernel's flush_workqueue: an interrupt must not turn a
                    // flush into a silent no-op that lets the caller free what the works still use.
                    reachedZero.awaitUninterruptibly();
                }
            } finally {
                waiters--;
            }
        } finally {
            lock.unlock();
        }
    }
}
