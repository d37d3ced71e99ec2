package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kernel: struct delayed_work (kernel/workqueue.c) as async discard uses it: mod_delayed_work arms or moves the timer,
 * delayed_work_pending is true while armed or queued, cancel_delayed_work_sync disarms and waits for a running instance,
 * and nothing queues it while a cancel waits. The timer runs on the module's clock: a ManualClock fires it by advancing.
 */
class DelayedWorkTest {
    private final ManualClock clock = new ManualClock();
    private Kernel kernel;
    private WorkerPool pool;
    private BtrfsWorkqueue wq;

    @BeforeEach
    void load() {
        kernel = new Kernel("dwt", KernelConfig.defaults().clock(clock));
        pool = new WorkerPool(kernel, 2);
        wq = BtrfsWorkqueue.allocPlain(pool, "sdc", "btrfs_discard", 1);
    }

    @AfterEach
    void unload() {
        wq.destroy();
        assertEquals(java.util.List.of(), pool.shutdown(java.time.Duration.ofSeconds(5)));
        kernel.shutdown();
    }

    @Test
    void itRunsOnceItsTimerExpiresAndModMovesTheTimer() {
        AtomicInteger runs = new AtomicInteger();
        DelayedWork w = new DelayedWork(kernel, wq, "t", runs::incrementAndGet);
        assertFalse(w.pending());
        w.mod(TimeUnit.SECONDS.toNanos(10));
        assertTrue(w.pending());
        clock.advance(5, TimeUnit.SECONDS);
        w.mod(TimeUnit.SECONDS.toNanos(10)); // moved: now 15 s after the start
        clock.advance(6, TimeUnit.SECONDS);
        assertEquals(0, runs.get());
        assertTrue(w.pending());
        clock.advance(5, TimeUnit.SECONDS);
        Waits.within().until(() -> runs.get() == 1 && !w.pending());
        assertFalse(w.cancelSync(), "nothing pending any more");
    }

    @Test
    void cancelSyncDisarmsAPendingTimerAndWaitsForARunningInstance() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        DelayedWork w = new DelayedWork(kernel, wq, "t", () -> {
            runs.incrementAndGet();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        w.mod(TimeUnit.SECONDS.toNanos(1));
        assertTrue(w.cancelSync(), "it was pending");
        clock.advance(2, TimeUnit.SECONDS);
        assertEquals(0, runs.get());
        w.mod(0);
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertTrue(w.running());
        TestThread<Boolean> cancel = TestThread.call("cancel", w::cancelSync);
        Waits.within().until(() -> "cancel_delayed_work_sync(t)".equals(kernel.sched().blocked().get("cancel")));
        w.mod(0); // while a cancel waits: a no-op
        assertFalse(w.pending());
        release.countDown();
        assertFalse(cancel.join(), "running is not pending");
        assertEquals(1, runs.get());
        assertFalse(w.running());
    }

    /**
     * A port bug fixed in stop 54: queued again while its function ran, the work ran a second instance at once on another
     * kworker — the async reclaim work, four instances deep, took every kworker of the pool waiting for ordered extents
     * whose completions needed one (a hang of the fs suite's QgroupFixtures on a clean clone). The kernel's work items are
     * non-reentrant: the second run comes after the first returns.
     */
    @Test
    void queuedWhileItRunsItRunsAgainAfterNeverAlongside() throws Exception {
        BtrfsWorkqueue unbound = pool.systemUnboundWq();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        DelayedWork w = new DelayedWork(kernel, unbound, "reclaim", () -> {
            maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
            if (runs.incrementAndGet() == 1) {
                entered.countDown();
                TestThread.await(release);
            }
            concurrent.decrementAndGet();
        });
        assertTrue(w.queue());
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertTrue(w.queue(), "not pending while it runs: queued again");
        assertFalse(w.queue(), "pending now");
        assertTrue(w.busy());
        release.countDown();
        Waits.within().until(() -> runs.get() == 2 && !w.busy());
        assertEquals(1, maxConcurrent.get(), "never two instances at once");
    }

    /**
     * flush_work (stop 55: the proposed fix's wait for the work it queued again): it returns at once for an idle work,
     * waits for a running instance and for the instance queued behind it, and not for one queued after it returned.
     */
    @Test
    void flushWaitsForTheRunningAndTheQueuedInstanceOnly() throws Exception {
        BtrfsWorkqueue unbound = pool.systemUnboundWq();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        DelayedWork w = new DelayedWork(kernel, unbound, "reclaim", () -> {
            if (runs.incrementAndGet() == 1) {
                entered.countDown();
                TestThread.await(release);
            }
        });
        assertFalse(w.flush(), "idle: nothing to wait for");
        assertTrue(w.queue());
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertTrue(w.queue(), "queued behind the running instance");
        TestThread<Boolean> flusher = TestThread.call("flush", w::flush);
        Waits.within().until(() -> kernel.sched().blocked().values().stream().anyMatch(b -> b.contains("flush_work(reclaim)")));
        assertFalse(flusher.done(), "the running instance holds it");
        release.countDown();
        assertTrue(flusher.join());
        assertEquals(2, runs.get(), "it returned after the instance queued behind the running one");
        assertFalse(w.busy());
    }
    /**
     * A filesystem's work on system_unbound_wq (the reclaim works) runs, pickup hook included, as serving its owner's
     * device; the queue itself serves every filesystem (device ""). Before stop 58 the reclaim works ran as nobody's, so
     * with several filesystems the explorer's schedule (which routes an arrival by {@link org.jbtrfs.core.WorkOwner})
     * never perturbed their hooks.
     */
    @Test
    void aFilesystemsWorkOnASharedQueueRunsAsServingItsDevice() throws Exception {
        BtrfsWorkqueue unbound = pool.systemUnboundWq();
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        kernel.hooks().setListener((hook, thread) -> {
            if (hook == org.jbtrfs.core.Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING) {
                seen.add("pickup " + org.jbtrfs.core.WorkOwner.device());
            }
        });
        CountDownLatch ran = new CountDownLatch(2);
        DelayedWork mine = new DelayedWork(kernel, unbound, "reclaim", () -> {
            seen.add("func " + org.jbtrfs.core.WorkOwner.device());
            ran.countDown();
        }, org.jbtrfs.core.Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING, "sdd");
        DelayedWork nobodys = new DelayedWork(kernel, unbound, "other", () -> {
            seen.add("other " + org.jbtrfs.core.WorkOwner.device());
            ran.countDown();
        });
        assertTrue(mine.queue());
        assertTrue(nobodys.queue());
        assertTrue(ran.await(10, TimeUnit.SECONDS));
        Waits.within().until(() -> !mine.busy() && !nobodys.busy());
        assertTrue(seen.containsAll(java.util.List.of("pickup sdd", "func sdd", "other ")), seen.toString());
        assertEquals(null, org.jbtrfs.core.WorkOwner.device(), "nothing leaks to the test's thread");
    }
}
