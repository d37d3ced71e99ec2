package org.jbtrfs.stress.bench;

import java.util.Locale;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.Item;
import org.jbtrfs.transaction.ctree.Leaf;

/**
 * Qgroup rescan throughput: how many extent items per second btrfs_qgroup_rescan_worker accounts,
 * walking the extent tree's commit root one leaf per transaction, on a filesystem with 10^5 data
 * extents (plus the tree blocks that hold them).
 *
 * <p>The filesystem is built through the public file API — {@code files} files with
 * {@code extents / files} appending writes of {@code extentBytes} bytes each, every write a new data
 * extent — with a manual clock, so nothing commits until the build's final sync. The build is timed
 * and reported, not benchmarked. Each measured operation is one {@code btrfs quota rescan} + {@code -w}:
 * the ioctl's join-and-commit, zeroing, the worker's per-leaf transactions (the last one committed) and
 * its status update, until complete_all; the numbers are checked to come out identical every time.
 *
 * <p>What it measures is the port's cost — leaf copies from the cached commit root, transaction
 * start/end, owner-based accounting — not a prediction for the kernel, whose rescan resolves every
 * extent's roots with a backref walk (btrfs_find_all_roots).
 *
 * <p>Run (after {@code mvn -B -o -q -pl stress -am package -DskipTests}):
 * {@code java -Xms4g -Xmx4g -cp stress/target/jbtrfs-stress.jar org.jbtrfs.stress.bench.QgroupBenchmarks [extents] [warmups] [iterations]};
 * defaults 100000, 3, 10 — about 10 s, 4 GB resident (the in-memory device holds 4 KiB per
 * extent). A fixed heap keeps G1 from shrinking after the System.gc() calls and growing again
 * (young pauses of 0.1-0.5 s copying the device) inside a measurement; results and numbers in
 * stress/BENCHMARKS-qgroup.md.
 */
public final class QgroupBenchmarks {
    private QgroupBenchmarks() { }

    /** Files the extents are spread over (appending to a file with many extents stays one leaf search). */
    static final int FILES = 1000;
    /** Bytes per write: one 4 KiB block on disk each. */
    static final int EXTENT_BYTES = 100;
    /** Rescans timed one by one for the worker-only figure. */
    static final int WORKER_RUNS = 20;

    public static void main(String[] args) {
        int extents = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int warmups = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int iterations = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        // every rescan logs "qgroup scan completed": keep the kernel log in its ring, off the console
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.jbtrfs.kernel"))
            .setLevel(ch.qos.logback.classic.Level.WARN);
        // An unmeasured full-size round first: without it whichever case is measured first has a 2-3x
        // worse mean (checked by swapping the order; a warm-up on 2*10^4 extents was not enough)
        warmUp(extents, 200);
        Bench bench = new Bench(warmups, iterations);
        StringBuilder rows = new StringBuilder();
        for (Crc32cImpl crc : Crc32cImpl.values()) {
            rows.append(run(bench, crc, extents));
        }
        System.out.println("jbtrfs qgroup rescan benchmark: " + Runtime.getRuntime().availableProcessors() + " CPUs, "
            + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
            + warmups + " warm-up + " + iterations + " measured iterations of ~" + Bench.TARGET_NANOS / 1_000_000
            + " ms each (at least one rescan each)");
        System.out.println();
        System.out.print(bench.table());
        System.out.println();
        System.out.println("| crc32c | extent items | extent-tree leaves | build (API) | ioctl+wait mean | ioctl+wait best | items/s mean | items/s best | worker mean | worker best | worker items/s mean |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        System.out.print(rows);
        System.out.println();
        System.out.println("sink " + Bench.sink);
    }

    private static String run(Bench bench, Crc32cImpl crc, int extents) {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().crc32c(crc).clock(new ManualClock()));
        try {
            BlockDevice dev = mod.createDevice("sdc", deviceSize(extents));
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            long t0 = System.nanoTime();
            build(fs, extents);
            fs.sync();
            double buildSeconds = (System.nanoTime() - t0) / 1e9;

            fs.quotaEnable(); // the first rescan
            fs.quotaRescanWait();
            fs.sync();
            int[] counts = extentItems(fs);
            long items = counts[0];
            var expected = fs.qgroupUsage();
            // the build left ~0.5 GB of young objects (the memory device's chunks, the page cache): the
            // first young collection would copy them all inside a measured iteration (a 0.4-0.7 s pause
            // seen with -Xlog:gc); settle the heap first
            System.gc();
            Bench.Result r = bench.time("qgroup rescan + wait, " + items + " extent items, crc32c " + crc, Bench.Unit.US_PER_OP,
                ops -> {
                    long acc = 0;
                    for (long i = 0; i < ops; i++) {
                        fs.quotaRescan();
                        fs.quotaRescanWait();
                        acc += fs.qgroupUsage().get(0).referenced();
                    }
                    return acc;
                });
            // the worker alone: from its first arrival at QGROUP_RESCAN_BEFORE_LEAF to complete_all
            // (the wait returning), without the ioctl's join-and-commit and zeroing before it
            long[] firstLeaf = new long[1];
            mod.hooks().setListener((hook, thread) -> {
                if (hook == Hook.QGROUP_RESCAN_BEFORE_LEAF && firstLeaf[0] == 0) {
                    firstLeaf[0] = System.nanoTime();
                }
            });
            double workerSum = 0;
            double workerBest = Double.MAX_VALUE;
            for (int i = 0; i < WORKER_RUNS; i++) {
                firstLeaf[0] = 0;
                fs.quotaRescan();
                fs.quotaRescanWait();
                double secs = (System.nanoTime() - firstLeaf[0]) / 1e9;
                workerSum += secs;
                workerBest = Math.min(workerBest, secs);
            }
            mod.hooks().setListener(null);
            double workerMean = workerSum / WORKER_RUNS;
            fs.sync();
            if (!expected.equals(fs.qgroupUsage())) {
                throw new IllegalStateException("rescans disagree: " + expected + " vs " + fs.qgroupUsage());
            }
            fs.umount();
            var report = mod.unload();
            if (!report.clean() || mod.log().tainted()) {
                throw new IllegalStateException("benchmark filesystem did not unmount cleanly:\n" + mod.log().dmesg());
            }
            double meanS = r.mean() / 1e6;
            double bestS = r.best() / 1e6;
            return String.format(Locale.ROOT, "| %s | %d | %d | %.1f s | %.2f ms | %.2f ms | %.2f M | %.2f M | %.2f ms | %.2f ms | %.2f M |%n",
                crc, items, counts[1], buildSeconds, meanS * 1e3, bestS * 1e3, items / meanS / 1e6, items / bestS / 1e6,
                workerMean * 1e3, workerBest * 1e3, items / workerMean / 1e6);
        } catch (RuntimeException e) {
            // do not try to unmount: a failed operation may have left a handle open, and umount would wait for it
            System.err.println(mod.log().dmesg());
            throw e;
        }
    }

