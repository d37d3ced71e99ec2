package org.jbtrfs.transaction;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.kernel.Sched;

/**
 * The resume kthreads (btrfs-balance, btrfs-devrepl) a mount or an RO→RW remount started and that have not returned:
 * the count the proposed fixes {@link org.jbtrfs.core.FixSwitch#BALANCE_RESUME_PAUSE_RACE} and
 * {@link org.jbtrfs.core.FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE} add (no 5.11 counterpart: 5.11 waits for neither
 * kthread). Counted in before kthread_run; the kthread's last act counts itself out and wakes the waiters under the
 * wait queue's lock, so a waiter that sees 0 knows no resume kthread touches fs_info any more.
 */
public final class ResumeKthreads {
    private final Sched sched;
    /** The wait queue the count's waiters sleep on (balance_wait_q for balance; one of its own for dev-replace). */
    private final Object waitQueue;
    private final AtomicInteger count = new AtomicInteger();

    ResumeKthreads(Sched sched, Object waitQueue) {
        this.sched = sched;
        this.waitQueue = waitQueue;
    }

    /** A resume kthread about to be started. */
    public void started() { count.incrementAndGet(); }

    /** A resume kthread's last act (or its start failed): counted out, the waiters woken. */
    public void done() {
        synchronized (waitQueue) {
            count.decrementAndGet();
            waitQueue.notifyAll();
        }
    }

    /** Resume kthreads started and not yet returned. */
    public int running() { return count.get(); }

    /** An uninterruptible module sleep named {@code what} until every resume kthread returned. */
    public void waitForAll(String what) {
        synchronized (waitQueue) {
            sched.waitUntil(waitQueue, what, () -> count.get() == 0);
        }
    }
}
