package org.jbtrfs.stress.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A deliberately small benchmark harness: plain {@link System#nanoTime}, no JMH. Each case is
 * calibrated during warm-up so that one iteration takes about {@link #TARGET_NANOS}, then timed for
 * a fixed number of iterations; the result reports the mean and the best (min) iteration.
 *
 * <p>What it does against the usual micro-benchmark traps, and what it does not:
 * <ul>
 *   <li>Dead-code elimination: a body returns a value computed from its work and the harness folds
 *       it into the volatile {@link #sink}, so the JIT cannot drop the loop.</li>
 *   <li>JIT warm-up: warm-up iterations run the very loop that is then measured (the body owns the
 *       loop, so the per-op cost carries no interface call).</li>
 *   <li>Not handled: loop unrolling and hoisting that JMH would defeat; sub-nanosecond results are
 *       therefore "cheaper than a loop iteration", not exact costs. Noise from other processes shows
 *       in the spread between min and mean.</li>
 * </ul>
 */
public final class Bench {
    /** Wall time one measured iteration aims for. */
    public static final long TARGET_NANOS = 100_000_000L;

    /** The blackhole: every body's result ends here, so no body is dead code. */
    public static volatile long sink;

    private final int warmups;
    private final int iterations;
    private final List<Result> results = new ArrayList<>();

    public Bench(int warmups, int iterations) {
        if (warmups < 1 || iterations < 1) {
            throw new IllegalArgumentException("need at least one warm-up and one measured iteration");
        }
        this.warmups = warmups;
        this.iterations = iterations;
    }

    /** A measured loop: performs {@code ops} operations and returns a value derived from them. */
    @FunctionalInterface
    public interface Body {
        long run(long ops) throws Exception;
    }

    /** How a result is shown. */
    public enum Unit {
        NS_PER_OP("ns/op", 1),
        US_PER_OP("µs/op", 1e-3),
        /** Needs bytesPerOp: GB/s = bytes per ns. */
        GB_PER_S("GB/s", 0);

        final String label;
        final double scale;

        Unit(String label, double scale) {
            this.label = label;
            this.scale = scale;
        }
    }

    /**
     * One measured case.
     *
     * @param mean  mean over the measured iterations, in {@code unit}
     * @param best  best iteration (min time; max throughput), in {@code unit}
     * @param ops   operations per iteration chosen by calibration
     */
    public record Result(String name, Unit unit, double mean, double best, long ops, int iterations) {
        public String row() {
            return String.format(Locale.ROOT, "| %s | %s | %s | %s | %d × %d |", name, fmt(mean), fmt(best), unit.label,
                iterations, ops);
        }

        private static String fmt(double v) {
            return v >= 100 ? String.format(Locale.ROOT, "%.0f", v)
                : v >= 10 ? String.format(Locale.ROOT, "%.1f", v)
                : v >= 1 ? String.format(Locale.ROOT, "%.2f", v)
                : String.format(Locale.ROOT, "%.3f", v);
        }
    }

    /** Measures {@code body} and reports time per operation in {@code unit}. */
    public Result time(String name, Unit unit, Body body) {
        return measure(name, unit, 0, body);
    }

    /** Measures {@code body} as throughput: each operation processes {@code bytesPerOp} bytes. */
    public Result throughput(String name, long bytesPerOp, Body body) {
        return measure(name, Unit.GB_PER_S, bytesPerOp, body);
    }

    private Result measure(String name, Unit unit, long bytesPerOp, Body body) {
        try {
            // Calibrate: grow ops (at most 10x a step, so one noisy short run cannot overshoot) until an
            // iteration takes at least half the target; only then count warm-ups, so the JIT warms up
            // on the loop length that is measured.
            long ops = 1;
            for (int warm = 0; warm < warmups; ) {
                long took = runNanos(body, ops);
                if (took < TARGET_NANOS / 2) {
                    long scaled = took <= 0 ? ops * 10 : (long) (ops * (double) TARGET_NANOS / took);
                    ops = Math.max(ops + 1, Math.min(ops * 10, scaled));
                } else {
                    warm++;
                }
            }
            double sum = 0;
            double best = unit == Unit.GB_PER_S ? 0 : Double.MAX_VALUE;
            for (int i = 0; i < iterations; i++) {
                double v = value(unit, bytesPerOp, runNanos(body, ops), ops);
                sum += v;
                best = unit == Unit.GB_PER_S ? Math.max(best, v) : Math.min(best, v);
            }
            Result r = new Result(name, unit, sum / iterations, best, ops, iterations);
            results.add(r);
            return r;
        } catch (Exception e) {
            throw new IllegalStateException("benchmark " + name + " failed", e);
        }
    }

    private static double value(Unit unit, long bytesPerOp, long nanos, long ops) {
        if (unit == Unit.GB_PER_S) {
            return (double) bytesPerOp * ops / nanos; // bytes per ns == GB/s
        }
        return (double) nanos / ops * unit.scale;
    }

    private static long runNanos(Body body, long ops) throws Exception {
        long t0 = System.nanoTime();
        long r = body.run(ops);
        long t1 = System.nanoTime();
        sink ^= r;
        return t1 - t0;
    }

    public List<Result> results() { return List.copyOf(results); }

    /** The results as a markdown table. */
    public String table() {
        StringBuilder sb = new StringBuilder("| benchmark | mean | best | unit | iterations × ops |\n|---|---:|---:|---|---|\n");
        for (Result r : results) {
            sb.append(r.row()).append('\n');
        }
        return sb.toString();
    }
}
