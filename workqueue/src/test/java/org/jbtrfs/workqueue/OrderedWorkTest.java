package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.IntStream;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

class OrderedWorkTest extends PoolFixture {

    /**
     * 200 ordered works on a queue running 8 funcs at once. Each func parks on its own latch; the test
     * releases a seeded-random one of the running funcs at a time, so funcs complete out of order.
     * ordered_func and ordered_free must still run one at a time, in submission order, each after its
     * own func.
     */
    @Test
    void orderedPartsRunInSubmissionOrderWhileFuncsCompleteOutOfOrder() throws Exception {
        int n = 200;
        int maxActive = 8;
        BtrfsWorkqueue q = queue("endio-write", maxActive, 2);
        CountDownLatch[] gates = new CountDownLatch[n];
        AtomicIntegerArray funcDone = new AtomicIntegerArray(n);
        BlockingQueue<Integer> started = new LinkedBlockingQueue<>();
        List<String> orderedEvents = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger orderedRunning = new AtomicInteger();
        AtomicInteger orderedOverlaps = new AtomicInteger();
        AtomicInteger orderedBeforeFunc = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            int id = i;
            gates[i] = new CountDownLatch(1);
            q.queueWork(new BtrfsWork(
                () -> {
                    started.add(id);
                    TestThread.await(gates[id]);
                    funcDone.set(id, 1);
                },
                () -> {
                    if (orderedRunning.incrementAndGet() != 1) {
                        orderedOverlaps.incrementAndGet();
                    }
                    if (funcDone.get(id) != 1) {
                        orderedBeforeFunc.incrementAndGet();
                    }
                    orderedEvents.add("ordered " + id);
                    orderedRunning.decrementAndGet();
                },
                () -> orderedEvents.add("free " + id)));
        }

        Random random = new Random(42);
        List<Integer> running = new ArrayList<>();
        List<Integer> releaseOrder = new ArrayList<>();
        while (releaseOrder.size() < n) {
            // Fill every slot first so the random pick really has a choice.
            int expectRunning = Math.min(maxActive, n - releaseOrder.size());
            while (running.size() < expectRunning) {
                Integer s = started.poll(10, TimeUnit.SECONDS);
                assertNotNull(s, "a func should have started");
                running.add(s);
            }
            int id = running.remove(random.nextInt(running.size()));
            releaseOrder.add(id);
            gates[id].countDown();
        }
        q.flush();

        List<Integer> inOrder = IntStream.range(0, n).boxed().toList();
        assertNotEquals(inOrder, releaseOrder, "funcs were meant to complete out of order");
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add("ordered " + i);
            expected.add("free " + i);
        }
        assertEquals(expected, orderedEvents);
        assertEquals(0, orderedOverlaps.get(), "ordered parts overlapped");
        assertEquals(0, orderedBeforeFunc.get(), "an ordered_func ran before its func finished");
        assertEquals(0, q.inFlight());
        q.destroy();
    }

    /** Ordering is per sub-queue: plain works mixed in do not hold ordered ones back, and vice versa. */
    @Test
    void plainWorksMixWithOrderedOnes() {
        BtrfsWorkqueue q = queue("endio", 4, 4);
        List<Integer> ordered = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger plain = new AtomicInteger();
        for (int i = 0; i < 100; i++) {
            int id = i;
            if (i % 3 == 0) {
                q.queueWork(new BtrfsWork(plain::incrementAndGet));
            } else {
                q.queueWork(new BtrfsWork(() -> { }, () -> ordered.add(id), null));
            }
        }
        q.flush();
        assertEquals(34, plain.get());
        assertEquals(IntStream.range(0, 100).filter(i -> i % 3 != 0).boxed().toList(), ordered);
        q.destroy();
    }

    /** A work is reusable once complete: an ordered one after ordered_free, a plain one from its own func. */
    @Test
    void completedWorkCanBeQueuedAgain() {
        BtrfsWorkqueue q = queue("delayed-meta", 2, 0);
        AtomicInteger runs = new AtomicInteger();
        BtrfsWork[] self = new BtrfsWork[1];
        self[0] = new BtrfsWork(() -> {
            if (runs.incrementAndGet() < 5) {
                q.queueWork(self[0]); // requeue from its own func, as the kernel allows
            }
        });
        q.queueWork(self[0]);
        Waits.within(java.time.Duration.ofSeconds(10)).until(() -> runs.get() == 5);
        q.flush();
        assertEquals(5, runs.get());

        AtomicInteger freed = new AtomicInteger();
        BtrfsWork ordered = new BtrfsWork(() -> { }, () -> { }, freed::incrementAndGet);
        q.queueWork(ordered);
        q.flush();
        q.queueWork(ordered);
        q.flush();
        assertEquals(2, freed.get());
        q.destroy();
    }
}
