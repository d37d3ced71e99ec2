package org.jbtrfs.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.kernel.Kthreadd;
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
 * A kthread run and stopped through the kthreadd pool vs a fresh java.lang.Thread started and joined:
 * the reason for the pool. A pooled run+stop is three thread hand-offs (the job to a parked worker,
 * the stop wake-up, the exit notification back), so its cost is mostly wake-up latency, and it
 * depends on how busy the CPUs are.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KthreadBenchmark {
    private Kthreadd kthreadd;

    @Setup
    public void setUp() {
        kthreadd = new Kthreadd(KernelClock.SYSTEM, new KernelLog(1024, KernelClock.SYSTEM), new org.jbtrfs.core.kernel.Sched());
    }

    @TearDown
    public void tearDown() {
        List<String> stuck = kthreadd.shutdown(5_000);
        if (!stuck.isEmpty()) {
            throw new IllegalStateException("kthreadd threads survived the trial: " + stuck);
        }
    }

    /** kthread_run of a cleaner-like loop, then kthread_stop: the JVM-wide pool lends a parked thread. */
    @Benchmark
    public int kthreaddRunStop() {
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            // set the state, test, schedule: a stop that lands after the test still wakes us
            while (true) {
                self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    self.setCurrentState(Kthread.TaskState.RUNNING);
                    return 1;
                }
                self.schedule();
            }
        });
        return k.stop();
    }

    /** What the pool avoids: a new thread per kthread. */
    @Benchmark
    public int freshThreadStartJoin() throws InterruptedException {
        int[] out = new int[1];
        Thread t = new Thread(() -> out[0] = 1, "btrfs-cleaner");
        t.start();
        t.join();
        return out[0];
    }
}
