package org.jbtrfs.workqueue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;

/**
 * The workqueues of one mounted filesystem (kernel: the *_workers fields of struct btrfs_fs_info),
 * created by {@link #init} in open_ctree and destroyed by {@link #stopAll} in close_ctree.
 *
 * <p>The fields stay set after {@link #stopAll}, as the kernel leaves fs_info->workers pointing at
 * the freed queue: a late {@code workers.queueWork(...)} (the final iput's async metadata write in
 * the patch series) is then the detected use-after-free.
 */
public final class FsWorkqueues {
    /** kernel: the flags btrfs_init_workqueues passes to every queue. */
    private static final Set<WqFlag> FLAGS = EnumSet.of(WqFlag.MEM_RECLAIM, WqFlag.FREEZABLE, WqFlag.UNBOUND);
    private static final Set<WqFlag> FLAGS_HIGHPRI =
        EnumSet.of(WqFlag.MEM_RECLAIM, WqFlag.FREEZABLE, WqFlag.UNBOUND, WqFlag.HIGHPRI);

    private final String device;
    private final int threadPoolSize;

    /** fs_info->workers: async bio submission (checksum + map), normal and high. */
    public final BtrfsWorkqueue workers;
    public final BtrfsWorkqueue delallocWorkers;
    public final BtrfsWorkqueue flushWorkers;
    public final BtrfsWorkqueue cachingWorkers;
    public final BtrfsWorkqueue fixupWorkers;
    public final BtrfsWorkqueue endioWorkers;
    public final BtrfsWorkqueue endioMetaWorkers;
    public final BtrfsWorkqueue endioMetaWriteWorkers;
    public final BtrfsWorkqueue endioRaid56Workers;
    public final BtrfsWorkqueue rmwWorkers;
    public final BtrfsWorkqueue endioWriteWorkers;
    public final BtrfsWorkqueue endioFreespaceWorker;
    public final BtrfsWorkqueue delayedWorkers;
    public final BtrfsWorkqueue readaheadWorkers;
    /** fs_info->qgroup_rescan_workers: max_active 1, so rescan works run strictly one after another. */
    public final BtrfsWorkqueue qgroupRescanWorkers;
    /** fs_info->discard_ctl.discard_workers: a plain kernel workqueue, "btrfs_discard", max_active 1. */
    public final BtrfsWorkqueue discardWorkers;

    /**
     * kernel: btrfs_init_workqueues() in fs/btrfs/disk-io.c — names, max_active and thresh as in
     * v5.10; {@code threadPoolSize} is fs_info->thread_pool_size (mount option thread_pool=N, default
     * {@link #defaultThreadPoolSize()}).
     *
     * @throws BtrfsException EINVAL when threadPoolSize is below 1 (as the thread_pool option)
     */
    public static FsWorkqueues init(WorkerPool pool, String device, int threadPoolSize) {
        if (threadPoolSize < 1) {
            throw new BtrfsException(Errno.EINVAL, "invalid value " + threadPoolSize + " for thread_pool");
        }
        return new FsWorkqueues(pool, device, threadPoolSize);
    }

    /** kernel: min_t(unsigned long, num_online_cpus() + 2, 8) in open_ctree. */
    public static int defaultThreadPoolSize() {
        return Math.min(Runtime.getRuntime().availableProcessors() + 2, 8);
    }

    private FsWorkqueues(WorkerPool pool, String device, int maxActive) {
        this.device = device;
        this.threadPoolSize = maxActive;
        workers = BtrfsWorkqueue.alloc(pool, device, "worker", FLAGS_HIGHPRI, maxActive, 16);
        delallocWorkers = BtrfsWorkqueue.alloc(pool, device, "delalloc", FLAGS, maxActive, 2);
        flushWorkers = BtrfsWorkqueue.alloc(pool, device, "flush_delalloc", FLAGS, maxActive, 0);
        cachingWorkers = BtrfsWorkqueue.alloc(pool, device, "cache", FLAGS, maxActive, 0);
        fixupWorkers = BtrfsWorkqueue.alloc(pool, device, "fixup", FLAGS, 1, 0);
        // endios are largely parallel and should have a very low idle thresh (kernel comment)
        endioWorkers = BtrfsWorkqueue.alloc(pool, device, "endio", FLAGS, maxActive, 4);
        endioMetaWorkers = BtrfsWorkqueue.alloc(pool, device, "endio-meta", FLAGS, maxActive, 4);
        endioMetaWriteWorkers = BtrfsWorkqueue.alloc(pool, device, "endio-meta-write", FLAGS, maxActive, 2);
        endioRaid56Workers = BtrfsWorkqueue.alloc(pool, device, "endio-raid56", FLAGS, maxActive, 4);
        rmwWorkers = BtrfsWorkqueue.alloc(pool, device, "rmw", FLAGS, maxActive, 2);
        endioWriteWorkers = BtrfsWorkqueue.alloc(pool, device, "endio-write", FLAGS, maxActive, 2);
        endioFreespaceWorker = BtrfsWorkqueue.alloc(pool, device, "freespace-write", FLAGS, maxActive, 0);
        delayedWorkers = BtrfsWorkqueue.alloc(pool, device, "delayed-meta", FLAGS, maxActive, 0);
        readaheadWorkers = BtrfsWorkqueue.alloc(pool, device, "readahead", FLAGS, maxActive, 2);
        qgroupRescanWorkers = BtrfsWorkqueue.alloc(pool, device, "qgroup-rescan", FLAGS, 1, 0);
        discardWorkers = BtrfsWorkqueue.allocPlain(pool, device, "btrfs_discard", 1);
    }

    public String device() { return device; }

    /** fs_info->thread_pool_size: max_active of the queues not pinned to 1. */
    public int threadPoolSize() { return threadPoolSize; }

    /** Every queue, in allocation order. */
    public List<BtrfsWorkqueue> all() {
        return List.of(workers, delallocWorkers, flushWorkers, cachingWorkers, fixupWorkers, endioWorkers,
            endioMetaWorkers, endioMetaWriteWorkers, endioRaid56Workers, rmwWorkers, endioWriteWorkers,
            endioFreespaceWorker, delayedWorkers, readaheadWorkers, qgroupRescanWorkers, discardWorkers);
    }

    /**
     * kernel: btrfs_stop_all_workers() in fs/btrfs/disk-io.c — destroys every queue in the kernel's
     * order (each draining first) and returns them in that order. The fields keep their (now dead)
     * queues. Calling it twice is a double free: the first queue reports it and throws
     * {@link org.jbtrfs.core.KernelOops}.
     */
    public List<BtrfsWorkqueue> stopAll() {
        List<BtrfsWorkqueue> order = List.of(
            fixupWorkers,
            delallocWorkers,
            workers,
            endioWorkers,
            endioRaid56Workers,
            rmwWorkers,
            endioWriteWorkers,
            endioFreespaceWorker,
            delayedWorkers,
            cachingWorkers,
            readaheadWorkers,
            flushWorkers,
            qgroupRescanWorkers,
            discardWorkers,
            // Now that all other work queues are destroyed, the queues used for metadata I/O can go:
            // works of the others may do metadata I/O (kernel comment).
            endioMetaWorkers,
            endioMetaWriteWorkers);
        for (BtrfsWorkqueue q : order) {
            q.destroy();
        }
        return order;
    }
}
