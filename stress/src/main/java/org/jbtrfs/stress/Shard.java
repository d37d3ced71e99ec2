package org.jbtrfs.stress;

import java.util.Locale;

/**
 * {@code --shard i/n}: the i-th of n disjoint parts of a run's cycles, 1-based ({@code 1/1} is the whole
 * run). The unit of a shard is the epoch — the {@value Seeds#EPOCH} cycles between two mkfs, whose
 * first cycles build the state the later ones start from — so a shard's cycles start from the state
 * they start from in the whole run. Shard i owns the epochs e with {@code e mod n = i - 1}: interleaved,
 * so that a run bounded by time rather than by cycles still spreads every shard over the same range of
 * cycle numbers.
 *
 * @param index 1..count
 * @param count how many shards share the run
 */
public record Shard(int index, int count) {
    /** The whole run. */
    public static final Shard ALL = new Shard(1, 1);

    public Shard {
        if (count < 1 || index < 1 || index > count) {
            throw new IllegalArgumentException("a shard is i/n with 1 <= i <= n, not " + index + "/" + count);
        }
    }

    /**
     * "2/3". Anything else ("3/2", "0/0", "1/0", "x/y", "2") is refused with a message that says what a
     * shard is.
     *
     * @throws IllegalArgumentException naming the text
     */
    public static Shard parse(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not a shard: expected i/n with 1 <= i <= n, e.g. 2/3");
        }
        int i;
        int n;
        try {
            i = Integer.parseInt(s.substring(0, slash).trim());
            n = Integer.parseInt(s.substring(slash + 1).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a shard: expected i/n with whole numbers, 1 <= i <= n, e.g. 2/3");
        }
        if (n < 1 || i < 1 || i > n) {
            throw new IllegalArgumentException("'" + text + "' is not a shard: expected i/n with 1 <= i <= n (shards count from 1)");
        }
        return new Shard(i, n);
    }

    /** True if epoch {@code epoch} is this shard's. */
    public boolean owns(long epoch) { return Math.floorMod(epoch, (long) count) == index - 1; }

    /** The first epoch this shard owns at or after {@code epoch}. */
    public long ownedFrom(long epoch) {
        long e = Math.max(0, epoch);
        return e + Math.floorMod(index - 1 - e, (long) count);
    }

    @Override
    public String toString() { return String.format(Locale.ROOT, "%d/%d", index, count); }
}
