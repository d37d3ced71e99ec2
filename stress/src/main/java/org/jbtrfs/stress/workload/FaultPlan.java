package org.jbtrfs.stress.workload;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Faults;
import org.jbtrfs.stress.Seeds;

/**
 * The error paths a cycle explores ({@code --faults}; the lanes' and the full workload's): which fault-injection sites the cycle arms
 * and how often each fails, each drawn from a stream of its own ("fault:commit-transaction-eio"), so the
 * cycle's other choices — and every run without {@code --faults} — stay as they were. A commit that fails
 * with EIO aborts its transaction and forces the filesystem read-only, as a disk that stops writing does;
 * what must still hold afterwards is what always holds: no hang, no leak, no BUG, and an umount that
 * completes. drop_snapshot's ENOMEM (patch 2/5's fault) keeps its own draw (the lanes' LanePlan, the full workload's armFaults).
 *
 * @param probabilities the armed sites and their per-call failure probability (the others are disarmed)
 * @param seed          the seed of the armed sites' generators
 */
public record FaultPlan(Map<Fault, Double> probabilities, long seed) {
    /** The share of cycles in which a selected site is armed: most cycles still run the error-free paths. */
    public static final double P_ARMED = 0.3;
    /** Per-call failure probabilities: one failure now and then, or a disk that keeps failing. */
    private static final double[] RATES = {0.005, 0.02, 0.1};

    public static final FaultPlan NONE = new FaultPlan(Map.of(), 0);

    /** The plan of a cycle that may arm {@code allowed} (drop_snapshot's ENOMEM is left to the lane plan). */
    public static FaultPlan of(long cycleSeed, Set<Fault> allowed) {
        Map<Fault, Double> p = new EnumMap<>(Fault.class);
        for (Fault f : Fault.values()) {
            if (f == Fault.DEL_ORPHAN_ITEM_ENOMEM || !allowed.contains(f)) {
                continue;
            }
            SplittableRandom r = Seeds.stream(cycleSeed, "fault:" + f.name().toLowerCase(Locale.ROOT));
            if (r.nextDouble() < P_ARMED) {
                p.put(f, RATES[r.nextInt(RATES.length)]);
            }
        }
        return new FaultPlan(p, Seeds.stream(cycleSeed, "fault-seed").nextLong());
    }

    /**
     * Arms the plan's sites for {@code devices}' filesystems — a null device: module-wide (one filesystem, as every
     * earlier run did; with several, each cycle arms its own filesystem's devices and the others draw their own
     * plans) — and disarms the other sites it may arm there.
     */
    public void apply(Faults faults, java.util.List<String> devices) {
        for (String d : devices) {
            for (Fault f : Fault.values()) {
                if (f == Fault.DEL_ORPHAN_ITEM_ENOMEM) {
                    continue;
                }
                Double prob = probabilities.get(f);
                if (prob == null) {
                    faults.disarm(f, d);
                } else {
                    faults.armProbability(f, prob, seed + f.ordinal() + (d == null ? 0 : 31L * d.hashCode()), d);
                }
            }
        }
    }

    /** The errors the armed sites return: for a user, normal outcomes of an operation in this cycle. */
    public Set<Errno> errnos() {
        Set<Errno> e = EnumSet.noneOf(Errno.class);
        probabilities.keySet().forEach(f -> e.add(f.errno()));
        if (probabilities.containsKey(Fault.ALLOC_TREE_BLOCK_ENOSPC)) {
            // btrfs_finish_ordered_io failing in its COW: the ordered extent's error reaches fsync as the mapping's -EIO
            e.add(Errno.EIO);
        }
        return e;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        probabilities.forEach((f, p) -> sb.append(", ").append(f.name()).append(" p=").append(p));
        return sb.toString();
    }
}
