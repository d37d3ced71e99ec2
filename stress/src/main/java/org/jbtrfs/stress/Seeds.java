package org.jbtrfs.stress;

import java.util.SplittableRandom;

/**
 * Seed derivation. Every random choice of a cycle comes from generators derived from the cycle seed,
 * which is a pure function of (run seed, filesystem index, cycle number), so {@code --replay} can
 * recompute it without the run that found it.
 */
public final class Seeds {
    private Seeds() { }

    /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The seed of cycle {@code cycle} of filesystem {@code fs} in a run seeded with {@code runSeed}. */
    public static long cycleSeed(long runSeed, int fs, long cycle) {
        return mix(mix(runSeed ^ 0x9E3779B97F4A7C15L * (cycle + 1)) + 0x632BE59BD9B4E019L * (fs + 1));
    }

    /**
     * A generator for one named stream of a cycle ("workload", "plan", "cleaner", ...). Streams are
     * keyed by name so that the decisions one thread role draws do not depend on how many decisions
     * other roles drew before it: interleaving changes the order of arrivals, not each role's sequence.
     */
    public static SplittableRandom stream(long cycleSeed, String name) {
        long h = 1125899906842597L;
        for (int i = 0; i < name.length(); i++) {
            h = 31 * h + name.charAt(i);
        }
        return new SplittableRandom(mix(cycleSeed ^ mix(h)));
    }
}