    /**
     * A device whose first data chunk (mkfs: size / 8, at most 1 GiB) holds every extent: allocating a
     * second chunk inside a handle currently fails in Transactions.end ("tree modification through an
     * ended transaction handle": the handle is marked ended before btrfs_create_pending_block_groups
     * inserts the block group item) and leaves the transaction with a writer that never leaves.
     */
    static long deviceSize(int extents) {
        long size = Math.min(8L << 30, Math.max(1L << 30, Long.highestOneBit((long) extents * 4096 * 10) << 1));
        if (size / 8 < (long) extents * 4096 * 5 / 4) {
            throw new IllegalArgumentException("at most " + (1L << 30) / 4096 * 4 / 5 + " extents fit one data chunk");
        }
        return size;
    }

    private static void warmUp(int extents, int rescans) {
        for (Crc32cImpl crc : Crc32cImpl.values()) {
            BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().crc32c(crc).clock(new ManualClock()));
            BlockDevice dev = mod.createDevice("warm", deviceSize(extents));
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            build(fs, extents);
            fs.quotaEnable();
            fs.quotaRescanWait();
            for (int i = 0; i < rescans; i++) {
                fs.quotaRescan();
                fs.quotaRescanWait();
            }
            fs.umount();
            mod.unload();
        }
        System.gc();
    }

    /** {@code extents} data extents through the public API: FILES files, appended to round-robin. */
    static void build(Btrfs fs, int extents) {
        int files = Math.min(FILES, extents);
        byte[] data = new byte[EXTENT_BYTES];
        for (int f = 0; f < files; f++) {
            fs.createFile("f" + f);
        }
        for (int i = 0; i < extents; i++) {
            fs.writeFile("f" + (i % files), data);
        }
    }

    /** {EXTENT_ITEM + METADATA_ITEM items, leaves} in the extent tree's commit root: what one rescan walks. */
    static int[] extentItems(Btrfs fs) {
        FsInfo fi = fs.fsInfo();
        int items = 0;
        int leaves = 0;
        Key k = Key.MIN;
        while (true) {
            Leaf l = Trees.commitRootLeaf(fi, fi.extentRoot, k);
            leaves++;
            for (Item it : l.items()) {
                int type = it.key().type();
                if (type == ItemType.EXTENT_ITEM || type == ItemType.METADATA_ITEM) {
                    items++;
                }
            }
            if (l.isLast()) {
                return new int[] {items, leaves};
            }
            k = l.nextKey();
        }
    }
}
