package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.Taint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

class SlabsTest {
    private final ManualClock clock = new ManualClock();
    private final KernelLog log = new KernelLog(1024, clock);

    @Test
    void destroyReportsEveryCacheWithObjectsRemainingSlubStyle() {
        Slabs slabs = new Slabs(log, clock, false);
        SlabCache heads = slabs.cache("btrfs_delayed_ref_head");
        SlabObject leaked1 = heads.alloc();
        heads.alloc().free();
        SlabObject leaked2 = heads.alloc();
        slabs.cache("btrfs_delayed_tree_ref").alloc();
        slabs.cache("btrfs_path").alloc().free(); // balanced: not reported
        assertEquals(2, heads.inUse());
        assertEquals(3, heads.allocations());
        clock.advance(7, java.util.concurrent.TimeUnit.MILLISECONDS);

        List<SlabLeak> leaks = slabs.destroyAll();

        assertEquals(List.of("btrfs_delayed_ref_head", "btrfs_delayed_tree_ref"), leaks.stream().map(SlabLeak::cache).toList(),
            "in the order the module created its caches");
        SlabLeak l = leaks.get(0);
        assertEquals(2, l.remaining());
        assertEquals(3, l.allocations());
        assertEquals(2, l.allocatedIn().size());
        assertTrue(l.allocatedIn().get(0).startsWith("Allocated in <unknown: boot with slab debug> age=7ms thread="
            + Thread.currentThread().getName()), l.allocatedIn().get(0));

        List<LogEntry> reports = log.matching(e -> e.kind() == LogEntry.Kind.SLAB_LEAK);
        assertEquals(4, reports.size(), "a BUG report and a kmem_cache_destroy line per leaking cache");
        String report = reports.get(0).message();
        String[] lines = report.split("\n");
        assertTrue(Pattern.matches("BUG btrfs_delayed_ref_head \\(Tainted: G[ A-Z]*B[ A-Z]*\\): Objects remaining in "
            + "btrfs_delayed_ref_head on __kmem_cache_shutdown\\(\\)", lines[1]), lines[1]);
        assertTrue(report.contains("INFO: Slab objects=3 used=2"), report);
        assertTrue(report.contains("INFO: Object " + leaked1 + " @offset=0"), report);
        assertTrue(report.contains("INFO: Object " + leaked2 + " @offset=0"), report);
        assertEquals("kmem_cache_destroy btrfs_delayed_ref_head: Slab cache still has objects", reports.get(1).message());
        assertEquals(LogLevel.ERR, reports.get(1).level());
        assertTrue(reports.get(2).message().contains("Objects remaining in btrfs_delayed_tree_ref"));
        assertTrue(log.taints().contains(Taint.BAD_PAGE));
    }

    @Test
    void aCleanUnloadReportsNothing() {
        Slabs slabs = new Slabs(log, clock, false);
        slabs.cache("btrfs_trans_handle").alloc().free();
        assertEquals(List.of(), slabs.destroyAll());
        assertEquals(0, log.mark());
        assertFalse(log.tainted());
    }

    @Test
    void slabDebugRecordsTheAllocationSite() {
        Slabs slabs = new Slabs(log, clock, true);
        allocateTransaction(slabs);

        SlabLeak leak = slabs.destroyAll().get(0);

        String site = leak.allocatedIn().get(0);
        assertTrue(site.startsWith("Allocated in core.kernel.SlabsTest.allocateTransaction:"), site);
        assertTrue(site.contains("thread=" + Thread.currentThread().getName()), site);
        assertTrue(site.contains("\n\tcore.kernel.SlabsTest.slabDebugRecordsTheAllocationSite:"), "callers follow: " + site);
        assertTrue(log.contains("Allocated in core.kernel.SlabsTest.allocateTransaction:"));
    }

    private static void allocateTransaction(Slabs slabs) {
        slabs.cache("btrfs_trans_handle").alloc();
    }

