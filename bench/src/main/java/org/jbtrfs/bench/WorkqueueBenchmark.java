package org.jbtrfs.bench;

import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.workqueue.BtrfsWork;
import org.jbtrfs.workqueue.BtrfsWorkqueue;
import org.jbtrfs.workqueue.WorkerPool;
import org.jbtrfs.workqueue.WqFlag;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * btrfs_queue_work on the "worker" queue (HIGHPRI, max_active 8, thresh 16, as btrfs_init_workqueues
 * allocates it) over a 4-thread kworker pool: one work at a time with the caller waiting for it (a
 * round trip through the JCTools queue, a worker wake-up and the caller's wake-up), and the cost per
 * work with 1,000 in flight before a flush.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class WorkqueueBenchmark {
    /** Works queued before each flush in {@link #queueWorkInFlight()}. */
    public static final int IN_FLIGHT = 1000;

    private Kernel kernel;
    private WorkerPool pool;
    private BtrfsWorkqueue workers;

    @Setup
    public void setUp() {
        kernel = new Kernel("bench", KernelConfig.defaults());
        pool = new WorkerPool(kernel, 4);
        workers = BtrfsWorkqueue.alloc(pool, "sdc", "worker", EnumSet.of(WqFlag.HIGHPRI), 8, 16);
    }

    @TearDown
    public void tearDown() {
        workers.destroy();
        List<String> stuck = pool.shutdown();
        List<SlabLeak> leaks = kernel.shutdown();
        if (!stuck.isEmpty() || !leaks.isEmpty() || !pool.liveThreads().isEmpty()) {
            throw new IllegalStateException("workqueue trial left " + stuck + " " + leaks + " " + pool.liveThreads());
        }
    }

    /** queueWork → a kworker runs it → the waiting caller is woken. */
    @Benchmark
    public void queueWorkRoundTrip() throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        workers.queueWork(new BtrfsWork(done::countDown));
        done.await();
    }

    /** 1,000 works queued back to back, then flush_workqueue; reported per work. */
    @Benchmark
    @OperationsPerInvocation(IN_FLIGHT)
    public void queueWorkInFlight() {
        for (int i = 0; i < IN_FLIGHT; i++) {
            workers.queueWork(new BtrfsWork(() -> { }));
        }
        workers.flush();
    }
}
