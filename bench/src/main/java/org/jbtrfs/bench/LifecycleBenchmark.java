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
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The lifecycle through the public API on one loaded module (the real clock, as a user runs it) and a
 * 256 MiB in-memory device: mkfs + mount + umount, and its two halves. Mount allocates the 16
 * workqueues, reads the trees and block groups and borrows the cleaner and transaction kthreads from
 * the kthreadd pool; umount (close_ctree) stops them again and commits an empty transaction
 * (commit_super). Loading and unloading the module is not in it: see {@link FixtureBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LifecycleBenchmark {
    private BtrfsModule mod;
    private BlockDevice dev;

    @Setup
    public void load() {
        mod = BtrfsModule.load(KernelConfig.defaults());
        dev = mod.createDevice("sdl", 256L << 20);
        mod.mkfs(dev);
    }

    @TearDown
    public void unload() {
        Modules.unloadClean(mod);
    }

    @Benchmark
    public long mkfsMountUmount() {
        mod.mkfs(dev);
        return mountUmount();
    }

    @Benchmark
    public void mkfs() {
        mod.mkfs(dev);
    }

    @Benchmark
    public long mountUmount() {
        Btrfs fs = mod.mount(dev, "");
        long gen = Internals.fsInfo(fs).lastTransCommitted();
        fs.umount();
        return gen;
    }
}
