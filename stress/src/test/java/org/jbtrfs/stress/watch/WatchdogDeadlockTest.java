package org.jbtrfs.stress.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.core.kernel.Blockers;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.core.kernel.WaitGraph;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * The watchdog names a deadlock from the wait-for graph ({@link Watchdog#deadlocks}) long before the hung-task limit
 * (here a minute): the operation of the cycle that began first, with the cycle in its report. Two operations each waiting
 * for the other's thread are one; the same pair with one of them parked where anyone may wake it (a sleep without
 * blockers, as a hook's park) is not, and runs on to the limit.
 */
class WatchdogDeadlockTest {
    private final Sched sched = new Sched();
    private final Object monitor = new Object();
    private volatile boolean go;

    private TestThread<Void> op(Busy busy, String op, Blockers waitsFor) {
        TestThread<Void> t = TestThread.run(busy.driverName, () -> {
            busy.enter(op);
            synchronized (monitor) {
                sched.waitUntil(monitor, "wait(" + op + ")", waitsFor, () -> go);
            }
            busy.exit();
        });
        Waits.within().until(() -> sched.blocked().containsKey(busy.driverName));
        return t;
    }

    private void release(TestThread<?>... ts) {
        synchronized (monitor) {
            go = true;
            monitor.notifyAll();
        }
        for (TestThread<?> t : ts) {
            t.join();
        }
    }

    @Test
    void twoOperationsWaitingForEachOtherAreNamedAtOnce() {
        Busy first = new Busy("lane:quota:0");
        Busy second = new Busy("lane:quota2:0");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        Thread[] b = new Thread[1];
        try (Watchdog w = new Watchdog(List.of(first, second), 60_000_000_000L, seen::set)) {
            w.deadlocks(() -> WaitGraph.find(sched, 0));
            TestThread<Void> a = op(first, "quota disable", Blockers.thread(() -> b[0]));
            TestThread<Void> c = op(second, "qgroup create", Blockers.thread(a::thread));
            b[0] = c.thread();
            Waits.within(Duration.ofSeconds(5)).until(() -> seen.get() != null);
            release(a, c);
        }
        Watchdog.Hung h = seen.get();
        assertEquals(first, h.driver(), "the operation that began first");
        assertTrue(h.report().startsWith("INFO: task lane:quota:0 blocked for "), h.report());
        assertTrue(h.report().contains("in 'quota disable' in a deadlock"), h.report());
        assertTrue(h.report().contains("lane:quota:0: wait(quota disable) -> lane:quota2:0"), h.report());
        assertTrue(h.report().contains("Showing all threads:"), "the hung-task report's stacks: " + h.report());
    }

    @Test
    void aCycleThroughASleepAnyoneMayEndIsNoDeadlock() {
        Busy first = new Busy("lane:quota:0");
        Busy second = new Busy("lane:quota2:0");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        try (Watchdog w = new Watchdog(List.of(first, second), 60_000_000_000L, seen::set)) {
            w.deadlocks(() -> WaitGraph.find(sched, 0));
            TestThread<Void> a = op(first, "quota disable", null);
            TestThread<Void> c = op(second, "qgroup create", Blockers.thread(a::thread));
            // several looks of the graph and its confirmation time pass: nothing is named
            Waits.within(Duration.ofSeconds(2)).during(Duration.ofMillis(3 * Watchdog.DEADLOCK_CONFIRM_NANOS / 1_000_000L))
                .until(() -> seen.get() == null);
            release(a, c);
        }
        assertNull(seen.get());
    }
}
