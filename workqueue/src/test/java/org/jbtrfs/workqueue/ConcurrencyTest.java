package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

class ConcurrencyTest extends PoolFixture {

    /** Counts how many works run at once. */
    static final class Gauge {
        final AtomicInteger now = new AtomicInteger();
        final AtomicInteger max = new AtomicInteger();

        void enter() { max.accumulateAndGet(now.incrementAndGet(), Math::max); }

        void exit() { now.decrementAndGet(); }
    }

    /**
     * max_active 3 on an 8-thread pool: the test releases one running work at a time and checks that
     * exactly 3 run whenever at least 3 are left, never more.
     */
    @Test
    void maxActiveBoundsConcurrencyOnALargerPool() throws Exception {
        int n = 30;
        BtrfsWorkqueue q = queue("endio-write", 3, 2); // thresh < 32: no thresholding, 3 at once from the start
        Gauge gauge = new Gauge();
        CountDownLatch[] gates = new CountDownLatch[n];
        BlockingQueue<Integer> started = new LinkedBlockingQueue<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            gates[i] = new CountDownLatch(1);
            q.queueWork(new BtrfsWork(() -> {
                gauge.enter();
                started.add(id);
                TestThread.await(gates[id]);
                gauge.exit();
            }));
        }
        for (int released = 0; released < n; released++) {
            int expected = Math.min(3, n - released);
            // Settled: `expected` works inside func holding their slots, and every other kworker idle, blocked
            // for a permit with none free — so no further work of the queue is about to start (a fourth one
            // would hold a kworker: the idle count would never be reached).
            Waits.within(Duration.ofSeconds(10))
                .until(() -> gauge.now.get() == expected && q.normal().running() == expected
                    && pool.idleKworkers() == poolThreads() - expected && pool.tokenPermits() == 0);
            Integer id = started.poll(10, TimeUnit.SECONDS);
            assertNotNull(id);
            gates[id].countDown();
        }
        q.flush();
        assertEquals(3, gauge.max.get(), "never more than max_active, and max_active reached");
        assertEquals(n, q.normal().executed());
        q.destroy();
    }

    /** The limit is per queue, not per pool: two queues of max_active 2 run 4 works at once. */
    @Test
    void limitsArePerQueue() {
        BtrfsWorkqueue a = queue("endio-meta-write", 2, 2);
        BtrfsWorkqueue b = queue("rmw", 2, 2);
        Gauge total = new Gauge();
        CountDownLatch gate = new CountDownLatch(1);
        for (int i = 0; i < 6; i++) {
            for (BtrfsWorkqueue q : List.of(a, b)) {
                q.queueWork(new BtrfsWork(() -> {
                    total.enter();
                    TestThread.await(gate);
                    total.exit();
                }));
            }
        }
        // settled: four running, the other four kworkers idle with no permit free (a fifth would hold one)
        Waits.within(Duration.ofSeconds(10))
            .until(() -> total.now.get() == 4 && pool.idleKworkers() == 4 && pool.tokenPermits() == 0);
        assertEquals(2, a.normal().running());
        assertEquals(2, b.normal().running());
        gate.countDown();
        a.flush();
        b.flush();
        assertEquals(4, total.max.get());
        a.destroy();
        b.destroy();
    }

    /** qgroup-rescan has max_active 1: its works run strictly one after another, in queue order. */
    @Test
    void qgroupRescanQueueIsStrictlySerial() throws Exception {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 8);
        int n = 40;
        Gauge gauge = new Gauge();
        CountDownLatch[] gates = new CountDownLatch[n];
        BlockingQueue<Integer> started = new LinkedBlockingQueue<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            gates[i] = new CountDownLatch(1);
            fs.qgroupRescanWorkers.queueWork(new BtrfsWork(() -> {
                gauge.enter();
                started.add(id);
                TestThread.await(gates[id]);
                gauge.exit();
            }));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Integer id = started.poll(10, TimeUnit.SECONDS);
            assertNotNull(id);
            // While it runs the 7 other kworkers go idle with no permit free: nothing else of the queue can
            // start (a second work would hold a kworker, and the idle count would never be reached).
            Waits.within(Duration.ofSeconds(10)).until(() -> pool.idleKworkers() == 7 && pool.tokenPermits() == 0);
            assertNull(started.peek());
            assertEquals(1, fs.qgroupRescanWorkers.normal().running());
            order.add(id);
            gates[id].countDown();
        }
        fs.qgroupRescanWorkers.flush();
        assertEquals(IntStream.range(0, n).boxed().toList(), order);
        assertEquals(1, gauge.max.get());
        fs.stopAll();
    }

    /**
     * thresh 0 (default 32): concurrency starts at 1, grows while more than 32 works are pending and
     * shrinks back once fewer than 16 are; thresh below 32 runs at max_active from the start.
     */
    @Test
    void thresholdingAdaptsConcurrencyToThePendingCount() {
        BtrfsWorkqueue adaptive = queue("flush_delalloc", 4, 0);
        BtrfsWorkqueue fixed = queue("delalloc", 4, 2);
        assertEquals(1, adaptive.normal().currentActive());
        assertEquals(4, fixed.normal().currentActive());

        assertEquals(4, highestConcurrencyUnderABacklog(adaptive), "a backlog above thresh raises concurrency up to max_active");
        assertEquals(1, adaptive.normal().currentActive(), "once drained below thresh/2 it shrinks back to 1");
        adaptive.destroy();
        fixed.destroy();
    }

    /**
     * A plug takes the thresholded queue's only slot and a backlog of 100 builds up behind it; the highest concurrency
     * limit any of them ran under, once the plug is pulled and the queue flushed.
     */
    private static int highestConcurrencyUnderABacklog(BtrfsWorkqueue q) {
        assertEquals(1, q.normal().currentActive());
        CountDownLatch plug = new CountDownLatch(1);
        CountDownLatch plugged = new CountDownLatch(1);
        q.queueWork(new BtrfsWork(() -> {
            plugged.countDown();
            TestThread.await(plug);
        }));
        TestThread.await(plugged);
        AtomicInteger maxLimit = new AtomicInteger();
        for (int i = 0; i < 100; i++) {
            q.queueWork(new BtrfsWork(() -> maxLimit.accumulateAndGet(q.normal().currentActive(), Math::max)));
        }
        assertEquals(1, q.normal().running());
        plug.countDown();
        q.flush();
        return maxLimit.get();
    }

    /**
     * btrfs_workqueue_set_max (a remount's thread_pool=N): a thresholded queue's next thresh_exec_hook clamps its
     * concurrency to the new limit — a backlog now raises it only to 2; a queue without thresholding keeps the
     * max_active it was allocated with (limit_active is read nowhere else).
     */
    @Test
    void setMaxBoundsTheThresholdedConcurrencyFromTheNextExecHook() {
        BtrfsWorkqueue adaptive = queue("flush_delalloc", 4, 0);
        BtrfsWorkqueue fixed = queue("delalloc", 4, 2);
        adaptive.setMax(2);
        fixed.setMax(1);
        assertEquals(2, adaptive.limitActive());
        assertEquals(1, fixed.limitActive());
        assertEquals(4, fixed.normal().currentActive(), "no thresholding: the limit is not read again");
        assertEquals(2, highestConcurrencyUnderABacklog(adaptive), "a backlog raises concurrency up to the new limit only");
        assertThrows(IllegalArgumentException.class, () -> adaptive.setMax(0));
        adaptive.destroy();
        fixed.destroy();
    }

    /**
     * A high-priority work goes to the high sub-queue, and high sub-queues are served first: on a
     * one-thread pool busy with a plug, two normal works are queued before two high ones, yet the high
     * ones run first once the thread is free (a pool that does not grow: the kernel's would start each on a kworker of
     * its own at once, WorkerPoolTest#aWorkQueuedWhileEveryKworkerIsBlockedStillStarts).
     */
    @Test
    void highPriorityWorkGoesToTheHighSubQueueAndRunsFirst() {
        WorkerPool single = WorkerPool.fixedSize(kernel, 1);
        try {
            BtrfsWorkqueue q = BtrfsWorkqueue.alloc(single, "sdc", "worker", Set.of(WqFlag.HIGHPRI), 4, 16);
            assertTrue(q.hasHigh());
            assertEquals("btrfs-worker-high", q.high().name);
            CountDownLatch plug = new CountDownLatch(1);
            CountDownLatch plugged = new CountDownLatch(1);
            q.queueWork(new BtrfsWork(() -> {
                plugged.countDown();
                TestThread.await(plug);
            }));
            TestThread.await(plugged);
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            q.queueWork(new BtrfsWork(() -> order.add("normal 1")));
            q.queueWork(new BtrfsWork(() -> order.add("normal 2")));
            q.queueWork(new BtrfsWork(() -> order.add("high 1")).setHighPriority());
            q.queueWork(new BtrfsWork(() -> order.add("high 2")).setHighPriority());
            assertTrue(order.isEmpty());
            plug.countDown();
            q.flush();
            assertEquals(List.of("high 1", "high 2", "normal 1", "normal 2"), order);
            assertEquals(2, q.high().executed());
            assertEquals(3, q.normal().executed());
            q.destroy();
        } finally {
            assertEquals(List.of(), single.shutdown(Duration.ofSeconds(5)));
        }
    }

    /** Without a high sub-queue a high-priority work simply goes to the normal one. */
    @Test
    void highPriorityWorkOnAQueueWithoutHighGoesToNormal() {
        BtrfsWorkqueue q = queue("endio", 2, 4);
        assertFalse(q.hasHigh());
        AtomicInteger ran = new AtomicInteger();
        q.queueWork(new BtrfsWork(ran::incrementAndGet).setHighPriority());
        q.flush();
        assertEquals(1, ran.get());
        assertEquals(1, q.normal().executed());
        q.destroy();
    }
}
