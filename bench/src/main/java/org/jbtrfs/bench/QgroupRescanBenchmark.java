package org.jbtrfs.bench;

import org.jbtrfs.fs.internal.Internals;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.Item;
import org.jbtrfs.transaction.ctree.Leaf;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How many extent items per second btrfs_qgroup_rescan_worker accounts, walking the extent tree's
 * commit root one leaf per transaction, on a filesystem with 10^5 data extents plus the tree blocks
 * that hold them.
 *
 * <p>The filesystem is built once per trial through the public file API (1,000 files, 100 appending
 * writes of 100 bytes each, every write a new 4 KiB data extent) on a manual clock, so nothing commits
 * until the build's final sync. One measured operation is {@code btrfs quota rescan} + {@code -w}:
 * btrfs_qgroup_rescan's join-and-commit and zeroing, the worker's per-leaf transactions (the last one
 * committed) and its status update, until complete_all. The teardown checks that every rescan came
 * to the same numbers as the first, and that the module unloads clean.
 *
 * <p>Throughput mode: rescans per second, and the secondary metric {@code extentItems}: extent items
 * accounted per second. This is the port's cost (leaf copies from the cached commit root, transaction
 * start/end, every extent's roots from the commit roots' backref walk, {@code Backref}, and their accounting),
 * not a kernel prediction: the kernel's walk also allocates and may read uncached blocks. A fixed heap keeps G1 from shrinking and
 * growing again inside a measurement (the in-memory device holds the 10^5 blocks).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 10, time = 1)
@Measurement(iterations = 5, time = 1)
public class QgroupRescanBenchmark {
    public static final int EXTENTS = 100_000;
    public static final int FILES = 1000;
    public static final int EXTENT_BYTES = 100;

    @Param({"GENERIC", "ACCELERATED"})
    public Crc32cImpl crc32c;

    private BtrfsModule mod;
    private Btrfs fs;
    private Object expected;
    private int extentItems;

    /** Extent items accounted, reported per second next to the rescans. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Accounted {
        public long extentItems;

        @Setup(Level.Iteration)
        public void reset() {
            extentItems = 0;
        }
    }

    @Setup(Level.Trial)
    public void build() {
        mod = BtrfsModule.load(KernelConfig.defaults().crc32c(crc32c).clock(new ManualClock()));
        // the first data chunk (Mkfs.dataChunkSize: an eighth of the device, 512 MiB) holds every extent
        BlockDevice dev = mod.createDevice("sdc", 4L << 30);
        mod.mkfs(dev);
        fs = mod.mount(dev, "");
        byte[] data = new byte[EXTENT_BYTES];
        List<FileHandle> files = new java.util.ArrayList<>();
        for (int f = 0; f < FILES; f++) {
            fs.createFile("f" + f);
            files.add(fs.open("f" + f));
        }
        // each append written back on its own (sync_file_range): one ordered extent, one extent item. Plain
        // appends would stay in the page cache and writeback would merge each file's into one extent
        for (int i = 0; i < EXTENTS; i++) {
            FileHandle h = files.get(i % FILES);
            h.write(data);
            h.syncFileRange();
        }
        files.forEach(FileHandle::close);
        fs.sync();
        fs.quotaEnable(); // the first rescan
        fs.quotaRescanWait();
        fs.sync();
        extentItems = countExtentItems(Internals.fsInfo(fs));
        if (extentItems < EXTENTS) {
            // a figure about 10^5 extents must not silently measure fewer (writeback merging appends once did)
            throw new IllegalStateException("the setup made " + extentItems + " extent items, expected at least " + EXTENTS);
        }
        expected = fs.qgroupUsage();
        // the build left the device's blocks and the page cache young: collect before measuring, so
        // the first young collection does not copy them inside a measured iteration
        System.gc();
    }

    @Benchmark
    public long rescanAndWait(Accounted accounted) {
        fs.quotaRescan();
        fs.quotaRescanWait();
        accounted.extentItems += extentItems;
        return fs.qgroupUsage().get(0).referenced();
    }

    @TearDown(Level.Trial)
    public void check() {
        fs.sync();
        List<?> usage = fs.qgroupUsage();
        if (!expected.equals(usage)) {
            throw new IllegalStateException("rescans disagree: " + expected + " vs " + usage);
        }
        fs.umount();
        Modules.unloadClean(mod);
    }

    /** EXTENT_ITEM + METADATA_ITEM items in the extent tree's commit root: what one rescan walks. */
    static int countExtentItems(FsInfo fi) {
        int items = 0;
        Key k = Key.MIN;
        while (true) {
            Leaf l = Trees.commitRootLeaf(fi, fi.extentRoot(), k);
            for (Item it : l.items()) {
                int type = it.key().type();
                if (type == ItemType.EXTENT_ITEM || type == ItemType.METADATA_ITEM) {
                    items++;
                }
            }
            if (l.isLast()) {
                return items;
            }
            k = l.nextKey();
        }
    }
}
