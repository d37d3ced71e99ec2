package org.jbtrfs.transaction;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.MemoryBlockDevice;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.workqueue.FsWorkqueues;
import org.jbtrfs.workqueue.WorkerPool;

/**
 * One loaded "module" (kernel on a {@link ManualClock} + a kworker pool) with one freshly formatted
 * 256 MiB in-memory device, and the transaction-layer parts of open_ctree / close_ctree in kernel
 * order (the fs module's OpenCtree and CloseCtree without the cleaner and qgroup layers, which sit
 * above this module). Nothing here sleeps; every wait is bounded. Public for the qgroup module's tests
 * (the jbtrfs-transaction test-jar).
 */
public final class TestFs implements AutoCloseable {
    public static final long SIZE = 256L << 20;
    private static final AtomicInteger MODULES = new AtomicInteger();

    public final ManualClock clock = new ManualClock();
    public final Kernel kernel;
    public final WorkerPool pool;
    public final MemoryBlockDevice dev;
    private final List<FsInfo> opened = new ArrayList<>();
    private List<SlabLeak> leaks;

    public TestFs() { this(Crc32cImpl.ACCELERATED); }

    public TestFs(Crc32cImpl crc) { this(crc, new FixSwitch[0]); }

    /** With {@code reverted} fixes reverted (the kernel code before those patches). */
    public TestFs(Crc32cImpl crc, FixSwitch... reverted) {
        kernel = new Kernel("tt" + MODULES.incrementAndGet(),
            KernelConfig.defaults().revert(reverted).crc32c(crc).clock(clock).logCapacity(65_536).workerThreads(2));
        pool = new WorkerPool(kernel);
        dev = new MemoryBlockDevice("sdc", SIZE);
        Mkfs.mkfs(kernel, dev, "test");
    }

    /**
     * The transaction-layer part of open_ctree (fs/OpenCtree.openCtree): read the superblock, a new
     * fs_info, btrfs_init_workqueues, the tree root, the extent root, btrfs_read_block_groups, the
     * default subvolume. No kthread: see {@link #startTransactionKthread}. On failure the workqueues
     * are destroyed again and the error is thrown.
     */
    public FsInfo open() { return open(dev); }

    /** {@link #open()} through {@code device}, a wrapper of {@link #dev} (a dm-flakey {@code FlakeyBlockDevice}). */
    public FsInfo open(org.jbtrfs.core.BlockDevice device) {
        SuperBlock sb = DiskIo.readSuper(device, kernel.crc32c());
        FsInfo fs = new FsInfo(kernel, device, sb, Mkfs.spaceManager(device.size()));
        fs.setWorkqueues(FsWorkqueues.init(pool, dev.name(), fs.threadPoolSize()));
        opened.add(fs);
        try {
            fs.setTreeRoot(new Root(ItemType.ROOT_TREE_OBJECTID, fs.btreeInode.readTreeBlock(sb.root, sb.generation), null));
            fs.setExtentRoot(FsRoots.readRoot(fs, ItemType.EXTENT_TREE_OBJECTID));
            fs.setCsumRoot(FsRoots.readRoot(fs, ItemType.CSUM_TREE_OBJECTID)); // a freed data extent's btrfs_del_csums
            fs.setDevRoot(FsRoots.readRoot(fs, ItemType.DEV_TREE_OBJECTID));
            DevStats.initDevStats(fs); // as open_ctree: the device's error counters valid (and printed) from here on
            BlockGroups.readBlockGroups(fs);
            fs.setFsRoot(FsRoots.getFsRoot(fs, ItemType.FS_TREE_OBJECTID, true));
        } catch (RuntimeException e) {
            fs.workqueues().stopAll();
            opened.remove(fs);
            throw e;
        }
        return fs;
    }

    /** kernel: kthread_run(transaction_kthread) as open_ctree does it. */
    public static Kthread startTransactionKthread(FsInfo fs) {
        fs.setTransactionKthread(TransactionKthread.start(fs));
        return fs.transactionKthread();
    }

    /**
     * close_ctree on a read-write filesystem, transaction-layer steps only: btrfs_commit_super, stop
     * the kthreads, btrfs_stop_all_workers, free the roots and block groups, the btree inode's final
     * iput.
     */
    public void closeClean(FsInfo fs) {
        fs.asyncReclaim().cancelSync(); // cancel_work_sync(&fs_info->async_reclaim_work)
        DiskIo.commitSuper(fs);
        closeTail(fs);
    }

    /**
     * The tail of close_ctree that runs on a read-only filesystem (nothing commits): stop the
     * transaction kthread and the cleaner, btrfs_stop_all_workers, btrfs_free_fs_roots,
     * btrfs_free_block_groups, iput(btree_inode). A transaction left open reaches the last two.
     */
    public void closeTail(FsInfo fs) {
        stopKthreads(fs);
        fs.workqueues().stopAll();
        FsRoots.freeFsRoots(fs);
        fs.space.freeBlockGroups(fs.log(), fs.sbId());
        opened.remove(fs);
        fs.btreeInode.finalIput();
    }

    /**
     * Drops an fs_info without any of close_ctree's writing steps (a crash / power cut as far as the
     * device is concerned): only the threads are stopped.
     */
    public void abandon(FsInfo fs) {
        stopKthreads(fs);
        fs.workqueues().stopAll();
        opened.remove(fs);
    }

    private static void stopKthreads(FsInfo fs) {
        for (Kthread k : new Kthread[] {fs.transactionKthread(), fs.cleanerKthread()}) {
            if (k != null && !k.isFreed()) { // a kthread already stopped: a second kthread_stop would be a use-after-free
                k.stop();
            }
        }
    }

    /** Module unload: join the kworker pool and kthreadd, destroy the slab caches; what they still held. */
    public List<SlabLeak> unload() {
        if (leaks == null) {
            pool.shutdown(org.jbtrfs.testsupport.Waits.BOUND);
            leaks = kernel.shutdown();
        }
        return leaks;
    }

    /** Whatever a failed test left running is stopped; then the module is unloaded. */
    @Override
    public void close() {
        for (FsInfo fs : new ArrayList<>(opened)) {
            try {
                stopKthreads(fs);
                if (!fs.workqueues().workers.isDestroyed()) {
                    fs.workqueues().stopAll();
                }
            } catch (RuntimeException ignored) {
                // best effort: the test already failed
            }
        }
        opened.clear();
        unload();
    }

    // ---- items -----------------------------------------------------------------------------------

    /** The key of test item {@code i}: above the root directory's inode, so no clash with mkfs's items. */
    static Key key(long i) {
        return new Key(ItemType.FIRST_FREE_OBJECTID + 1 + i, ItemType.INODE_ITEM, 0);
    }

    /** A distinct payload per item and per round, so a stale version cannot pass for a new one. */
    static byte[] data(long i, String round) {
        return (round + ":item-" + i).getBytes(StandardCharsets.UTF_8);
    }

    /** Generation in the superblock on the device (what a mount would see). */
    public long onDiskGeneration() {
        return DiskIo.readSuper(dev, kernel.crc32c()).generation;
    }
}
