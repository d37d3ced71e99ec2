package org.jbtrfs.stress;

/**
 * Which cycles one filesystem's driver runs, in order. Cycle c of filesystem f of run seed S is the
 * same work in every run, shard and replay: its seed is {@link Seeds#cycleSeed}(S, f, c), and the
 * filesystem is made anew at every multiple of {@link Seeds#EPOCH}. A run covers, per filesystem, the
 * cycle numbers {@code 0 .. limit-1} ({@code --cycles N} splits N over the filesystems: the first
 * {@code N mod F} get one more), or unbounded numbers when only a duration bounds it; a shard covers the
 * numbers of its epochs ({@link Shard#owns}). A failing cycle ends its epoch — the module is replaced,
 * the state the epoch's later cycles would start from is gone — so they are not run, in the whole run
 * and in its shard alike. Hence n shards of one seed and cycle bound run exactly the cycles of the
 * unsharded run, each once, and find the classes it finds (with one filesystem: with several, a failure
 * on one ends the current epoch of all, since they share the module, and that depends on timing).
 *
 * @param limit cycle numbers at or past this are not run ({@code Long.MAX_VALUE}: no bound)
 * @param shard the epochs run
 */
public record CycleRange(long limit, Shard shard) {

    /** Filesystem {@code fs}'s range when {@code cycles} cycles in total (Long.MAX_VALUE: unbounded) are split over {@code filesystems}. */
    public static CycleRange of(long cycles, int filesystems, int fs, Shard shard) {
        if (cycles == Long.MAX_VALUE) {
            return new CycleRange(Long.MAX_VALUE, shard);
        }
        long each = cycles / filesystems + (fs < cycles % filesystems ? 1 : 0);
        return new CycleRange(each, shard);
    }

    /** The first cycle, or -1 when the range is empty. */
    public long first() { return at(0); }

    /** The next cycle after {@code cycle} passed (or only stalled): the following one, in this shard's epochs. */
    public long next(long cycle) { return at(cycle + 1); }

    /** The next cycle after {@code cycle} ended its epoch (it failed): the first of the next owned epoch. */
    public long nextEpoch(long cycle) { return at((cycle / Seeds.EPOCH + 1) * Seeds.EPOCH); }

    /** The first cycle at or after {@code c} that this range runs, or -1. */
    private long at(long c) {
        long epoch = c / Seeds.EPOCH;
        long owned = shard.ownedFrom(epoch);
        long cycle = owned == epoch ? c : owned * Seeds.EPOCH;
        return cycle < limit && cycle >= 0 ? cycle : -1;
    }
}
