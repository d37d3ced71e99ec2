package org.jbtrfs.stress.classify;

import java.util.List;

/**
 * One class of failing cycles in a run's summary: a plain record that serialises to JSON as it is and
 * merges with the same class of another run (add the counts, keep the earliest first occurrence).
 *
 * @param id              8 hex digits of the signature, for {@code --replay TOKEN --class ID}
 * @param signature       {@code kind:site@lanes} (see {@link Signature})
 * @param kind            the symptom kind
 * @param site            the kernel function, assertion or frame
 * @param lanes           lanes and kernel threads involved
 * @param count           failing cycles of this class
 * @param firstReplay     the replay token of its first cycle
 * @param firstSecondsIntoRun when it was first seen
 * @param attributedTo    the reverted switches it is attributed to, or ["unexplained"]
 * @param decision        kernel or port, as triaged (see {@link Decisions}), or "not triaged"
 * @param symptoms        the symptoms its cycles showed
 */
public record FailureClass(String id, String signature, String kind, String site, List<String> lanes, long count, String firstReplay,
                    double firstSecondsIntoRun, List<String> attributedTo, String decision, List<String> symptoms) {

    public static final String UNEXPLAINED = "unexplained";

    /** This class and the same class from another run or shard. */
    FailureClass merge(FailureClass other) {
        boolean mine = firstSecondsIntoRun <= other.firstSecondsIntoRun;
        java.util.TreeSet<String> sym = new java.util.TreeSet<>(symptoms);
        sym.addAll(other.symptoms);
        return new FailureClass(id, signature, kind, site, lanes, count + other.count, mine ? firstReplay : other.firstReplay,
            Math.min(firstSecondsIntoRun, other.firstSecondsIntoRun), attributedTo, decision, List.copyOf(sym));
    }
}
