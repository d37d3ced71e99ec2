package org.jbtrfs.stress;

import java.util.SplittableRandom;

/**
 * Seed derivation. Every random choice of a cycle comes from generators derived from the cycle seed,
 * which is a pure function of (run seed, filesystem index, cycle number), so {@code --replay} can
 * recompute it without the run that found it.
 */
public final class Seeds {
    /**
     * Cycles per mkfs: long enough for state to build up (extents, stray orphans), short enough for
     * {@code --replay} to rerun the epoch's earlier cycles first.
     */
    public static final long EPOCH = 16;

    private Seeds() { }

    /**
     * A run seed as the CLI takes it: decimal (possibly negative) or 0x-hex.
     *
     * @throws NumberFormatException naming the text
     */
    public static long parse(String text) {
        String s = text.trim();
        boolean neg = s.startsWith("-");
        String body = neg ? s.substring(1) : s;
        long r = body.startsWith("0x") || body.startsWith("0X") ? Long.parseUnsignedLong(body.substring(2), 16)
            : Long.parseLong(body);
        return neg ? -r : r;
    }

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
