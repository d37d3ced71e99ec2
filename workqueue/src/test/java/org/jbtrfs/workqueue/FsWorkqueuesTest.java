package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.junit.jupiter.api.Test;

class FsWorkqueuesTest extends PoolFixture {

    @Test
    void initCreatesTheKernelsQueuesWithTheirLimits() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 6);
        assertEquals(List.of("btrfs-worker", "btrfs-delalloc", "btrfs-flush_delalloc", "btrfs-cache", "btrfs-fixup",
                "btrfs-endio", "btrfs-endio-meta", "btrfs-endio-meta-write", "btrfs-endio-raid56", "btrfs-rmw",
                "btrfs-endio-write", "btrfs-freespace-write", "btrfs-delayed-meta", "btrfs-readahead",
                "btrfs-qgroup-rescan", "btrfs_discard"),
            fs.all().stream().map(BtrfsWorkqueue::name).toList());
        assertEquals(16, pool.liveQueues().size());
        assertTrue(fs.workers.hasHigh());
        assertEquals("btrfs-worker (device sdc)", fs.workers.describe());
        assertEquals(16, fs.workers.thresh());
        assertEquals(6, fs.workers.normal().currentActive(), "thresh 16 < 32: no thresholding");
        assertEquals(1, fs.flushWorkers.normal().currentActive(), "thresh 0 = 32: starts at 1");
        for (BtrfsWorkqueue q : fs.all()) {
            boolean pinned = q == fs.fixupWorkers || q == fs.qgroupRescanWorkers || q == fs.discardWorkers;
            assertEquals(pinned ? 1 : 6, q.limitActive(), q.name());
            assertEquals(q == fs.workers, q.hasHigh(), q.name());
        }
        assertEquals(0, fs.qgroupRescanWorkers.thresh());
        assertEquals(1, fs.qgroupRescanWorkers.normal().currentActive());
        fs.stopAll();
    }

    /** btrfs_stop_all_workers' order, with the metadata endio queues last; the references stay, dead. */
    @Test
    void stopAllDestroysInKernelOrderAndKeepsTheReferences() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 4);
        List<String> expected = List.of("btrfs-fixup", "btrfs-delalloc", "btrfs-worker", "btrfs-endio",
            "btrfs-endio-raid56", "btrfs-rmw", "btrfs-endio-write", "btrfs-freespace-write", "btrfs-delayed-meta",
            "btrfs-cache", "btrfs-readahead", "btrfs-flush_delalloc", "btrfs-qgroup-rescan", "btrfs_discard",
            "btrfs-endio-meta", "btrfs-endio-meta-write");
        List<BtrfsWorkqueue> returned = fs.stopAll();
        assertEquals(expected, returned.stream().map(BtrfsWorkqueue::name).toList());
        // The order they were really destroyed in, as the pool recorded it.
        assertEquals(expected, fs.all().stream().sorted(Comparator.comparingLong(BtrfsWorkqueue::destroyOrder))
            .map(BtrfsWorkqueue::name).toList());
        assertTrue(fs.all().stream().allMatch(BtrfsWorkqueue::isDestroyed));
        assertTrue(pool.liveQueues().isEmpty());

        // fs_info->workers still points at the freed queue: the final iput's async write hits it.
        KernelOops oops = assertThrows(KernelOops.class, () -> fs.workers.queueWork(new BtrfsWork(() -> { })));
        assertTrue(oops.getMessage().contains("btrfs_queue_work"));
        String report = kernel.log().matching(e -> e.kind() == LogEntry.Kind.USE_AFTER_FREE).get(0).message();
        assertTrue(report.contains("btrfs-worker (device sdc)"), report);
    }

    /** btrfs_workqueue_set_max on a destroyed queue dereferences freed memory: the KASAN report names it. */
    @Test
    void setMaxOnADestroyedQueueIsAUseAfterFree() {
        BtrfsWorkqueue q = BtrfsWorkqueue.alloc(pool, "sdc", "scrubwrc", java.util.EnumSet.noneOf(WqFlag.class), 4, 2);
        q.setMax(2);
        q.destroy();
        KernelOops oops = assertThrows(KernelOops.class, () -> q.setMax(1));
        assertTrue(oops.getMessage().contains("btrfs_workqueue_set_max"), oops.getMessage());
        assertTrue(kernel.log().contains("BUG: KASAN: use-after-free in btrfs_workqueue_set_max"));
        assertTrue(kernel.log().contains("(btrfs_workqueue btrfs-scrubwrc (device sdc))"));
    }

    @Test
    void stopAllTwiceIsADoubleFree() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdd", 2);
        fs.stopAll();
        assertThrows(KernelOops.class, fs::stopAll);
        assertEquals(1, kernel.log().count(LogEntry.Kind.DOUBLE_FREE));
        assertTrue(kernel.log().contains("double-free in btrfs_workqueue btrfs-fixup (device sdd)"));
    }

    @Test
    void badThreadPoolSizeIsEinval() {
        BtrfsException e = assertThrows(BtrfsException.class, () -> FsWorkqueues.init(pool, "sdc", 0));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(pool.liveQueues().isEmpty(), "nothing allocated");
        int dflt = FsWorkqueues.defaultThreadPoolSize();
        assertTrue(dflt >= 3 && dflt <= 8, "min(cpus + 2, 8): " + dflt);
    }

    /** Two filesystems of one module share the pool's threads, not their queues. */
    @Test
    void filesystemsShareThePoolNotTheQueues() {
        FsWorkqueues a = FsWorkqueues.init(pool, "sdc", 2);
        FsWorkqueues b = FsWorkqueues.init(pool, "sdd", 2);
        a.stopAll();
        assertFalse(b.workers.isDestroyed());
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        b.workers.queueWork(new BtrfsWork(ran::incrementAndGet));
        b.workers.flush();
        assertEquals(1, ran.get());
        assertEquals(poolThreads(), pool.liveThreads().size());
        b.stopAll();
    }
}
