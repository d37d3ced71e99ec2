package org.jbtrfs.stress;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.LatencyModel;

/**
 * What a stress run does (ARCHITECTURE.md, "Stress CLI contract"): the engine's options, built by the
 * CLI (org.jbtrfs.stress.cli) or by a test.
 *
 * @param durationNanos   stop after this long; {@code Long.MAX_VALUE} when only {@code --cycles} bounds the run
 * @param cycles          the cycle numbers the run covers, in total over its filesystems ({@link CycleRange});
 *                        {@code Long.MAX_VALUE}: no bound
 * @param seed            run seed
 * @param seedGiven       false when the seed came from the clock (it is printed)
 * @param reverted        fix switches reverted
 * @param crc32c          crc32c driver of the loaded module
 * @param filesystems     filesystems driven concurrently in one module
 * @param workload        lanes (the explorer), full (seeded single-driver cycle) or minimal (the benchmark cycle)
 * @param json            where to write the JSON summary, or null
 * @param replay          the cycle to replay, or null
 * @param hungTaskNanos   the watchdog's limit for one driver operation
 * @param stopAfterFailures stop once this many cycles failed (tests; the CLI never stops early)
 * @param kernel          the kernel profile the run starts from (null: {@code KernelConfig.defaults()}, every
 *                        fix, proposed ones too); {@code reverted} reverts more from it
 * @param repeat          how many times {@code --replay} reruns the cycle (the re-hit rate)
 * @param expectClass     the class id a replay should hit again (null: the first repetition's)
 * @param stallNanos      an operation blocked in a kernel sleep longer than this, that then completed, is a stall
 * @param stopWhenFound   stop once a failing cycle is attributed to one of these switches (kebab names; empty: never)
 * @param shard           the part of the run's cycles this process runs ({@link Shard#ALL}: all of them)
 * @param report          where to write the HTML failure report (one page per class), or null
 * @param lanes           the lanes a lanes cycle may run ({@link #LANES}; the lifecycle lane always runs)
 * @param latency         the module's device and wake-up latency model, or null for the workload's default
 *                        ({@link #defaultLatency})
 * @param faults          the fault-injection sites a cycle may arm ({@link #DEFAULT_FAULTS}: the one every earlier run
 *                        armed; {@code --faults all} explores the error paths too)
 * @param swarm           how often a lane's operation mix in a lanes cycle leaves some operations out (swarm testing,
 *                        {@code --swarm}; 0, the default: never, every cycle draws as before the option existed)
 * @param applied         fix switches applied on top of the {@code kernel} profile before {@code reverted} is reverted
 *                        ({@code --apply}; {@code --kernel 5.11 --apply all}: every fix on 5.11's code paths)
 */
