package org.jbtrfs.stress.report;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.classify.Symptom;

/**
 * The end of a run, or of a merge of shards: what the text summary and the JSON file say. The record is
 * the JSON document ({@link SummaryJson} writes and reads it): its components are the fields, in this
 * order. The fields of the first format ({@code cycles} ... {@code aborted}) are kept as they were;
 * format 2 adds {@code version}, {@code config}, {@code range} and {@code cycleReports}.
 *
 * @param version         the format and the jbtrfs version that wrote it
 * @param config          what a cycle does: summaries of different configs cannot be merged
 * @param range           which cycles of which run seed this summary covers (its shards)
 * @param cycles          cycles run
 * @param seconds         wall-clock seconds (a merge: the longest shard's, see {@link Merge})
 * @param cyclesPerSecond cycles / seconds
 * @param seed            the run seed
 * @param reverted        the effective reverted switches (as in {@code config})
 * @param kernel          the kernel profile, or "all-fixes"
 * @param crc32c          generic or accelerated
 * @param filesystems     filesystems driven concurrently
 * @param workload        lanes, full or minimal
 * @param failingCycles   cycles that failed
 * @param bugs            failing cycles per switch they are attributed to, or "unknown"
 * @param symptoms        failing cycles per symptom
 * @param first           per bug: its first failing cycle in seed order
 * @param hooks           arrivals at each race window
 * @param faults          faults fired
 * @param moduleReloads   modules replaced after failures
 * @param classes         the failure classes, most frequent first
 * @param replay          what {@code --replay --repeat} measured, or null
 * @param notes           notes of the run (of a merge: each shard's, prefixed)
 * @param aborted         why the run was aborted, or null
 * @param cycleReports    per class id: the report of its first failing cycle in seed order (the HTML report's page)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Summary(Version version, Config config, Range range, long cycles, double seconds, double cyclesPerSecond, long seed,
                      List<String> reverted, String kernel, String crc32c, int filesystems, String workload, long failingCycles,
                      Map<String, Long> bugs, Map<Symptom, Long> symptoms, Map<String, First> first, Map<Hook, Long> hooks,
                      Map<Fault, Long> faults, long moduleReloads, List<FailureClass> classes, ReplayResult replay,
                      List<String> notes, String aborted, Map<String, CycleReport> cycleReports) {

    /** The summary's format: 1 was the hand-written JSON without a version; 2 adds version, config, range, cycleReports. */
    public static final int FORMAT = 2;

    /**
     * @param format the summary's format ({@link #FORMAT})
     * @param jbtrfs the version of the jbtrfs-stress that wrote it
     */
    public record Version(int format, String jbtrfs) {
        /** This build's. */
        public static Version current() { return new Version(FORMAT, SummaryJson.jbtrfsVersion()); }
    }

    /**
     * What every cycle of the run does besides its seed: two summaries that differ here found their
     * classes under different conditions and are not merged.
     *
     * @param kernel                 kernel profile or "all-fixes"
     * @param reverted               the effective reverted switches
     * @param crc32c                 crc32c driver
     * @param workload               lanes, full or minimal
     * @param lanes                  the lanes a lanes cycle draws from (empty for the other workloads)
     * @param latencyModel           the module's latency model, as {@code --latency} takes it ("virtio", "off", or
     *                               "read,write,flush,wakeup" in µs)
     * @param filesystems            filesystems driven concurrently
     * @param stallThresholdSeconds  the stall threshold
     * @param hungTaskTimeoutSeconds the hung-task limit
     * @param faults                 the fault-injection sites a cycle may arm ({@code --faults}; a summary written
     *                               before the option had the default's)
     * @param swarm                  {@code --swarm}: how often a lane's operation mix leaves operations out (a summary
     *                               written before the option: 0, as every such run drew)
     */
    public record Config(String kernel, List<String> reverted, String crc32c, String workload, List<String> lanes,
                         String latencyModel, int filesystems, double stallThresholdSeconds, double hungTaskTimeoutSeconds,
                         List<String> faults, double swarm) {
        public Config {
            faults = faults == null ? StressOptions.faultNames(StressOptions.DEFAULT_FAULTS) : List.copyOf(faults);
        }

        public static Config of(StressOptions o) {
            LatencyModel latency = o.effectiveLatency();
            return new Config(o.kernelName(), List.copyOf(StressOptions.kebabNames(o.effectiveReverted())),
                o.crc32c().name().toLowerCase(Locale.ROOT), o.workload().label(),
                o.workload() == StressOptions.Workload.LANES ? o.lanes() : List.of(), latency.spec(), o.filesystems(),
                o.stallNanos() / 1e9, o.hungTaskNanos() / 1e9, StressOptions.faultNames(o.faults()), o.swarm());
        }

        /**
         * The options that give a replay of one of these cycles the same config: the profile (with {@code --apply all}
         * when the run put fixes back on it: every fix, less the effective reverted ones, is the same config), the
         * reverted switches (reverting one the profile already lacks changes nothing), crc32c, workload, thresholds.
         */
        public String replayOptions() {
            StringBuilder sb = new StringBuilder();
            if (!kernel.equals("all-fixes")) {
                sb.append(" --kernel ").append(kernel);
                Set<FixSwitch> profileLacks = KernelConfig.profile(KernelVersion.parse(kernel)).revertedFixes();
                if (!reverted.containsAll(StressOptions.kebabNames(profileLacks))) {
                    sb.append(" --apply all");
                }
            }
            if (!reverted.isEmpty()) {
                sb.append(" --revert ").append(String.join(",", reverted));
            }
            sb.append(" --crc32c ").append(crc32c).append(" --workload ").append(workload);
            StressOptions.Workload w = StressOptions.Workload.valueOf(workload.toUpperCase(Locale.ROOT));
            if (!latencyModel.equals(StressOptions.defaultLatency(w).spec())) {
                sb.append(" --latency ").append(latencyModel);
            }
            if (!faults.equals(StressOptions.faultNames(StressOptions.DEFAULT_FAULTS))) {
                sb.append(" --faults ").append(faults.isEmpty() ? "none" : String.join(",", faults));
            }
            if (swarm != 0) {
                sb.append(" --swarm ").append(trim(swarm));
            }
            if (stallThresholdSeconds != StressOptions.DEFAULT_STALL_NANOS / 1e9) {
                sb.append(String.format(Locale.ROOT, " --stall-threshold %s", trim(stallThresholdSeconds)));
            }
            if (hungTaskTimeoutSeconds != StressOptions.DEFAULT_HUNG_TASK_NANOS / 1e9) {
                sb.append(String.format(Locale.ROOT, " --hung-task-timeout %s", trim(hungTaskTimeoutSeconds)));
            }
            return sb.toString();
        }

        private static String trim(double d) {
            return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
        }
    }

    /**
     * Which cycles the summary covers ({@link org.jbtrfs.stress.CycleRange}): the run seed, the bound, and
     * the shards of {@code shardCount} that ran.
     *
     * @param seed            run seed
     * @param cycleBound      {@code --cycles}, or null when only a duration bounded the run
     * @param durationSeconds {@code --duration}, or null when only a cycle bound did
     * @param shardCount      n of {@code --shard i/n} (1: not sharded)
     * @param shards          the shards covered, "i/n", in order
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Range(long seed, Long cycleBound, Double durationSeconds, int shardCount, List<String> shards) {
        static Range of(StressOptions o) {
            return new Range(o.seed(), o.cycles() == Long.MAX_VALUE ? null : o.cycles(),
                o.durationNanos() == Long.MAX_VALUE ? null : o.durationNanos() / 1e9, o.shard().count(), List.of(o.shard().toString()));
        }

        /** "", or ", shard 2/3", or ", shards 1/3,3/3". */
        String label() {
            if (shardCount == 1) {
                return "";
            }
            return (shards.size() == 1 ? ", shard " : ", shards ") + String.join(",", shards);
        }
    }

    /**
     * Where and when a bug was first seen (in seed order).
     *
     * @param replay         its replay token (a string in the JSON)
     * @param seed           the run seed
     * @param cycle          the cycle
     * @param filesystem     the filesystem
     * @param cycleSeed      the cycle seed, "0x..."
     * @param secondsIntoRun when its run (or shard) found it
     */
    public record First(ReplayToken replay, long seed, long cycle, int filesystem, String cycleSeed, double secondsIntoRun) {
        static First of(ReplayToken t, long cycleSeed, double at) {
            return new First(t, t.runSeed(), t.cycle(), t.fs(), "0x" + Long.toHexString(cycleSeed), at);
        }
    }

    /** What {@code --replay --repeat N} measured: how often the cycle hit the class again. */
    public record ReplayResult(String token, String classId, String signature, int repeats, int rehits, List<String> seen) {
        public String line() {
            return String.format(Locale.ROOT, "re-hit %d/%d (class %s %s)", rehits, repeats, classId.isEmpty() ? "-" : classId,
                signature.isEmpty() ? "none: the cycle did not fail" : signature);
        }
    }

    /** The summary of a run (or a replay: {@code replay} non-null) with options {@code o}. */
    public static Summary of(StressOptions o, RunStats stats, double seconds, List<String> notes, String aborted,
                             Map<String, Long> bugs, long failing, ReplayResult replay) {
        Config config = Config.of(o);
        long cycles = stats.cycles.get();
        return new Summary(Version.current(), config, Range.of(o), cycles, seconds, rate(cycles, seconds), o.seed(),
            config.reverted(), config.kernel(), config.crc32c(), o.filesystems(), config.workload(), failing, bugs,
            stats.symptoms(), stats.first(), stats.hooks(), stats.faults(), stats.reloads.get(), stats.classes.snapshot(), replay,
            List.copyOf(notes), aborted, stats.cycleReports());
    }

    static double rate(long cycles, double seconds) { return seconds > 0 ? cycles / seconds : 0; }

    public int exitCode() { return failingCycles > 0 || aborted != null ? 1 : 0; }

    /** Symptom counts with every symptom present (a summary read back may lack the zero ones of an older writer). */
    Map<Symptom, Long> allSymptoms() {
        Map<Symptom, Long> m = new EnumMap<>(Symptom.class);
        for (Symptom s : Symptom.values()) {
            m.put(s, symptoms.getOrDefault(s, 0L));
        }
        return m;
    }

    public String text() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "jbtrfs stress: %d cycles in %.1f s (%.1f cycles/s), seed %d%s, kernel %s, reverted: %s, "
                + "crc32c %s, %d filesystem%s, workload %s%n", cycles, seconds, cyclesPerSecond, seed, range.label(), kernel,
            reverted.isEmpty() ? "none" : String.join(",", reverted), crc32c, filesystems, filesystems == 1 ? "" : "s", workload));
        if (aborted != null) {
            sb.append("ABORTED: ").append(aborted).append('\n');
        }
        sb.append("failing cycles: ").append(failingCycles).append('\n');
        if (!bugs.isEmpty()) {
            sb.append("bugs:\n");
            bugs.forEach((b, n) -> {
                First f = first.get(b);
                sb.append(f == null ? String.format(Locale.ROOT, "  %-34s %6d%n", b, n)
                    : String.format(Locale.ROOT, "  %-34s %6d  first after %.2f s, replay: --replay %s%n", b, n, f.secondsIntoRun(), f.replay()));
            });
        }
        if (!classes.isEmpty()) {
            sb.append("classes:\n");
            for (FailureClass c : classes) {
                sb.append(String.format(Locale.ROOT, "  %s %6d  %s%n      attributed to %s; %s; first after %.2f s: --replay %s%n", c.id(),
                    c.count(), c.signature(), String.join(",", c.attributedTo()), c.decision(), c.firstSecondsIntoRun(), c.firstReplay()));
            }
        }
        if (replay != null) {
            sb.append(replay.line()).append('\n');
        }
        sb.append("symptoms:");
        allSymptoms().forEach((s, n) -> sb.append(' ').append(s).append('=').append(n));
        sb.append('\n');
        if (hooks.values().stream().anyMatch(n -> n > 0)) {
            sb.append("hook windows reached:\n");
            new EnumMap<>(hooks).forEach((h, n) -> sb.append(String.format(Locale.ROOT, "  %-36s %10d%n", h, n)));
        }
        if (faults.values().stream().anyMatch(n -> n > 0)) {
            sb.append("faults fired:");
            new EnumMap<>(faults).forEach((f, n) -> sb.append(' ').append(f).append('=').append(n));
            sb.append('\n');
        }
        sb.append("module reloads: ").append(moduleReloads).append('\n');
        for (String n : notes) {
            sb.append("note: ").append(n).append('\n');
        }
        return sb.toString();
    }
}
