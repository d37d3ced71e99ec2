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

    public ScheduleScope(int index) { this.index = index; }

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
            sleep(d.nanos());
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
