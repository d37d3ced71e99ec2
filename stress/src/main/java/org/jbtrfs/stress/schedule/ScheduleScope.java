package org.jbtrfs.stress.schedule;

import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.core.Hook;

/**
 * The perturbation context of one filesystem's driver: its current cycle's schedule and timeline.
 * Arrivals between cycles (module reload, mkfs) are neither perturbed nor recorded.
 */
public final class ScheduleScope {
    final int index;
    public volatile Thread driver;
    private volatile Schedule schedule;
    private volatile Timeline timeline;

    /** This filesystem's kernel threads now sleeping in a perturbation delay; guarded by this. */
    private int kernelSleepers;
    /** When {@link #kernelSleepers} last went from 0 to 1; guarded by this. */
    private long kernelSleepingSince;
    /** The time, summed, during which at least one of them slept so, up to the last time none did; guarded by this. */
    private long kernelDelayed;

    public ScheduleScope(int index) { this.index = index; }

    /**
     * Nanoseconds so far during which at least one of this filesystem's kernel threads (kworkers, kthreads) slept in a
     * perturbation delay — the union of their delays, not their sum: a serial chain of works (the delalloc queue's
     * ordered steps) delays whoever waits for its end by about this much, and no more however many kworkers sleep side by
     * side. The explorer's time, not the kernel's (a lane's stall excuses it, {@code Busy}).
     */
    public synchronized long kernelDelayNanos() {
        return kernelDelayed + (kernelSleepers > 0 ? System.nanoTime() - kernelSleepingSince : 0);
    }

    private synchronized void kernelSleepStarts() {
        if (kernelSleepers++ == 0) {
            kernelSleepingSince = System.nanoTime();
        }
    }

    private synchronized void kernelSleepEnds() {
        if (--kernelSleepers == 0) {
            kernelDelayed += System.nanoTime() - kernelSleepingSince;
        }
    }

    public void begin(Schedule s, Timeline t) {
        timeline = t;
        schedule = s;
    }

    public void end() {
        schedule = null;
    }

    public Timeline timeline() { return timeline; }

    Schedule schedule() { return schedule; }

    void arrive(Hook hook, Thread t) {
        Schedule s = schedule;
        Timeline tl = timeline;
        if (s == null || tl == null) {
            return;
        }
        String role = Roles.of(t, driver, hook);
        Schedule.Decision d = s.decide(role, hook);
        tl.add(role, hook, d.describe());
        if (d.yield()) {
            Thread.yield();
        } else if (d.nanos() > 0) {
            boolean kernel = !role.equals(Roles.DRIVER) && !Roles.LANES.contains(role);
            if (kernel) {
                kernelSleepStarts();
            }
            try {
                sleep(d.nanos());
            } finally {
                if (kernel) {
                    kernelSleepEnds();
                }
            }
        }
    }

    /**
     * Sleeps the full time. parkNanos alone can return at once: kthreads are woken with unpark, so a
     * pooled thread may carry a stale permit into the hook (see Hooks.delay).
     */
    public static void sleep(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }
}
