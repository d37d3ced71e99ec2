package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.Taint;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

class LifecycleTest extends PoolFixture {

    /**
     * destroy drains: it waits for every work queued before it (some still blocked), returns only when
     * all ran, and afterwards nothing of that queue ever runs.
     */
    @Test
    void destroyDrainsQueuedWorkAndNothingRunsAfterwards() throws Exception {
        BtrfsWorkqueue q = queue("endio", 2, 4);
        AtomicInteger ran = new AtomicInteger();
        CountDownLatch gate = new CountDownLatch(1);
        for (int i = 0; i < 50; i++) {
            boolean blocks = i < 2;
            q.queueWork(new BtrfsWork(() -> {
                if (blocks) {
                    TestThread.await(gate);
                }
                ran.incrementAndGet();
            }));
        }
        TestThread<Void> destroyer = TestThread.run("umount", q::destroy);
        destroyer.awaitBlockedIn("InFlight", "drain");
        assertFalse(q.isDestroyed(), "destroy must wait for the blocked works");
        assertTrue(ran.get() < 50);
        gate.countDown();
        destroyer.join();
        assertTrue(q.isDestroyed());
        assertEquals(50, ran.get(), "everything queued before destroy ran");
        assertEquals(0, q.inFlight());

        assertThrows(KernelOops.class, () -> q.queueWork(new BtrfsWork(ran::incrementAndGet)));
        // Push other work through the whole pool: still nothing of the dead queue runs.
        BtrfsWorkqueue other = queue("endio-meta", 8, 4);
        for (int i = 0; i < 64; i++) {
            other.queueWork(new BtrfsWork(() -> { }));
        }
        other.flush();
        assertEquals(50, ran.get());
        other.destroy();
    }

    /**
     * queueWork racing destroy from four threads: every call either queued a work that ran before
     * destroy returned, was dropped with a WARN while draining, or hit the use-after-free after it.
     * Nothing is lost, nothing runs twice, nothing runs after destroy. The assertions hold in every
     * interleaving, so this cannot fail by timing; which interleavings it reaches is up to the scheduler.
     * The Dekker pair behind it (count in flight, then read __WQ_DRAINING) is model-checked
     * interleaving by interleaving in {@link SubQueueLincheckTest}; this loop is its complement on real
     * threads and the JIT-compiled code, with the pool, four producers and the real memory model.
     */
    @Test
    void queueingRacingDestroyLosesNothingAndRunsNothingLate() throws Exception {
        BtrfsWorkqueue q = queue("endio", 4, 4);
        AtomicInteger ran = new AtomicInteger();
        AtomicInteger ranLate = new AtomicInteger();
        AtomicInteger returned = new AtomicInteger();
        AtomicInteger oopsed = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean destroyed = new java.util.concurrent.atomic.AtomicBoolean();
        CountDownLatch go = new CountDownLatch(1);
        List<TestThread<Void>> producers = new java.util.ArrayList<>();
        for (int p = 0; p < 4; p++) {
            producers.add(TestThread.run("producer-" + p, () -> {
                TestThread.await(go);
                for (int i = 0; i < 300; i++) {
                    try {
                        q.queueWork(new BtrfsWork(() -> {
                            ran.incrementAndGet();
                            if (destroyed.get()) {
                                ranLate.incrementAndGet();
                            }
                        }));
                        returned.incrementAndGet();
                    } catch (KernelOops e) {
                        oopsed.incrementAndGet();
                        return;
                    }
                }
            }));
        }
        go.countDown();
        Waits.within().until(() -> returned.get() >= 100);
        q.destroy();
        destroyed.set(true);
        int ranAtDestroy = ran.get();
        for (TestThread<Void> t : producers) {
            t.join();
        }
        BtrfsWorkqueue other = queue("endio-meta", 8, 4);
        for (int i = 0; i < 64; i++) {
            other.queueWork(new BtrfsWork(() -> { }));
        }
        other.flush();
        other.destroy();
        long dropped = kernel.log().count(LogEntry.Kind.WARNING);
        assertEquals(0, ranLate.get(), "a work ran after destroy returned");
        assertEquals(ranAtDestroy, ran.get());
        assertEquals(returned.get(), ran.get() + dropped, "every accepted work ran exactly once");
        assertEquals(oopsed.get(), kernel.log().count(LogEntry.Kind.USE_AFTER_FREE));
    }

