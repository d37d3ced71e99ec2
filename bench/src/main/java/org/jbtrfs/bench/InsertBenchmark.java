package org.jbtrfs.bench;

import org.jbtrfs.fs.internal.Internals;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 10^5 items of 32 bytes through Trees.insert in one transaction: the CoW B-tree's search and split
 * path, tree-block allocation, delayed refs and dirtying. Keys ascending, or the same keys shuffled.
 * Each measured invocation gets a freshly made and mounted 256 MiB in-memory device and a started
 * transaction (untimed); afterwards, untimed, the transaction is committed and the filesystem
 * unmounted. Manual clock: the transaction kthread never commits in the middle. Reported per item.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class InsertBenchmark {
    public static final int ITEMS = 100_000;
    private static final long KEY_BASE = 1L << 40;

    @Param({"ascending", "random"})
    public String keys;

    private long[] order;
    private byte[][] payloads;
    private BtrfsModule mod;
    private BlockDevice dev;
    private Btrfs btrfs;
    private FsInfo fs;
    private TransHandle handle;

    @Setup(Level.Trial)
    public void load() {
        order = new long[ITEMS];
        for (int i = 0; i < ITEMS; i++) {
            order[i] = i;
        }
        if (keys.equals("random")) {
            SplittableRandom rnd = new SplittableRandom(20201214);
            for (int i = ITEMS - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                long t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        payloads = new byte[ITEMS][];
        for (int i = 0; i < ITEMS; i++) {
            payloads[i] = payload(order[i]);
        }
        mod = BtrfsModule.load(KernelConfig.defaults().clock(new ManualClock()));
        dev = mod.createDevice("sds", 256L << 20);
    }

    @Setup(Level.Invocation)
    public void freshFilesystem() {
        mod.mkfs(dev);
        btrfs = mod.mount(dev, "");
        fs = Internals.fsInfo(btrfs);
        handle = Transactions.start(fs, fs.fsRoot(), 1, "bench_insert");
    }

    @Benchmark
    @OperationsPerInvocation(ITEMS)
    public void insert100kItemsInOneTransaction() {
        for (int i = 0; i < ITEMS; i++) {
            Trees.insert(handle, fs.fsRoot(), new Key(KEY_BASE + order[i], ItemType.INODE_ITEM, 0), payloads[i]);
        }
    }

    @TearDown(Level.Invocation)
    public void commitAndUmount() {
        Transactions.commit(handle);
        btrfs.umount();
    }

    @TearDown(Level.Trial)
    public void unload() {
        Modules.unloadClean(mod);
    }

    private static byte[] payload(long i) {
        byte[] b = new byte[32];
        for (int j = 0; j < 8; j++) {
            b[j] = (byte) (i >>> (8 * j));
        }
        return b;
    }
}
