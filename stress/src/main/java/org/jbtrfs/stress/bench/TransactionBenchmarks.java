package org.jbtrfs.stress.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.UnloadReport;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;

/**
 * Costs of the transaction layer, on a mounted filesystem (org.jbtrfs.fs.BtrfsModule, in-memory
 * devices, accelerated crc32c):
 * <ul>
 *   <li>items inserted per second through {@link Trees#insert} in one transaction of 10^5 items,
 *       keys in ascending and in random order (the COW B-tree's split path, delayed refs, dirtying);</li>
 *   <li>commit latency for 10, 100 and 1,000 dirty tree blocks: running the delayed refs into the
 *       extent tree, rewriting root and block group items, writing and checksumming every dirty
 *       block synchronously, the superblock, unpinning;</li>
 *   <li>mkfs + mount + umount of a 256 MiB in-memory device: the whole lifecycle, threads included.</li>
 * </ul>
 * The first two are macro measurements: each run sets up its own state untimed (a fresh filesystem,
 * or a fresh set of dirty blocks) and times only the operation; the modules run on a manual clock so
 * the transaction kthread never commits in the middle. The lifecycle case uses {@link Bench} (the
 * real clock, as a user would run it). Cells: mean and best over the measured runs.
 *
 * <p>Run: {@code java -cp stress/target/jbtrfs-stress.jar org.jbtrfs.stress.bench.TransactionBenchmarks
 * [warmups] [iterations]}; about a minute with the defaults (3, 10).
 */
public final class TransactionBenchmarks {
    private static final int ITEMS = 100_000;
    private static final long KEY_BASE = 1L << 40; // far above the inode numbers the fs layer hands out

    private TransactionBenchmarks() { }

    public static void main(String[] args) throws Exception {
        int warmups = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        List<Bench.Result> results = new ArrayList<>();
        List<String> notes = new ArrayList<>();

        BtrfsModule manual = BtrfsModule.load(KernelConfig.defaults().clock(new ManualClock()));
        inserts(manual, warmups, iterations, false, results, notes);
        inserts(manual, warmups, iterations, true, results, notes);
        commitLatency(manual, warmups, iterations, results, notes);
        notes.add("manual-clock module unload clean: " + manual.unload().clean());

        Bench bench = new Bench(Math.max(1, warmups), iterations);
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
        BlockDevice dev = mod.createDevice("sdl", 256L << 20);
        bench.time("mkfs + mount + umount, 256 MiB memory device", Bench.Unit.US_PER_OP, ops -> {
            long gen = 0;
            for (long i = 0; i < ops; i++) {
                mod.mkfs(dev);
                Btrfs fs = mod.mount(dev, "");
                gen += fs.fsInfo().lastTransCommitted();
                fs.umount();
            }
            return gen;
        });
        bench.time("  of which mkfs", Bench.Unit.US_PER_OP, ops -> {
            for (long i = 0; i < ops; i++) {
                mod.mkfs(dev);
            }
            return ops;
        });
        mod.mkfs(dev);
        bench.time("  of which mount + umount (commit_super of an empty transaction)", Bench.Unit.US_PER_OP, ops -> {
            long gen = 0;
            for (long i = 0; i < ops; i++) {
                Btrfs fs = mod.mount(dev, "");
                gen += fs.fsInfo().lastTransCommitted();
                fs.umount();
            }
            return gen;
        });
        UnloadReport report = mod.unload();
        notes.add("system-clock module unload clean: " + report.clean() + "; kthreadd threads created: "
            + mod.kernel().kthreadd().threadsCreated());
        results.addAll(bench.results());

        System.out.println("jbtrfs transaction benchmarks: " + Runtime.getRuntime().availableProcessors() + " CPUs, "
            + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
            + warmups + " warm-up + " + iterations + " measured runs (Bench cases: iterations of ~"
            + Bench.TARGET_NANOS / 1_000_000 + " ms)");
        System.out.println();
        System.out.println("| benchmark | mean | best | unit | runs × ops |");
        System.out.println("|---|---:|---:|---|---|");
        for (Bench.Result r : results) {
            System.out.println(r.row());
        }
        System.out.println();
        notes.forEach(System.out::println);
        System.out.println("sink " + Bench.sink);
    }

