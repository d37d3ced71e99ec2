package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The deadlock oracle's proof: a set of sleepers each of which waits for a member is stuck; a sleep that a free thread
 * can end (one of its "any of" blockers, or a sleep whose waker is not known) is not. Each test releases its sleepers
 * through their own condition at the end.
 */
class WaitGraphTest {
    private final Sched sched = new Sched();
    private final Object monitor = new Object();
    private volatile boolean go;

    @AfterEach
    void release() {
        synchronized (monitor) {
            go = true;
            monitor.notifyAll();
        }
    }

    private TestThread<Void> sleeper(String name, Blockers b) {
        TestThread<Void> t = TestThread.run(name, () -> {
            synchronized (monitor) {
                sched.waitUntil(monitor, "wait(" + name + ")", b, () -> go);
            }
        });
        Waits.within().until(() -> sched.blocked().containsKey(name));
        return t;
    }

    private static Set<String> names(WaitGraph.Deadlock d) {
        return d.stuck().keySet().stream().map(Thread::getName).collect(Collectors.toSet());
    }

    @Test
    void aSleepWaitingForAThreadParkedOnAMutexItHoldsIsADeadlock() {
        Mutex m = new Mutex("test_mutex");
        Thread[] b = new Thread[1];
        TestThread<Void> a = TestThread.run("A", () -> {
            m.lock();
            try {
                synchronized (monitor) {
                    sched.waitUntil(monitor, "wait_for_completion(test)", Blockers.thread(() -> b[0]), () -> go);
                }
            } finally {
                m.unlock();
            }
        });
        Waits.within().until(() -> sched.blocked().containsKey("A"));
        TestThread<Void> bt = TestThread.run("B", () -> {
            m.lock();
            m.unlock();
        });
        b[0] = bt.thread();
        Waits.within().until(m::hasQueuedThreads);
        WaitGraph.Deadlock d = WaitGraph.find(sched, 0).orElseThrow();
        assertEquals(Set.of("A", "B"), names(d));
        assertEquals(2, d.cycle().size(), d.describe());
        assertTrue(d.describe().contains("A: wait_for_completion(test) -> B"), d.describe());
        assertTrue(d.describe().contains("B: mutex_lock(test_mutex) -> A"), d.describe());
        assertEquals(d.stuck(), WaitGraph.find(sched, 0).orElseThrow().stuck(), "the same deadlock looked at again");
        release();
        a.join();
        bt.join();
        assertTrue(WaitGraph.find(sched, 0).isEmpty());
    }

    @Test
    void aSleepAnyOfWhoseBlockersIsFreeIsNotStuck() {
        Thread[] a = new Thread[1];
        TestThread<Void> free = sleeper("free", null); // a sleep whose waker is not known: free as far as the graph can tell
        TestThread<Void> b = sleeper("B", Blockers.thread(() -> a[0]));
        a[0] = sleeper("A", Blockers.anyOf(() -> List.of(b.thread(), free.thread()))).thread();
        assertTrue(WaitGraph.find(sched, 0).isEmpty(), () -> WaitGraph.find(sched, 0).orElseThrow().describe());
    }

    @Test
    void aSleepNeedingAllOfItsBlockersIsStuckWhenOneOfThemIs() {
        Thread[] a = new Thread[1];
        TestThread<Void> free = sleeper("free", null);
        TestThread<Void> b = sleeper("B", Blockers.thread(() -> a[0]));
        a[0] = sleeper("A", Blockers.allOf(() -> List.of(b.thread(), free.thread()))).thread();
        WaitGraph.Deadlock d = WaitGraph.find(sched, 0).orElseThrow();
        assertEquals(Set.of("A", "B"), names(d));
        assertTrue(d.describe().contains("A: wait(A) -> B (each of B, free)"), d.describe());
    }

    @Test
    void aThreadWaitingForTheCycleIsStuckBehindIt() {
        Thread[] a = new Thread[1];
        TestThread<Void> b = sleeper("B", Blockers.thread(() -> a[0]));
        a[0] = sleeper("A", Blockers.thread(b::thread)).thread();
        sleeper("C", Blockers.thread(b::thread));
        WaitGraph.Deadlock d = WaitGraph.find(sched, 0).orElseThrow();
        assertEquals(Set.of("A", "B", "C"), names(d));
        assertEquals(2, d.cycle().size(), d.describe());
        assertTrue(d.describe().endsWith("stuck behind it: C"), d.describe());
    }

    @Test
    void sleepsYoungerThanTheThresholdAreNotLookedAt() {
        Thread[] a = new Thread[1];
        TestThread<Void> b = sleeper("B", Blockers.thread(() -> a[0]));
        a[0] = sleeper("A", Blockers.thread(b::thread)).thread();
        assertTrue(WaitGraph.find(sched, 3_600_000_000_000L).isEmpty());
        assertTrue(WaitGraph.find(sched, 0).isPresent());
    }

    /**
     * wait_on_bit of a bit only its owner clears (an RO remount waiting for CLEANER_RUNNING names the cleaner): the owner
     * waiting for the waiter closes a cycle.
     */
    @Test
    void aWaitOnBitNamingItsOwnerWhoWaitsForTheWaiterIsADeadlock() {
        FlagWord<Bit> flags = new FlagWord<>(sched);
        flags.set(Bit.A);
        Thread[] owner = new Thread[1];
        TestThread<Void> remount = TestThread.run("remount", () -> flags.waitOnBit(Bit.A, Blockers.thread(() -> owner[0])));
        Waits.within().until(() -> sched.blocked().containsKey("remount"));
        owner[0] = sleeper("cleaner", Blockers.thread(remount::thread)).thread();
        WaitGraph.Deadlock d = WaitGraph.find(sched, 0).orElseThrow();
        assertEquals(Set.of("remount", "cleaner"), names(d));
        assertTrue(d.describe().contains("remount: wait_on_bit(A) -> cleaner"), d.describe());
        flags.clearAndWakeUpBit(Bit.A);
        remount.join();
    }

    @Test
    void aSleepWhoseBlockersAnswerNobodyIsNotStuck() {
        sleeper("A", Blockers.anyOf(List::of));
        sleeper("B", Blockers.allOf(List::of));
        assertTrue(WaitGraph.find(sched, 0).isEmpty());
    }
}
