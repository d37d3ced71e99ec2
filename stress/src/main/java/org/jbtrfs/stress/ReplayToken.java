package org.jbtrfs.stress;

/**
 * What {@code --replay} names: {@code RUNSEED:CYCLE} or {@code RUNSEED:CYCLE:FS} (FS defaults to 0).
 * The run seed is decimal or 0x-hex. The cycle seed is recomputed from the three numbers.
 */
public record ReplayToken(long runSeed, long cycle, int fs) {
    static ReplayToken parse(String s) throws UsageException {
        String[] p = s.trim().split(":");
        if (p.length < 2 || p.length > 3) {
            throw new UsageException("malformed replay seed '" + s + "': expected RUNSEED:CYCLE or RUNSEED:CYCLE:FS");
        }
        try {
            long seed = StressOptions.parseSeed(p[0]);
            long cycle = Long.parseLong(p[1]);
            int fs = p.length == 3 ? Integer.parseInt(p[2]) : 0;
            if (cycle < 0 || fs < 0) {
                throw new NumberFormatException("negative");
            }
            return new ReplayToken(seed, cycle, fs);
        } catch (NumberFormatException e) {
            throw new UsageException("malformed replay seed '" + s + "': expected RUNSEED:CYCLE or RUNSEED:CYCLE:FS");
        }
    }

    @Override
    public String toString() { return runSeed + ":" + cycle + (fs == 0 ? "" : ":" + fs); }
}
