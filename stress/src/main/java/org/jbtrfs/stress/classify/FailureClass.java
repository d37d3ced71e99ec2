package org.jbtrfs.stress.classify;

import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.jbtrfs.stress.ReplayToken;

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

    /** Most frequent first; then by signature, so that the order does not depend on which thread recorded first. */
    public static final Comparator<FailureClass> ORDER = Comparator.comparingLong(FailureClass::count).reversed()
        .thenComparing(FailureClass::signature);

    /** The replay token of its first cycle ("7:3" of "7:3 --class ab12cd34"). */
    public ReplayToken firstToken() { return ReplayToken.parse(firstReplay.split(" ", 2)[0]); }

    /**
     * This class and the same class from another run or shard: the counts added, the symptoms joined, and
     * the first occurrence the one first in seed order (run seed, cycle, filesystem) — deterministic, where
     * "first seen" by time is not across shards or filesystems.
     */
    public FailureClass merge(FailureClass other) {
        boolean mine = firstToken().compareTo(other.firstToken()) <= 0;
        TreeSet<String> sym = new TreeSet<>(symptoms);
        sym.addAll(other.symptoms);
        FailureClass first = mine ? this : other;
        return new FailureClass(id, signature, kind, site, lanes, count + other.count, first.firstReplay,
            first.firstSecondsIntoRun, attributedTo, decision, List.copyOf(sym));
    }
}