    /**
     * 10^5 items through Trees.insert in one transaction on a fresh filesystem per run; only the
     * inserts are timed (then the transaction is committed, untimed except as a note, and unmounted).
     */
    private static void inserts(BtrfsModule mod, int warmups, int iterations, boolean random, List<Bench.Result> results,
                                List<String> notes) {
        long[] order = new long[ITEMS];
        for (int i = 0; i < ITEMS; i++) {
            order[i] = i;
        }
        if (random) {
            SplittableRandom rnd = new SplittableRandom(20201214);
            for (int i = ITEMS - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                long t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        BlockDevice dev = mod.createDevice(random ? "sdr" : "sds", 256L << 20);
        long[] insertNanos = new long[iterations];
        long[] commitNanos = new long[iterations];
        long[] dirty = new long[iterations];
        for (int run = -warmups; run < iterations; run++) {
            mod.mkfs(dev);
            Btrfs b = mod.mount(dev, "");
            FsInfo fs = b.fsInfo();
            TransHandle h = Transactions.start(fs, fs.fsRoot, 1, "bench_insert");
            long t0 = System.nanoTime();
            for (int i = 0; i < ITEMS; i++) {
                long k = order[i];
                Trees.insert(h, fs.fsRoot, new Key(KEY_BASE + k, ItemType.INODE_ITEM, 0), payload(k));
            }
            long t1 = System.nanoTime();
            int dirtyBlocks = fs.btreeInode.dirtyCount();
            Transactions.commit(h);
            long t2 = System.nanoTime();
            b.umount();
            if (run >= 0) {
                insertNanos[run] = t1 - t0;
                commitNanos[run] = t2 - t1;
                dirty[run] = dirtyBlocks;
            }
        }
        String order0 = random ? "random" : "ascending";
        Bench.Result r = result("Trees.insert, 10^5 items in one transaction, " + order0 + " keys", Bench.Unit.NS_PER_OP,
            insertNanos, ITEMS);
        results.add(r);
        notes.add(String.format(Locale.ROOT, "%s keys: %.0f items/s mean, %.0f items/s best; the commit of those 10^5 "
                + "items (%d dirty blocks) took %.1f ms mean, %.1f ms best",
            order0, 1e9 / r.mean(), 1e9 / r.best(), dirty[0], mean(commitNanos) / 1e6, min(commitNanos) / 1e6));
    }

    /**
     * Commit latency for a given number of dirty tree blocks: a committed fs tree of 3000-byte items
     * (a few per leaf); each run updates items in place, in key order from where the last run
     * stopped, until the btree inode holds the wanted number of dirty blocks (leaves plus the nodes
     * above them), then times Transactions.commit.
     */
    private static void commitLatency(BtrfsModule mod, int warmups, int iterations, List<Bench.Result> results,
                                      List<String> notes) {
        BlockDevice dev = mod.createDevice("sdc", 1L << 30);
        mod.mkfs(dev);
        Btrfs b = mod.mount(dev, "");
        FsInfo fs = b.fsInfo();
        int items = 12_000;
        TransHandle h = Transactions.start(fs, fs.fsRoot, 1, "bench_populate");
        for (int i = 0; i < items; i++) {
            Trees.insert(h, fs.fsRoot, new Key(KEY_BASE + i, ItemType.INODE_ITEM, 0), big(i, 0));
        }
        Transactions.commit(h);
        int cursor = 0;
        int round = 0;
        for (int target : new int[] {10, 100, 1000}) {
            long[] nanos = new long[iterations];
            long[] dirty = new long[iterations];
            for (int run = -warmups; run < iterations; run++) {
                round++;
                TransHandle u = Transactions.start(fs, fs.fsRoot, 1, "bench_dirty");
                while (fs.btreeInode.dirtyCount() < target) {
                    Trees.update(u, fs.fsRoot, new Key(KEY_BASE + cursor, ItemType.INODE_ITEM, 0), big(cursor, round));
                    cursor = (cursor + 1) % items;
                }
                int d = fs.btreeInode.dirtyCount();
                long t0 = System.nanoTime();
                Transactions.commit(u);
                long t1 = System.nanoTime();
                if (run >= 0) {
                    nanos[run] = t1 - t0;
                    dirty[run] = d;
                }
            }
            results.add(result("commit, " + target + " dirty tree blocks", Bench.Unit.US_PER_OP, nanos, 1));
            notes.add("commit, " + target + " dirty blocks: dirty counts over the runs " + Arrays.toString(dirty));
        }
        b.umount();
    }

    private static byte[] payload(long i) {
        byte[] b = new byte[32];
        for (int j = 0; j < 8; j++) {
            b[j] = (byte) (i >>> (8 * j));
        }
        return b;
    }

    private static byte[] big(long i, int round) {
        byte[] b = new byte[3000];
        Arrays.fill(b, (byte) (i + round));
        return b;
    }

    private static Bench.Result result(String name, Bench.Unit unit, long[] nanos, long opsPerRun) {
        double scale = unit == Bench.Unit.US_PER_OP ? 1e-3 : 1;
        return new Bench.Result(name, unit, mean(nanos) / opsPerRun * scale, (double) min(nanos) / opsPerRun * scale,
            opsPerRun, nanos.length);
    }

    private static double mean(long[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    private static long min(long[] v) {
        return Arrays.stream(v).min().orElse(0);
    }
}
