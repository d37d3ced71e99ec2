package org.jbtrfs.bench;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.kernel.FlagWord;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Hooks;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a hook costs on a hot path when nothing is armed, and a FlagWord.test: the architecture
 * promises "one volatile read". Both are compared with two baselines measured in the same way: an
 * empty benchmark (JMH's own per-call cost) and one volatile read. On x86 a volatile read is a plain
 * load, so all four are expected at the harness's cost: docs/benchmarks.md says whether they are
 * distinguishable from the volatile-read baseline rather than printing a sub-nanosecond difference as
 * a figure.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class HotPathBenchmark {
    private final FlagWord<FsFlag> flags = new FlagWord<>();
    private final Hooks hooks = new Hooks();
    private volatile long word;

    @Setup
    public void setUp() {
        flags.set(FsFlag.OPEN);
        word = 1;
    }

    /** Baseline: a benchmark method that does nothing. */
    @Benchmark
    public void baselineEmpty() {
    }

    /** Baseline: one volatile read, returned so it is not dead code. */
    @Benchmark
    public long baselineVolatileRead() {
        return word;
    }

    /** test_bit on the fs flags, the bit clear. */
    @Benchmark
    public boolean flagWordTest() {
        return flags.test(FsFlag.CLEANER_RUNNING);
    }

    /** A thread passing a hook nobody armed. */
    @Benchmark
    public void hooksArriveUnarmed() {
        hooks.arrive(Hook.CLEANER_AFTER_SET_RUNNING);
    }
}
