package org.jbtrfs.stress;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelVersion;

/**
 * The stress CLI's options (ARCHITECTURE.md, "Stress CLI contract").
 *
 * @param durationNanos   stop after this long; {@code Long.MAX_VALUE} when only {@code --cycles} bounds the run
 * @param cycles          stop after this many cycles in total; {@code Long.MAX_VALUE}: no bound
 * @param seed            run seed
 * @param seedGiven       false when the seed came from the clock (it is printed)
 * @param reverted        fix switches reverted
 * @param crc32c          crc32c driver of the loaded module
 * @param filesystems     filesystems driven concurrently in one module
 * @param workload        full (seeded stress) or minimal (the benchmark cycle)
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
 */
public record StressOptions(long durationNanos, long cycles, long seed, boolean seedGiven, Set<FixSwitch> reverted,
                     Crc32cImpl crc32c, int filesystems, Workload workload, Path json, ReplayToken replay,
                     long hungTaskNanos, long stopAfterFailures, KernelVersion kernel, int repeat, String expectClass,
                     long stallNanos, Set<String> stopWhenFound) {

    /**
     * lanes (the default): concurrent lanes per filesystem, the explorer; full: the single-driver seeded
     * cycle; minimal: the benchmark cycle.
     */
    public enum Workload { LANES, FULL, MINIMAL }

    static final long DEFAULT_STALL_NANOS = 400_000_000L;

    public static final String USAGE = String.join("\n",
        "usage: java -jar jbtrfs-stress.jar [--duration SECONDS] [--cycles N] [--seed S]",
        "           [--revert LIST|all|none] [--crc32c generic|accelerated] [--filesystems N]",
        "           [--kernel 5.10|5.11|5.12] [--workload lanes|full|minimal] [--json FILE]",
        "           [--replay TOKEN [--repeat N] [--class ID]] [--hung-task-timeout SECONDS] [--stall-threshold SECONDS]",
        "           [--stop-when-found LIST]",
        "",
        "  --duration SECONDS   run this long (default 10; unbounded when only --cycles is given)",
        "  --cycles N           stop after N cycles in total",
        "  --seed S             run seed, decimal or 0x-hex (default: from the clock, printed)",
        "  --kernel V           start from kernel profile 5.10, 5.11 or 5.12 (the six seed fixes only);",
        "                       default: every fix applied, proposed ones too, on 5.12 code paths",
        "  --revert LIST        fixes to revert (from the profile), comma-separated: " + String.join(",", switchNames()),
        "                       or all, or none (default none)",
        "  --crc32c IMPL        generic (default; the use-after-free shows) or accelerated",
        "  --filesystems N      filesystems driven concurrently in one module (default 1)",
        "  --workload W         lanes (default: concurrent lanes per filesystem), full (single-driver seeded",
        "                       cycle) or minimal (benchmark cycle)",
        "  --json FILE          also write the summary as JSON",
        "  --replay TOKEN       rerun one cycle: RUNSEED:CYCLE[:FS] as printed for a failing cycle",
        "  --repeat N           with --replay: rerun it N times and report how often it re-hits its class",
        "  --class ID           with --replay: the class id to re-hit (default: the first repetition's)",
        "  --hung-task-timeout SECONDS  an operation blocked this long is a hung task: reported, the module",
        "                       panicked and reloaded, the run goes on (default 10)",
        "  --stall-threshold SECONDS    an operation blocked in a kernel sleep this long that then",
        "                       completed is a stall (default 0.4)",
        "  --stop-when-found LIST  stop at the first failing cycle attributed to one of these switches",
        "",
        "exit status: 0 no failing cycle, 1 some cycle failed, 2 usage error");

    private static String[] switchNames() {
        FixSwitch[] v = FixSwitch.values();
        String[] s = new String[v.length];
        for (int i = 0; i < v.length; i++) {
            s[i] = v[i].kebab();
        }
        return s;
    }

    /** Defaults for programmatic use (tests): 10 s, seed 1, nothing reverted, generic crc32c, one full filesystem. */
    public static StressOptions defaults() {
        return new StressOptions(10_000_000_000L, Long.MAX_VALUE, 1, true, EnumSet.noneOf(FixSwitch.class),
            Crc32cImpl.GENERIC, 1, Workload.LANES, null, null, 10_000_000_000L, Long.MAX_VALUE, null, 1, null,
            DEFAULT_STALL_NANOS, Set.of());
    }

    public StressOptions withCycles(long n) {
        return new StressOptions(Long.MAX_VALUE, n, seed, true, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withDurationNanos(long d) {
        return new StressOptions(d, cycles, seed, true, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withSeed(long s) {
        return new StressOptions(durationNanos, cycles, s, true, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withReverted(Set<FixSwitch> r) {
        Set<FixSwitch> copy = r.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(r);
        return new StressOptions(durationNanos, cycles, seed, seedGiven, copy, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withFilesystems(int n) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, n, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withWorkload(Workload w) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, w, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withReplay(ReplayToken t) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, t,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withStopAfterFailures(long n) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, n, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    StressOptions withKernel(KernelVersion v) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, v, repeat, expectClass, stallNanos, stopWhenFound);
    }

    public StressOptions withRepeat(int n, String cls) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, n, cls, stallNanos, stopWhenFound);
    }

    StressOptions withStallNanos(long n) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, n, stopWhenFound);
    }

    public StressOptions withCrc32c(Crc32cImpl c) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, c, filesystems, workload, json, replay,
            hungTaskNanos, stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    /** The loaded module's config: the profile, then {@code --revert}, then the crc32c driver. */
    public KernelConfig config() {
        KernelConfig base = kernel == null ? KernelConfig.defaults() : KernelConfig.profile(kernel);
        return base.revert(reverted).crc32c(crc32c);
    }

    /** Every fix the loaded module runs without: the profile's and {@code --revert}'s. */
    public Set<FixSwitch> effectiveReverted() { return config().revertedFixes(); }

    public StressOptions withHungTaskNanos(long n) {
        return new StressOptions(durationNanos, cycles, seed, seedGiven, reverted, crc32c, filesystems, workload, json, replay, n,
            stopAfterFailures, kernel, repeat, expectClass, stallNanos, stopWhenFound);
    }

    /** Parses the command line; {@code clockSeed} is used when no {@code --seed} is given. */
    public static StressOptions parse(String[] args, long clockSeed) throws UsageException {
        Double duration = null;
        long cycles = Long.MAX_VALUE;
        Long seed = null;
        Set<FixSwitch> reverted = EnumSet.noneOf(FixSwitch.class);
        Crc32cImpl crc = Crc32cImpl.GENERIC;
        int filesystems = 1;
        Workload workload = Workload.LANES;
        Path json = null;
        ReplayToken replay = null;
        double hung = 10;
        double stall = DEFAULT_STALL_NANOS / 1e9;
        KernelVersion kernel = null;
        int repeat = 1;
        String cls = null;
        Set<String> stopWhen = Set.of();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("--help") || a.equals("-h")) {
                throw new UsageException("help");
            }
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new UsageException("option " + a + " needs a value");
                }
                value = args[++i];
            }
            switch (a) {
                case "--duration" -> duration = nonNegative(a, value);
                case "--cycles" -> cycles = (long) positiveInt(a, value, Long.MAX_VALUE);
                case "--seed" -> seed = seedOption(value);
                case "--revert" -> reverted = parseRevert(value);
                case "--crc32c" -> crc = switch (value.toLowerCase(Locale.ROOT)) {
                    case "generic" -> Crc32cImpl.GENERIC;
                    case "accelerated" -> Crc32cImpl.ACCELERATED;
                    default -> throw new UsageException("--crc32c must be generic or accelerated, not '" + value + "'");
                };
                case "--filesystems" -> filesystems = (int) positiveInt(a, value, 64);
                case "--workload" -> workload = switch (value.toLowerCase(Locale.ROOT)) {
                    case "lanes" -> Workload.LANES;
                    case "full" -> Workload.FULL;
                    case "minimal" -> Workload.MINIMAL;
                    default -> throw new UsageException("--workload must be lanes, full or minimal, not '" + value + "'");
                };
                case "--json" -> json = Path.of(value);
                case "--replay" -> replay = ReplayToken.parse(value);
                case "--kernel" -> {
                    try {
                        kernel = KernelVersion.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--kernel: " + e.getMessage());
                    }
                }
                case "--repeat" -> repeat = (int) positiveInt(a, value, 10_000);
                case "--class" -> cls = value.trim();
                case "--stop-when-found" -> {
                    Set<String> names = new java.util.TreeSet<>();
                    for (FixSwitch f : parseRevert(value)) {
                        names.add(f.kebab());
                    }
                    stopWhen = names;
                }
                case "--stall-threshold" -> {
                    stall = nonNegative(a, value);
                    if (stall == 0) {
                        throw new UsageException("--stall-threshold must be positive");
                    }
                }
                case "--hung-task-timeout" -> {
                    hung = nonNegative(a, value);
                    if (hung == 0) {
                        throw new UsageException("--hung-task-timeout must be positive");
                    }
                }
                default -> throw new UsageException("unknown option " + a);
            }
        }
        long durationNanos = duration != null ? (long) (duration * 1e9)
            : cycles != Long.MAX_VALUE ? Long.MAX_VALUE : 10_000_000_000L;
        return new StressOptions(durationNanos, cycles, seed != null ? seed : clockSeed, seed != null, reverted, crc,
            filesystems, workload, json, replay, (long) (hung * 1e9), Long.MAX_VALUE, kernel, repeat, cls, (long) (stall * 1e9),
            stopWhen);
    }

    private static long seedOption(String v) throws UsageException {
        try {
            return parseSeed(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--seed must be a number, not '" + v + "'");
        }
    }

    static long parseSeed(String v) {
        String s = v.trim();
        boolean neg = s.startsWith("-");
        String body = neg ? s.substring(1) : s;
        long r = body.startsWith("0x") || body.startsWith("0X") ? Long.parseUnsignedLong(body.substring(2), 16)
            : Long.parseLong(body);
        return neg ? -r : r;
    }

    private static double nonNegative(String opt, String v) throws UsageException {
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException(opt + " must be a number of seconds, not '" + v + "'");
        }
        if (!(d >= 0) || Double.isInfinite(d)) {
            throw new UsageException(opt + " must not be negative: " + v);
        }
        return d;
    }

    private static long positiveInt(String opt, String v, long max) throws UsageException {
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException(opt + " must be a whole number, not '" + v + "'");
        }
        if (n < 1 || n > max) {
            throw new UsageException(opt + " must be between 1 and " + max + ": " + v);
        }
        return n;
    }

    public static Set<FixSwitch> parseRevert(String v) throws UsageException {
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all")) {
            return EnumSet.allOf(FixSwitch.class);
        }
        Set<FixSwitch> out = EnumSet.noneOf(FixSwitch.class);
        if (s.equals("none") || s.isEmpty()) {
            return out;
        }
        for (String part : s.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            try {
                out.add(FixSwitch.parse(part));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        return out;
    }

    /** The effective reverted switches, "qgroup-rescan-ro-remount,trans-list-assert" or "none". */
    public String revertedNames() {
        Set<FixSwitch> eff = effectiveReverted();
        if (eff.isEmpty()) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        for (FixSwitch f : eff) {
            sb.append(sb.length() == 0 ? "" : ",").append(f.kebab());
        }
        return sb.toString();
    }
}