    /** The seed's crash, detected: queueing on a destroyed queue is a KASAN use-after-free in btrfs_queue_work. */
    @Test
    void queueingAfterDestroyIsAReportedUseAfterFree() {
        BtrfsWorkqueue q = BtrfsWorkqueue.alloc(pool, "sdc", "worker", java.util.Set.of(WqFlag.HIGHPRI), 4, 16);
        q.destroy();
        KernelOops oops = assertThrows(KernelOops.class, () -> q.queueWork(new BtrfsWork(() -> { })));
        assertTrue(oops.getMessage().contains("use-after-free in btrfs_queue_work"), oops.getMessage());
        List<LogEntry> uaf = kernel.log().matching(e -> e.kind() == LogEntry.Kind.USE_AFTER_FREE);
        assertEquals(1, uaf.size());
        String report = uaf.get(0).message();
        assertTrue(report.startsWith("BUG: KASAN: use-after-free in btrfs_queue_work"), report);
        assertTrue(report.contains("btrfs_workqueue btrfs-worker (device sdc)"), report);
        assertTrue(report.contains("RIP: 0010:btrfs_queue_work+0x36/0x190 [btrfs]"), report);
        assertTrue(report.contains("Freed by task " + Thread.currentThread().getName()), report);
        assertTrue(kernel.log().taints().contains(Taint.BAD_PAGE));
        // flush on it is a use-after-free as well
        assertThrows(KernelOops.class, q::flush);
    }

