package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.Taint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

class LifetimeTest {
    private final KernelLog log = new KernelLog(256, new ManualClock());
    private final Lifetime workers = new Lifetime(log, "fs_info->workers");

    @Test
    void useOfALiveObjectIsSilent() {
        workers.use("btrfs_queue_work");
        assertFalse(workers.isFreed());
        assertEquals(0, log.mark());
    }

    @Test
    void useAfterFreeIsAKasanReportWithTheFreeStack() throws Exception {
        TestThread<Void> umount = TestThread.run("umount", this::btrfsStopAllWorkers);
        umount.join();
        assertTrue(workers.isFreed());

        AtomicReference<KernelOops> oops = new AtomicReference<>();
        TestThread<Void> kworker = TestThread.run("kworker/u8:3", () -> {
            try {
                workers.use("btrfs_queue_work");
            } catch (KernelOops e) {
                oops.set(e);
            }
        });
        kworker.join();

        assertNotNull(oops.get(), "the use threw");
        assertEquals("BUG: KASAN: use-after-free in btrfs_queue_work", oops.get().getMessage());
        List<LogEntry> reports = log.matching(e -> e.kind() == LogEntry.Kind.USE_AFTER_FREE);
        assertEquals(1, reports.size());
        String r = reports.get(0).message();
        assertTrue(r.startsWith("BUG: KASAN: use-after-free in btrfs_queue_work\n"), r);
        assertTrue(r.contains("(fs_info->workers) by task kworker/u8:3"), r);
        assertTrue(r.contains("RIP: 0010:btrfs_queue_work+"), r);
        int freedBy = r.indexOf("Freed by task umount:\n");
        assertTrue(freedBy > r.indexOf("Call Trace:"), "access stack, then free stack: " + r);
        assertTrue(r.indexOf("core.kernel.LifetimeTest.btrfsStopAllWorkers", freedBy) > 0, "the free stack names the freer: " + r);
        assertTrue(log.taints().containsAll(List.of(Taint.BAD_PAGE, Taint.DIE)));
    }

    private void btrfsStopAllWorkers() {
        workers.free();
    }

    @Test
    void aSecondFreeIsADoubleFree() {
        btrfsStopAllWorkers();
        KernelOops oops = assertThrows(KernelOops.class, workers::free);
        assertEquals("BUG: KASAN: double-free in fs_info->workers", oops.getMessage());
        assertEquals(1, log.count(LogEntry.Kind.DOUBLE_FREE));
        String r = log.matching(e -> e.kind() == LogEntry.Kind.DOUBLE_FREE).get(0).message();
        assertTrue(r.contains("Freed by task " + Thread.currentThread().getName() + ":\n core.kernel.LifetimeTest.btrfsStopAllWorkers"), r);
        assertTrue(log.taints().contains(Taint.BAD_PAGE));
    }

    @Test
    void racingFreesYieldExactlyOneDoubleFree() throws Exception {
        AtomicInteger oopses = new AtomicInteger();
        for (int round = 0; round < 200; round++) {
            Lifetime l = new Lifetime(log, "trans#" + round);
            TestThread.race(() -> {
                try {
                    l.free();
                } catch (KernelOops e) {
                    oopses.incrementAndGet();
                }
            });
        }
        assertEquals(200, oopses.get(), "every racing pair is one free and one double free");
    }
}
