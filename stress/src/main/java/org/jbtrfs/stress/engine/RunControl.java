package org.jbtrfs.stress.engine;

import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.CycleResult;
import org.jbtrfs.stress.report.Reporter;
import org.jbtrfs.stress.report.RunStats;

/** When the run stops (duration, abort, enough found; each driver's cycle range ends it too) and where verdicts go. */
final class RunControl {
    private final long deadline;
    private final boolean bounded;
    private final long stopAfterFailures;
    private final java.util.Set<String> stopWhenFound;
    final RunStats stats;
    private final Reporter reporter;
    private volatile String abortReason;

    RunControl(StressOptions opt, RunStats stats, Reporter reporter) {
        this.stats = stats;
        this.reporter = reporter;
        this.bounded = opt.durationNanos() != Long.MAX_VALUE;
        this.deadline = stats.startNanos + (bounded ? opt.durationNanos() : 0);
        this.stopAfterFailures = opt.stopAfterFailures();
        this.stopWhenFound = opt.stopWhenFound();
    }

    boolean stopped() {
        return abortReason != null || (bounded && System.nanoTime() - deadline >= 0)
            || stats.failing.get() >= stopAfterFailures || found();
    }

    private boolean found() {
        if (stopWhenFound.isEmpty() || stats.failing.get() == 0) {
            return false;
        }
        java.util.Map<String, Long> bugs = stats.bugs();
        return stopWhenFound.stream().anyMatch(bugs::containsKey);
    }

    void record(CycleResult r) {
        long before = stats.record(r);
        if (r.failed()) {
            reporter.failure(r, before);
        }
    }

    void abort(String why) {
        if (abortReason == null) {
            abortReason = why;
        }
    }

    String abortReason() { return abortReason; }

    /** Seconds left, or -1 when only a cycle budget bounds the run. */
    double secondsLeft() {
        return bounded ? Math.max(0, (deadline - System.nanoTime()) / 1e9) : -1;
    }
}