    /** A second destroy is the kernel's double free: reported and thrown, never a hang. */
    @Test
    void doubleDestroyIsADoubleFreeNotAHang() {
        BtrfsWorkqueue q = queue("fixup", 1, 0);
        q.destroy();
        long destroyedAt = q.destroyOrder();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            KernelOops oops = assertThrows(KernelOops.class, q::destroy);
            assertTrue(oops.getMessage().contains("double-free"), oops.getMessage());
        });
        assertEquals(1, kernel.log().count(LogEntry.Kind.DOUBLE_FREE));
        assertEquals(destroyedAt, q.destroyOrder());
    }

    /** While destroy drains, work queued from outside is dropped with a WARN; work chained by its own works still runs. */
    @Test
    void drainingAcceptsOnlyChainedWork() throws Exception {
        BtrfsWorkqueue q = queue("delayed-meta", 1, 0);
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger chained = new AtomicInteger();
        AtomicInteger outsider = new AtomicInteger();
        q.queueWork(new BtrfsWork(() -> {
            TestThread.await(gate);
            q.queueWork(new BtrfsWork(chained::incrementAndGet)); // from its own work: allowed while draining
        }));
        TestThread<Void> destroyer = TestThread.run("umount", q::destroy);
        destroyer.awaitBlockedIn("InFlight", "drain");
        long mark = kernel.log().mark();
        q.queueWork(new BtrfsWork(outsider::incrementAndGet));
        List<LogEntry> warns = kernel.log().since(mark);
        assertEquals(1, warns.size());
        assertEquals(LogEntry.Kind.WARNING, warns.get(0).kind());
        assertTrue(warns.get(0).message().contains("btrfs-delayed-meta (device sdc) is being destroyed"), warns.get(0).message());
        assertTrue(kernel.log().taints().contains(Taint.WARN));
        gate.countDown();
        destroyer.join();
        assertEquals(1, chained.get(), "chained work ran before destroy returned");
        assertEquals(0, outsider.get(), "work queued from outside a draining queue never runs");
    }

    /** flush waits for everything queued before it, ordered parts included. */
    @Test
    void flushWaitsForWorkQueuedBeforeIt() throws Exception {
        BtrfsWorkqueue q = queue("endio-write", 4, 2);
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger ordered = new AtomicInteger();
        for (int i = 0; i < 10; i++) {
            q.queueWork(new BtrfsWork(() -> TestThread.await(gate), ordered::incrementAndGet, null));
        }
        AtomicLong seenByFlusher = new AtomicLong(-1);
        TestThread<Void> flusher = TestThread.run("sync", () -> {
            q.flush();
            seenByFlusher.set(ordered.get());
        });
        flusher.awaitBlockedIn("InFlight", "flush");
        assertEquals(-1, seenByFlusher.get());
        gate.countDown();
        flusher.join();
        assertEquals(10, seenByFlusher.get());
        q.destroy();
    }

    /** flush does not wait for work queued after it started (the two flush colours). */
    @Test
    void flushDoesNotWaitForLaterWork() throws Exception {
        BtrfsWorkqueue q = queue("endio-write", 4, 2);
        CountDownLatch early = new CountDownLatch(1);
        CountDownLatch late = new CountDownLatch(1);
        q.queueWork(new BtrfsWork(() -> TestThread.await(early)));
        TestThread<Void> flusher = TestThread.run("sync", q::flush);
        flusher.awaitBlockedIn("InFlight", "flush");
        AtomicInteger lateDone = new AtomicInteger();
        q.queueWork(new BtrfsWork(() -> {
            TestThread.await(late);
            lateDone.incrementAndGet();
        }));
        early.countDown();
        flusher.join();
        assertEquals(0, lateDone.get(), "the late work is still blocked, yet flush returned");
        late.countDown();
        q.flush();
        assertEquals(1, lateDone.get());
        q.destroy();
    }

    /** flush or destroy from one of the queue's own works would wait for itself: a clear error instead. */
    @Test
    void flushOrDestroyFromOwnWorkIsRefused() {
        BtrfsWorkqueue q = queue("cache", 2, 0);
        AtomicReference<Throwable> fromFlush = new AtomicReference<>();
        AtomicReference<Throwable> fromDestroy = new AtomicReference<>();
        q.queueWork(new BtrfsWork(() -> {
            try {
                q.flush();
            } catch (Throwable t) {
                fromFlush.set(t);
            }
            try {
                q.destroy();
            } catch (Throwable t) {
                fromDestroy.set(t);
            }
        }));
        q.flush();
        assertNotNull(fromFlush.get());
        assertTrue(fromFlush.get() instanceof IllegalStateException);
        assertTrue(fromFlush.get().getMessage().contains("btrfs_flush_workqueue on btrfs-cache (device sdc)"));
        assertTrue(fromDestroy.get() instanceof IllegalStateException);
        assertFalse(q.isDestroyed());
        q.destroy();
        assertTrue(q.isDestroyed());
    }

    /**
     * queue_work()'s answer: a plain work still pending (queued, its function not started) is not queued again —
     * false, nothing done — and queued while its function runs it runs once more. The qgroup rescan's one work item
     * is queued this way from quota enable and the rescan ioctl, which 5.11 does not serialise: the test and the
     * setting of the pending bit are one step (stop 35; before, the port tested {@code isQueued()} first and the
     * loser of the race threw).
     */
    @Test
    void aPendingWorkIsNotQueuedAgainAndARunningOneRunsOnceMore() throws Exception {
        BtrfsWorkqueue q = queue("qgroup-rescan", 1, 0);
        CountDownLatch blocker = new CountDownLatch(1);
        q.queueWork(new BtrfsWork(() -> TestThread.await(blocker)));
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch gate = new CountDownLatch(1);
        BtrfsWork w = new BtrfsWork(() -> {
            if (runs.incrementAndGet() == 1) {
                running.countDown();
                TestThread.await(gate);
            }
        });
        assertTrue(q.queueWorkUnlessPending(w), "not queued: queued");
        assertFalse(q.queueWorkUnlessPending(w), "pending behind the blocker (max_active 1): queue_work returns false");
        blocker.countDown();
        TestThread.await(running);
        assertTrue(q.queueWorkUnlessPending(w), "running: queued again");
        gate.countDown();
        q.flush();
        assertEquals(2, runs.get(), "once for the pending queueings, once more for the one while it ran");
        BtrfsWork ordered = new BtrfsWork(() -> { }, () -> { }, null);
        assertThrows(IllegalArgumentException.class, () -> q.queueWorkUnlessPending(ordered));
        q.destroy();
    }
}
