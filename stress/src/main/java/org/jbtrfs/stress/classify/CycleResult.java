package org.jbtrfs.stress.classify;

import java.util.List;
import java.util.Set;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.schedule.Timeline;

/**
 * The verdict on one cycle.
 *
 * @param fs         filesystem (driver) index
 * @param cycle      cycle number of that filesystem
 * @param cycleSeed  the seed every choice of the cycle was drawn from
 * @param replay     what {@code --replay} takes to rerun it
 * @param symptoms   what it showed (empty: passed)
 * @param bugs       switch names (kebab) the failure is attributed to, or "unknown"
 * @param evidence   human-readable lines: leaked transactions and who opened them, leaks, errors
 * @param log        the kernel log lines of the cycle
 * @param timeline   the hook arrivals of the cycle (null for the minimal workload)
 * @param schedule   the perturbation plan (and a lanes cycle's plan), for the report
 * @param signature  the failure class (null when the cycle passed)
 */
public record CycleResult(int fs, long cycle, long cycleSeed, ReplayToken replay, Set<Symptom> symptoms, Set<String> bugs,
                   List<String> evidence, List<LogEntry> log, Timeline timeline, String schedule, Signature signature) {
    public boolean failed() { return !symptoms.isEmpty(); }
}
