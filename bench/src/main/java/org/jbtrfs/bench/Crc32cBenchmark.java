package org.jbtrfs.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.kernel.AcceleratedCrc32c;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.kernel.GenericCrc32c;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * crc32c of one 16 KiB tree block, generic vs accelerated. btrfs sets BTRFS_FS_CSUM_IMPL_FAST from
 * the driver name, on the premise that the generic driver is slow enough to be worth checksumming on
 * a workqueue (the async-submit path in which patch 1/5's use-after-free happens); this measures that
 * premise. The buffer fits in L1, so these are compute-bound figures. Reported as time per block;
 * docs/benchmarks.md converts it to GB/s.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class Crc32cBenchmark {
    /** The nodesize: one tree block. */
    public static final int BYTES = 16 * 1024;

    @Param({"GENERIC", "ACCELERATED"})
    public Crc32cImpl driver;

    private Crc32c crc;
    private byte[] block;

    @Setup
    public void setUp() {
        crc = driver == Crc32cImpl.GENERIC ? GenericCrc32c.INSTANCE : AcceleratedCrc32c.INSTANCE;
        block = new byte[BYTES];
        new SplittableRandom(BYTES).nextBytes(block);
    }

    /** One block checksummed; the result goes back to JMH, so the work cannot be dropped. */
    @Benchmark
    public int checksum16KiB() {
        return crc.compute(block);
    }
}
