package org.jbtrfs.stress;

/**
 * What {@code --replay} names: {@code RUNSEED:CYCLE} or {@code RUNSEED:CYCLE:FS} (FS defaults to 0).
 * The run seed is decimal or 0x-hex. The cycle seed is recomputed from the three numbers. Tokens order
 * by seed order: run seed, cycle, filesystem (the order a merge keeps the first replay of a class by).
 */
public record ReplayToken(long runSeed, long cycle, int fs) implements Comparable<ReplayToken> {
    /**
     * Parses a token as printed for a failing cycle.
     *
     * @throws IllegalArgumentException naming the text when it is not RUNSEED:CYCLE[:FS]
     */
    public static ReplayToken parse(String s) {
        String[] p = s.trim().split(":");
        if (p.length < 2 || p.length > 3) {
            throw malformed(s);
        }
        try {
            long seed = Seeds.parse(p[0]);
            long cycle = Long.parseLong(p[1]);
            int fs = p.length == 3 ? Integer.parseInt(p[2]) : 0;
            if (cycle < 0 || fs < 0) {
                throw malformed(s);
            }
            return new ReplayToken(seed, cycle, fs);
        } catch (NumberFormatException e) {
            throw malformed(s);
        }
    }

    private static IllegalArgumentException malformed(String s) {
        return new IllegalArgumentException("malformed replay seed '" + s + "': expected RUNSEED:CYCLE or RUNSEED:CYCLE:FS");
    }

    /** The seed every choice of the cycle is drawn from. */
    public long cycleSeed() { return Seeds.cycleSeed(runSeed, fs, cycle); }

    @Override
    public int compareTo(ReplayToken o) {
        int c = Long.compare(runSeed, o.runSeed);
        if (c == 0) {
            c = Long.compare(cycle, o.cycle);
        }
        return c != 0 ? c : Integer.compare(fs, o.fs);
    }

    @Override
    public String toString() { return runSeed + ":" + cycle + (fs == 0 ? "" : ":" + fs); }
}
