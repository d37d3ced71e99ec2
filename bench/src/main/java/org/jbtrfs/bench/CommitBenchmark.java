package org.jbtrfs.bench;

import org.jbtrfs.fs.internal.Internals;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
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
 * btrfs_commit_transaction with a given number of dirty tree blocks: running the delayed refs into the
 * extent tree, rewriting root and block group items until nothing changes, switching the commit roots,
 * checksumming and writing every dirty block synchronously, the superblock, unpinning.
 *
 * <p>One mounted filesystem (1 GiB in-memory device, accelerated crc32c, a manual clock so the
 * transaction kthread never commits on its own) with a committed fs tree of 12,000 items of 3,000
 * bytes (a few per leaf). Before each measured commit, untimed, one transaction updates items in
 * place, in key order from where the previous one stopped, until the btree inode holds {@link #dirty}
 * dirty extent buffers (leaves plus the nodes above them); only Transactions.commit is timed.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CommitBenchmark {
    private static final int ITEMS = 12_000;
    private static final long KEY_BASE = 1L << 40; // far above the inode numbers the fs layer hands out

    @Param({"10", "100", "1000"})
    public int dirty;

    private BtrfsModule mod;
    private Btrfs btrfs;
    private FsInfo fs;
    private int cursor;
    private int round;
    private TransHandle handle;

    @Setup(Level.Trial)
    public void mount() {
        mod = BtrfsModule.load(KernelConfig.defaults().clock(new ManualClock()));
        BlockDevice dev = mod.createDevice("sdc", 1L << 30);
        mod.mkfs(dev);
        btrfs = mod.mount(dev, "");
        fs = Internals.fsInfo(btrfs);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "bench_populate");
        for (int i = 0; i < ITEMS; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), item(i, 0));
        }
        Transactions.commit(h);
    }

    /** Untimed: dirty exactly {@link #dirty} tree blocks in a new transaction. */
    @Setup(Level.Invocation)
    public void dirtyBlocks() {
        round++;
        handle = Transactions.start(fs, fs.fsRoot(), 1, "bench_dirty");
        while (fs.btreeInode.dirtyCount() < dirty) {
            Trees.update(handle, fs.fsRoot(), key(cursor), item(cursor, round));
            cursor = (cursor + 1) % ITEMS;
        }
    }

    @Benchmark
    public void commit() {
        Transactions.commit(handle);
    }

    @TearDown(Level.Trial)
    public void umount() {
        btrfs.umount();
        Modules.unloadClean(mod);
    }

    private static Key key(int i) {
        return new Key(KEY_BASE + i, ItemType.INODE_ITEM, 0);
    }

    private static byte[] item(int i, int round) {
        byte[] b = new byte[3000];
        Arrays.fill(b, (byte) (i + round));
        return b;
    }
}
