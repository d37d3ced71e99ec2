package org.jbtrfs.bench;

import org.jbtrfs.fs.internal.Internals;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one test fixture costs: insmod + mkfs + mount + umount + rmmod of a module with a 64 MiB
 * in-memory device, as a test that builds its own module pays it (the JUnit extension does the same
 * with a 256 MiB device). Issue 11 targets at most 1 ms median. Two measurements:
 * <ul>
 *   <li>{@link #loadMkfsMountUmountUnload}: steady state, sampled, so the median and the tail are in the
 *       report — what each further fixture costs once the JVM is warm;</li>
 *   <li>{@link #firstFixtureInFreshJvm}: the first fixture of a fresh JVM, one shot per fork (class
 *       loading, interpreted code) — what the first test of a surefire fork pays.</li>
 * </ul>
 * Every unload is checked clean, so no thread of one invocation lives into the next.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FixtureBenchmark {
    /** The device size of a small test fixture. */
    public static final long DEVICE_BYTES = 64L << 20;

    @Benchmark
    public long loadMkfsMountUmountUnload() {
        return fixture();
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Fork(10)
    @Warmup(iterations = 0)
    @Measurement(iterations = 1)
    public long firstFixtureInFreshJvm() {
        return fixture();
    }

    private static long fixture() {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
        BlockDevice dev = mod.createDevice("sdc", DEVICE_BYTES);
        mod.mkfs(dev);
        Btrfs fs = mod.mount(dev, "");
        long gen = Internals.fsInfo(fs).lastTransCommitted();
        fs.umount();
        Modules.unloadClean(mod);
        return gen;
    }
}
