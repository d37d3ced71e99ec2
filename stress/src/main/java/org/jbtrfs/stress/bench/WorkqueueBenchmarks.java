package org.jbtrfs.stress.bench;

import java.util.EnumSet;
import java.util.concurrent.CountDownLatch;
import org.jbtrfs.core.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.workqueue.BtrfsWork;
import org.jbtrfs.workqueue.BtrfsWorkqueue;
import org.jbtrfs.workqueue.WorkerPool;
import org.jbtrfs.workqueue.WqFlag;

/**
 * queueWork → run latency on the module's kworker pool: one work queued and waited for at a time
 * (a round trip through the JCTools queue, a worker wake-up and back), and queue throughput with
 * 1,000 works in flight on the 16-thresh "worker" queue.
 */
public final class WorkqueueBenchmarks {
    private WorkqueueBenchmarks() { }

    public static void main(String[] args) throws Exception {
        int warmups = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        Kernel kernel = new Kernel("bench", KernelConfig.defaults());
        WorkerPool pool = new WorkerPool(kernel, 4);
        BtrfsWorkqueue workers = BtrfsWorkqueue.alloc(pool, "sdc", "worker", EnumSet.of(WqFlag.HIGHPRI), 8, 16);
        Bench bench = new Bench(warmups, iterations);
        bench.time("queueWork -> run -> caller woken (one at a time)", Bench.Unit.US_PER_OP, ops -> {
            long sum = 0;
            for (long i = 0; i < ops; i++) {
                CountDownLatch done = new CountDownLatch(1);
                workers.queueWork(new BtrfsWork(done::countDown));
                done.await();
                sum++;
            }
            return sum;
        });
        bench.time("queueWork, 1000 in flight, then flush (per work)", Bench.Unit.US_PER_OP, ops -> {
            for (long i = 0; i < ops; i++) {
                workers.queueWork(new BtrfsWork(() -> { }));
                if (i % 1000 == 999) {
                    workers.flush();
                }
            }
            workers.flush();
            return ops;
        });
        workers.destroy();
        pool.shutdown();
        kernel.shutdown();
        System.out.println("jbtrfs workqueue benchmarks: " + Runtime.getRuntime().availableProcessors() + " CPUs, "
            + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        System.out.println("| benchmark | mean | best | unit | iterations × ops |\n|---|---:|---:|---|---|");
        bench.results().forEach(r -> System.out.println(r.row()));
    }
}
