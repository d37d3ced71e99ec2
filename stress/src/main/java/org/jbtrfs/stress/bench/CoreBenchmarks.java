package org.jbtrfs.stress.bench;

import java.util.SplittableRandom;
import org.jbtrfs.core.AcceleratedCrc32c;
import org.jbtrfs.core.Crc32c;
import org.jbtrfs.core.FlagWord;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.GenericCrc32c;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.Kthread;
import org.jbtrfs.core.Kthreadd;

/**
 * Costs of the core primitives the lifecycle leans on, measured rather than asserted in tests:
 * <ul>
 *   <li>crc32c, generic vs accelerated: btrfs sets BTRFS_FS_CSUM_IMPL_FAST from the driver name,
 *       on the premise that the generic driver is slow enough to be worth checksumming on a
 *       workqueue (the async-submit path in which patch 1/5's use-after-free happens); this
 *       measures that premise;</li>
 *   <li>an unarmed FlagWord.test and an unarmed Hooks.arrive: hooks sit on hot paths and promise
 *       "one volatile read" when nothing is armed;</li>
 *   <li>kthread run+stop through the kthreadd pool vs a fresh Java thread: the reason for the pool.</li>
 * </ul>
 * Run: {@code java -cp stress/target/classes:core/target/classes:<slf4j-api.jar>
 * org.jbtrfs.stress.bench.CoreBenchmarks [warmups] [iterations]}; about 30 s with the defaults.
 */
public final class CoreBenchmarks {
    private CoreBenchmarks() { }

    public static void main(String[] args) throws Exception {
        int warmups = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        Bench bench = new Bench(warmups, iterations);

        crc32c(bench, GenericCrc32c.INSTANCE, 4096);
        crc32c(bench, AcceleratedCrc32c.INSTANCE, 4096);
        crc32c(bench, GenericCrc32c.INSTANCE, 16384);
        crc32c(bench, AcceleratedCrc32c.INSTANCE, 16384);

        bench.time("baseline: counted loop, one dependent add", Bench.Unit.NS_PER_OP, ops -> {
            long x = 0;
            for (long i = 0; i < ops; i++) {
                x += i;
            }
            return x;
        });
        FlagWord<FsFlag> flags = new FlagWord<>();
        flags.set(FsFlag.OPEN);
        bench.time("FlagWord.test (volatile read)", Bench.Unit.NS_PER_OP, ops -> {
            long hits = 0;
            for (long i = 0; i < ops; i++) {
                if (flags.test(FsFlag.CLEANER_RUNNING)) {
                    hits++;
                }
            }
            return hits;
        });
        Hooks hooks = new Hooks();
        bench.time("Hooks.arrive, nothing armed", Bench.Unit.NS_PER_OP, ops -> {
            for (long i = 0; i < ops; i++) {
                hooks.arrive(Hook.CLEANER_AFTER_SET_RUNNING);
            }
            return hooks.arrivals(Hook.CLEANER_AFTER_SET_RUNNING) + ops;
        });

        KernelLog log = new KernelLog(1024, KernelClock.SYSTEM);
        Kthreadd kthreadd = new Kthreadd(KernelClock.SYSTEM, log, new org.jbtrfs.core.Sched());
        bench.time("kthread run+stop via kthreadd pool", Bench.Unit.US_PER_OP, ops -> {
            long sum = 0;
            for (long i = 0; i < ops; i++) {
                Kthread k = kthreadd.run("btrfs-cleaner", self -> {
                    while (true) {
                        self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                        if (self.shouldStop()) {
                            self.setCurrentState(Kthread.TaskState.RUNNING);
                            return 1;
                        }
                        self.schedule();
                    }
                });
                sum += k.stop();
            }
            return sum;
        });
        bench.time("java Thread start+join (fresh thread)", Bench.Unit.US_PER_OP, ops -> {
            long sum = 0;
            for (long i = 0; i < ops; i++) {
                long[] out = new long[1];
                Thread t = new Thread(() -> out[0] = 1, "btrfs-cleaner");
                t.start();
                t.join();
                sum += out[0];
            }
            return sum;
        });
        int pooled = kthreadd.threadsCreated();
        kthreadd.shutdown(5_000);

        System.out.println("jbtrfs core benchmarks: " + Runtime.getRuntime().availableProcessors() + " CPUs, "
            + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
            + warmups + " warm-up + " + iterations + " measured iterations of ~" + Bench.TARGET_NANOS / 1_000_000
            + " ms each");
        System.out.println();
        System.out.print(bench.table());
        System.out.println();
        System.out.println("kthreadd pool threads created: " + pooled + "; sink " + Bench.sink);
    }

    private static void crc32c(Bench bench, Crc32c crc, int size) {
        byte[] buf = new byte[size];
        new SplittableRandom(size).nextBytes(buf);
        bench.throughput("crc32c " + crc.driverName() + ", " + size / 1024 + " KiB", size, ops -> {
            long acc = 0;
            for (long i = 0; i < ops; i++) {
                buf[(int) (i & 7)] ^= (byte) i; // a different buffer each time, so no result can be reused
                acc += crc.compute(buf);
            }
            return acc;
        });
    }
}