    @Test
    void aDoubleFreeIsAnOops() {
        Slabs slabs = new Slabs(log, clock, false);
        SlabObject o = slabs.cache("btrfs_path").alloc();
        o.free();
        assertTrue(o.isFreed());

        KernelOops oops = assertThrows(KernelOops.class, o::free);

        assertTrue(oops.getMessage().startsWith("====="), oops.getMessage());
        List<LogEntry> reports = log.matching(e -> e.kind() == LogEntry.Kind.DOUBLE_FREE);
        assertEquals(1, reports.size());
        assertTrue(reports.get(0).message().contains("BUG btrfs_path (Tainted: G    B): Object already free"),
            reports.get(0).message());
        assertTrue(reports.get(0).message().contains("INFO: Object " + o + " @offset=0"));
        assertTrue(log.taints().containsAll(List.of(Taint.BAD_PAGE, Taint.DIE)));
        assertEquals(0, o.cache().inUse());
        assertEquals(List.of(), slabs.destroyAll(), "the double free did not corrupt the count");
    }

    @Test
    void racingFreesOfOneObjectYieldExactlyOneDoubleFree() throws Exception {
        Slabs slabs = new Slabs(log, clock, false);
        SlabCache cache = slabs.cache("extent_buffer");
        AtomicInteger oopses = new AtomicInteger();
        for (int round = 0; round < 200; round++) {
            SlabObject o = cache.alloc();
            TestThread.race(() -> {
                try {
                    o.free();
                } catch (KernelOops e) {
                    oopses.incrementAndGet();
                }
            });
        }
        assertEquals(200, oopses.get());
        assertEquals(0, cache.inUse());
        assertEquals(200, log.count(LogEntry.Kind.DOUBLE_FREE));
    }

    @Test
    void freeingIntoTheWrongCacheIsRefused() {
        Slabs slabs = new Slabs(log, clock, false);
        SlabObject o = slabs.cache("btrfs_inode").alloc();
        assertThrows(IllegalArgumentException.class, () -> slabs.cache("btrfs_path").free(o));
        assertEquals(1, o.cache().inUse());
    }

    @Test
    void anUnknownCacheNameListsTheKnownOnes() {
        Slabs slabs = new Slabs(log, clock, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> slabs.cache("btrfs_nope"));
        assertTrue(e.getMessage().startsWith("unknown slab cache 'btrfs_nope'"), e.getMessage());
        for (String name : Slabs.BTRFS_CACHES) {
            assertTrue(e.getMessage().contains(name), () -> name + " missing from: " + e.getMessage());
        }
        assertEquals(Slabs.BTRFS_CACHES.size(), slabs.all().size());
    }

    @Test
    void destroyingTwiceIsAClearError() {
        Slabs slabs = new Slabs(log, clock, false);
        slabs.destroyAll();
        IllegalStateException e = assertThrows(IllegalStateException.class, slabs::destroyAll);
        assertEquals("slab caches already destroyed", e.getMessage());
    }

    @Test
    void allocatingFromADestroyedCacheIsAnOops() {
        Slabs slabs = new Slabs(log, clock, false);
        SlabCache c = slabs.cache("btrfs_trans_handle");
        slabs.destroyAll();
        assertThrows(KernelOops.class, c::alloc);
        assertTrue(log.contains("kmem_cache btrfs_trans_handle was destroyed"));
    }

    @Test
    void kernelShutdownReturnsTheLeaks() {
        try (Kernel k = new Kernel("m", KernelConfig.defaults().slabDebug(true))) {
            k.slabs().cache("btrfs_delayed_extent_op").alloc();
            List<SlabLeak> leaks = k.shutdown(); // the subject; close() after it does nothing
            assertEquals("btrfs_delayed_extent_op", leaks.get(0).cache());
            assertTrue(k.log().contains("kmem_cache_destroy btrfs_delayed_extent_op: Slab cache still has objects"));
            assertEquals(List.of(), k.kthreadd().liveThreads());
        }
    }
}
