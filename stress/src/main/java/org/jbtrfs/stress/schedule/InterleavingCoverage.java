package org.jbtrfs.stress.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.Hook;

/**
 * How much of the interleaving space a run reached: the distinct hand-overs between threads its cycles' timelines
 * show, counted over the whole run (every filesystem's cycles together) — interleaving coverage as concurrency fuzzers
 * measure it (Krace, Xu et al., S&amp;P 2020; Snowboard, Gong et al., SOSP 2021). A hand-over (an edge) is one role's
 * arrival at a hook followed by another role's arrival at a hook ({@code btrfs-cleaner@CLEANER_BEFORE_REMOVE_BG_TRANS
 * → lifecycle@REMOUNT_AFTER_SET_RO}). The per-bio hooks are left out (hundreds per cycle, they would dominate the
 * count), and a pooled thread's role ("other:NAME") counts as "other".
 *
 * <p>The summary prints the count ("interleaving coverage: N distinct edges"), so that two configurations of the same
 * length can be compared by what they reach, not only by what they find: a hunt for unknown bugs wants the one that
 * reaches more. A measure, not a guide: stop 30 tried rerunning the plans of the epochs that made new edges under new
 * schedules (a fuzzer's corpus) and it neither found the rare windows sooner nor reached more edges
 * (docs/explorer.md, "Guided epochs and slow roles").
 */
public final class InterleavingCoverage {
    private final ConcurrentHashMap<Long, Integer> counts = new ConcurrentHashMap<>();

    /**
     * Counts the edges of one cycle's timeline (null: a cycle without one, nothing to count).
     *
     * @return how many of them the run had not made before
     */
    public int observe(Timeline t) {
        if (t == null) {
            return 0;
        }
        int fresh = 0;
        for (long e : edges(t.arrivals())) {
            if (counts.merge(e, 1, Integer::sum) == 1) {
                fresh++;
            }
        }
        return fresh;
    }

    /** How many distinct edges the run has made so far. */
    public int distinct() { return counts.size(); }

    /** The run summary's line. */
    public String describe() {
        return String.format(Locale.ROOT, "interleaving coverage: %,d distinct edges (hand-overs between threads at hooks)", distinct());
    }

    /** The edges of a timeline's arrivals, in order: every hand-over from one role's arrival to another role's. */
    static List<Long> edges(List<Timeline.Arrival> arrivals) {
        List<Long> out = new ArrayList<>();
        Timeline.Arrival prev = null;
        for (Timeline.Arrival a : arrivals) {
            if (Schedule.PER_BIO.contains(a.hook())) {
                continue;
            }
            if (prev != null && !role(prev).equals(role(a))) {
                out.add(key(role(prev), prev.hook(), role(a), a.hook()));
            }
            prev = a;
        }
        return out;
    }

    private static String role(Timeline.Arrival a) {
        return a.role().startsWith("other:") ? "other" : a.role();
    }

    private static long key(String r1, Hook h1, String r2, Hook h2) {
        long k = r1.hashCode();
        k = k * 1_000_003L + h1.ordinal();
        k = k * 1_000_003L + r2.hashCode();
        return k * 1_000_003L + h2.ordinal();
    }
}