public record StressOptions(long durationNanos, long cycles, long seed, boolean seedGiven, Set<FixSwitch> reverted,
                            Crc32cImpl crc32c, int filesystems, Workload workload, Path json, ReplayToken replay,
                            long hungTaskNanos, long stopAfterFailures, KernelVersion kernel, int repeat, String expectClass,
                            long stallNanos, Set<String> stopWhenFound, Shard shard, Path report, List<String> lanes,
                            LatencyModel latency, Set<Fault> faults, double swarm, Set<FixSwitch> applied) {

    /**
     * lanes (the default): concurrent lanes per filesystem, the explorer; full: the single-driver seeded
     * cycle; minimal: the benchmark cycle.
     */
    public enum Workload {
        LANES, FULL, MINIMAL;

        /** "lanes", as the CLI and the JSON name it. */
        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    /** The lanes of a lanes cycle by label, in order (lanes.LaneKind's labels; the lifecycle lane always runs). */
    public static final List<String> LANES = List.of("lifecycle", "file", "subvol", "quota", "sync", "dev2", "quota2", "scrub", "file2", "balance",
        "balance2", "replace");

    public static final long DEFAULT_DURATION_NANOS = 10_000_000_000L;
    public static final long DEFAULT_HUNG_TASK_NANOS = 10_000_000_000L;
    public static final long DEFAULT_STALL_NANOS = 400_000_000L;

    public StressOptions {
        reverted = reverted.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(reverted);
        applied = applied.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(applied);
        stopWhenFound = Set.copyOf(stopWhenFound);
        lanes = LANES.stream().filter(lanes::contains).toList();
        faults = faults.isEmpty() ? EnumSet.noneOf(Fault.class) : EnumSet.copyOf(faults);
        if (!(swarm >= 0 && swarm <= 1)) {
            throw new IllegalArgumentException("swarm " + swarm + " is not a probability in [0, 1]");
        }
    }

    /**
     * The faults a cycle may inject unless {@code --faults} says otherwise: drop_snapshot's ignored
     * btrfs_del_orphan_item failure (patch 2/5), which the lanes and the full workload have always armed.
     */
    public static final Set<Fault> DEFAULT_FAULTS = Set.of(Fault.DEL_ORPHAN_ITEM_ENOMEM);

    /**
     * A list of faults as {@code --faults} takes it: kebab names ({@code commit-transaction-eio}),
     * comma-separated, or {@code all}, or {@code none}.
     *
     * @throws IllegalArgumentException naming the unknown fault and the valid ones
     */
    public static Set<Fault> faults(String v) { return enumList(v, Fault.class, StressOptions::faultByName); }

    private static Fault faultByName(String p) {
        for (Fault x : Fault.values()) {
            if (faultName(x).equals(p)) {
                return x;
            }
        }
        throw new IllegalArgumentException("unknown fault '" + p + "': the faults are "
            + String.join(", ", java.util.Arrays.stream(Fault.values()).map(StressOptions::faultName).toList()) + " (or all, or none)");
    }

    /** A comma-separated list of {@code type}'s constants as the CLI takes it: names, or {@code all}, or {@code none}. */
    private static <E extends Enum<E>> Set<E> enumList(String v, Class<E> type, java.util.function.Function<String, E> one) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all")) {
            return EnumSet.allOf(type);
        }
        Set<E> out = EnumSet.noneOf(type);
        if (s.equals("none") || s.isEmpty()) {
            return out;
        }
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                out.add(one.apply(part.trim()));
            }
        }
        return out;
    }

    /** A fault's name as {@code --faults} and the JSON summary write it: "commit-transaction-eio". */
    public static String faultName(Fault f) { return f.name().toLowerCase(Locale.ROOT).replace('_', '-'); }

    /** {@code faults}' names in declaration order, as the JSON summary lists them. */
    public static List<String> faultNames(Set<Fault> faults) {
        return java.util.Arrays.stream(Fault.values()).filter(faults::contains).map(StressOptions::faultName).toList();
    }

    /**
     * A list of lanes as {@code --lanes} takes it: labels, comma-separated, or {@code all}; the lifecycle
     * lane is added (it drives the cycle).
     *
     * @throws IllegalArgumentException naming an unknown lane and the valid ones
     */
    public static List<String> lanes(String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all")) {
            return LANES;
        }
        List<String> out = new java.util.ArrayList<>(List.of("lifecycle"));
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            if (!LANES.contains(p)) {
                throw new IllegalArgumentException("unknown lane '" + p + "': the lanes are " + String.join(", ", LANES) + " (or all)");
            }
            out.add(p);
        }
        return LANES.stream().filter(out::contains).toList();
    }

    /** Defaults for programmatic use (tests): 10 s, seed 1, nothing reverted, generic crc32c, one filesystem, lanes. */
    public static StressOptions defaults() { return new Builder().build(); }

    /** A builder holding these options, to change some. */
    public Builder toBuilder() { return new Builder(this); }

    public StressOptions withCycles(long n) { return toBuilder().cycles(n).durationNanos(Long.MAX_VALUE).seedGiven(true).build(); }

    public StressOptions withDurationNanos(long d) { return toBuilder().durationNanos(d).seedGiven(true).build(); }

    public StressOptions withSeed(long s) { return toBuilder().seed(s).seedGiven(true).build(); }

    public StressOptions withReverted(Set<FixSwitch> r) { return toBuilder().reverted(r).build(); }

    public StressOptions withFilesystems(int n) { return toBuilder().filesystems(n).build(); }

    public StressOptions withWorkload(Workload w) { return toBuilder().workload(w).build(); }

    public StressOptions withReplay(ReplayToken t) { return toBuilder().replay(t).build(); }

    public StressOptions withStopAfterFailures(long n) { return toBuilder().stopAfterFailures(n).build(); }

    public StressOptions withKernel(KernelVersion v) { return toBuilder().kernel(v).build(); }

    public StressOptions withRepeat(int n, String cls) { return toBuilder().repeat(n).expectClass(cls).build(); }

    public StressOptions withStallNanos(long n) { return toBuilder().stallNanos(n).build(); }

    public StressOptions withCrc32c(Crc32cImpl c) { return toBuilder().crc32c(c).build(); }

    public StressOptions withHungTaskNanos(long n) { return toBuilder().hungTaskNanos(n).build(); }

    public StressOptions withShard(Shard s) { return toBuilder().shard(s).build(); }

    public StressOptions withReport(Path dir) { return toBuilder().report(dir).build(); }

    public StressOptions withLanes(List<String> l) { return toBuilder().lanes(l).build(); }

    public StressOptions withLatency(LatencyModel l) { return toBuilder().latency(l).build(); }

    public StressOptions withFaults(Set<Fault> f) { return toBuilder().faults(f).build(); }

    public StressOptions withSwarm(double p) { return toBuilder().swarm(p).build(); }

    /**
     * The latency model a workload runs with unless {@code --latency} says otherwise: the explorer's workloads
     * (lanes, full) run with {@link LatencyModel#VIRTIO_BLK}, so that the port's relative speeds of device I/O,
     * commits and kworker wake-ups are the kernel's on a virtio disk (docs/latency-model.md: without it the
     * port's workers win races the kernel's usually lose); the benchmark cycle (minimal) runs without, as it
     * measures the port itself.
     */
    public static LatencyModel defaultLatency(Workload w) { return w == Workload.MINIMAL ? LatencyModel.NONE : LatencyModel.VIRTIO_BLK; }

    /** The latency model this run's module has: {@code --latency}, or the workload's default. */
    public LatencyModel effectiveLatency() { return latency != null ? latency : defaultLatency(workload); }

    /**
     * The stall threshold of a run without {@code --stall-threshold}: {@link #DEFAULT_STALL_NANOS} on a virtio disk's
     * latencies or a faster model; on a slower one, scaled by its cost of one read, one write and one flush against
     * virtio's, but at most half the hung-task timeout (and never below the default). An operation that waited for its
     * own slow I/O has not stalled: stop 43's hunt on a device of 2 ms reads, 0.5 ms writes and 8 ms flushes (seed
     * 43002) reported 36 "fill block group" stalls of 0.4–1.2 s, each the fill's own writes and commits.
     */
    public static long defaultStallNanos(LatencyModel m, long hungTaskNanos) {
        long virtio = ioCost(LatencyModel.VIRTIO_BLK);
        long cost = ioCost(m);
        if (cost <= virtio) {
            return DEFAULT_STALL_NANOS;
        }
        long scaled = (long) (DEFAULT_STALL_NANOS * ((double) cost / virtio));
        return Math.min(scaled, Math.max(DEFAULT_STALL_NANOS, hungTaskNanos / 2));
    }

    private static long ioCost(LatencyModel m) { return m.readNanos() + m.writeNanos() + m.flushNanos(); }

    /**
     * How much faster than the kernel's the runner's async discard waits are ({@link KernelConfig#discardTimeDivisor}):
     * 1 ms for an emptied group instead of 10 s, 12 ms for another instead of 120 s, as commit=1 shortens the commit
     * interval. A lanes cycle's mount lives some 30 ms; at 1,000 the discard work almost never ran within one (0 runs in
     * 648 cycles of seed 77), at 10,000 it runs (30 in 660). -Djbtrfs.stress.discardDivisor=N overrides it.
     */
    public static final int DISCARD_TIME_DIVISOR = Integer.getInteger("jbtrfs.stress.discardDivisor", 10_000);

    /**
     * The loaded module's config: the profile, then {@code --apply}, then {@code --revert}, then the crc32c driver and the latency model; async
     * discard's waits compressed, and the soft-lockup watchdog reporting within a quarter of the hung-task limit (a
     * spinning kworker is named before the waiter it blocks is).
     */
    public KernelConfig config() {
        KernelConfig base = kernel == null ? KernelConfig.defaults() : KernelConfig.profile(kernel);
        return base.apply(applied).revert(reverted).crc32c(crc32c).latency(effectiveLatency()).discardTimeDivisor(DISCARD_TIME_DIVISOR)
            .softLockupNanos(Math.max(1_000_000L, hungTaskNanos / 4));
    }

    /** Every fix the loaded module runs without: the profile's and {@code --revert}'s. */
    public Set<FixSwitch> effectiveReverted() { return config().revertedFixes(); }

    /** "5.12" for a --kernel profile, "all-fixes" for the default. */
    public String kernelName() { return kernel == null ? "all-fixes" : kernel.label(); }

    /** Filesystem {@code fs}'s cycles ({@link CycleRange}). */
    public CycleRange cycleRange(int fs) { return CycleRange.of(cycles, filesystems, fs, shard); }

    /** The effective reverted switches, "qgroup-rescan-ro-remount,trans-list-assert" or "none". */
    public String revertedNames() {
        Set<FixSwitch> eff = effectiveReverted();
        return eff.isEmpty() ? "none" : String.join(",", eff.stream().map(FixSwitch::kebab).toList());
    }

    /**
     * A list of fix switches as {@code --revert} and {@code --stop-when-found} take it: kebab names,
     * comma-separated, or {@code all}, or {@code none}.
     *
     * @throws IllegalArgumentException naming the unknown switch and the valid ones
     */
    public static Set<FixSwitch> switches(String v) { return enumList(v, FixSwitch.class, FixSwitch::parse); }

    /** The kebab names of {@code switches}, sorted. */
    public static Set<String> kebabNames(Set<FixSwitch> switches) {
        Set<String> names = new TreeSet<>();
        switches.forEach(f -> names.add(f.kebab()));
        return names;
    }

    /** The options under construction; every field starts at its default. */
    public static final class Builder {
        private long durationNanos = DEFAULT_DURATION_NANOS;
        private long cycles = Long.MAX_VALUE;
        private long seed = 1;
        private boolean seedGiven = true;
        private Set<FixSwitch> reverted = EnumSet.noneOf(FixSwitch.class);
        private Crc32cImpl crc32c = Crc32cImpl.GENERIC;
        private int filesystems = 1;
        private Workload workload = Workload.LANES;
        private Path json;
        private ReplayToken replay;
        private long hungTaskNanos = DEFAULT_HUNG_TASK_NANOS;
        private long stopAfterFailures = Long.MAX_VALUE;
        private KernelVersion kernel;
        private int repeat = 1;
        private String expectClass;
        private long stallNanos = DEFAULT_STALL_NANOS;
        private Set<String> stopWhenFound = Set.of();
        private Shard shard = Shard.ALL;
        private Path report;
        private List<String> lanes = LANES;
        private LatencyModel latency;
        private Set<Fault> faults = DEFAULT_FAULTS;
        private double swarm;
        private Set<FixSwitch> applied = EnumSet.noneOf(FixSwitch.class);

        public Builder() { }

        private Builder(StressOptions o) {
            durationNanos = o.durationNanos;
            cycles = o.cycles;
            seed = o.seed;
            seedGiven = o.seedGiven;
            reverted = o.reverted;
            crc32c = o.crc32c;
            filesystems = o.filesystems;
            workload = o.workload;
            json = o.json;
            replay = o.replay;
            hungTaskNanos = o.hungTaskNanos;
            stopAfterFailures = o.stopAfterFailures;
            kernel = o.kernel;
            repeat = o.repeat;
            expectClass = o.expectClass;
            stallNanos = o.stallNanos;
            stopWhenFound = o.stopWhenFound;
            shard = o.shard;
            report = o.report;
            lanes = o.lanes;
            latency = o.latency;
            faults = o.faults;
            swarm = o.swarm;
            applied = o.applied;
        }

        public Builder durationNanos(long v) { durationNanos = v; return this; }

        public Builder cycles(long v) { cycles = v; return this; }

        public Builder seed(long v) { seed = v; return this; }

        public Builder seedGiven(boolean v) { seedGiven = v; return this; }

        public Builder reverted(Set<FixSwitch> v) { reverted = v; return this; }

        public Builder crc32c(Crc32cImpl v) { crc32c = v; return this; }

        public Builder filesystems(int v) { filesystems = v; return this; }

        public Builder workload(Workload v) { workload = v; return this; }

        public Builder json(Path v) { json = v; return this; }

        public Builder replay(ReplayToken v) { replay = v; return this; }

        public Builder hungTaskNanos(long v) { hungTaskNanos = v; return this; }

        public Builder stopAfterFailures(long v) { stopAfterFailures = v; return this; }

        public Builder kernel(KernelVersion v) { kernel = v; return this; }

        public Builder repeat(int v) { repeat = v; return this; }

        public Builder expectClass(String v) { expectClass = v; return this; }

        public Builder stallNanos(long v) { stallNanos = v; return this; }

        public Builder stopWhenFound(Set<String> v) { stopWhenFound = v; return this; }

        public Builder shard(Shard v) { shard = v; return this; }

        public Builder report(Path v) { report = v; return this; }

        public Builder lanes(List<String> v) { lanes = v; return this; }

        public Builder latency(LatencyModel v) { latency = v; return this; }

        public Builder faults(Set<Fault> v) { faults = v; return this; }

        public Builder swarm(double v) { swarm = v; return this; }

        public Builder applied(Set<FixSwitch> v) { applied = v; return this; }

        public StressOptions build() {
            return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay,
                hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound, shard, report, lanes, latency,
                faults, swarm, applied);
        }
    }
}
