package org.jbtrfs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HooksTest {
    private static final Hook H = Hook.CLEANER_AFTER_SET_RUNNING;
    private final Hooks hooks = new Hooks();

    @AfterEach
    void releaseEverything() { hooks.reset(); }

    /** A thread that passes {@code hook} {@code times} times, counting each pass. */
    private TestThread<Void> passer(Hook hook, int times, AtomicInteger passed) {
        return TestThread.run("btrfs-cleaner", () -> {
            for (int i = 0; i < times; i++) {
                hooks.arrive(hook);
                passed.incrementAndGet();
            }
        });
    }

    @Test
    void parkHoldsTheThreadUntilReleased() throws Exception {
        hooks.parkAt(H);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(H, 1, passed);

        hooks.awaitParked(H, Waits.BOUND);

        assertTrue(hooks.isParked(H));
        assertEquals(0, passed.get(), "parked inside the window");
        assertEquals(1, hooks.arrivals(H));
        hooks.release(H);
        t.join();
        assertEquals(1, passed.get());
        assertFalse(hooks.isParked(H));
    }

    @Test
    void isParkedServesAwaitility() throws Exception {
        hooks.parkAt(Hook.REMOUNT_AFTER_SET_RO);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(Hook.REMOUNT_AFTER_SET_RO, 1, passed);
        Waits.within().until(() -> hooks.isParked(Hook.REMOUNT_AFTER_SET_RO));
        assertFalse(hooks.isParked(H), "other hooks are not parked");
        hooks.release(Hook.REMOUNT_AFTER_SET_RO);
        t.join();
        assertEquals(1, passed.get());
    }

    @Test
    void armTimesParksOnlyThatManyArrivals() throws Exception {
        hooks.arm(H, HookAction.park(), 2);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(H, 3, passed);

        hooks.awaitParked(H, Waits.BOUND);
        hooks.release(H);
        Waits.within().until(() -> passed.get() == 1);
        Waits.within().until(() -> hooks.isParked(H));
        assertEquals(1, passed.get());
        hooks.release(H);

        t.join(); // the third arrival did not park: nobody released it
        assertEquals(3, passed.get());
        assertEquals(3, hooks.arrivals(H));
    }

    @Test
    void parkEveryArrivalAndReleaseAll() throws Exception {
        hooks.arm(H, HookAction.park(), -1);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> a = passer(H, 1, passed);
        TestThread<Void> b = passer(H, 1, passed);
        Waits.within().until(() -> hooks.arrivals(H) == 2 && Blocked.in(a.thread(), "Hooks", "waitForRelease")
            && Blocked.in(b.thread(), "Hooks", "waitForRelease"));
        assertEquals(0, passed.get());

        hooks.release(H);

        a.join();
        b.join();
        assertEquals(2, passed.get());
    }

    @Test
    void aReleaseBeforeTheArrivalDoesNotPreRelease() throws Exception {
        hooks.parkAt(H);
        hooks.release(H); // nobody parked yet
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(H, 1, passed);
        hooks.awaitParked(H, Waits.BOUND);
        assertEquals(0, passed.get());
        hooks.release(H);
        t.join();
        assertEquals(1, passed.get());
    }

    @Test
    void disarmReleasesAParkedThread() throws Exception {
        hooks.parkAt(H);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(H, 2, passed);
        hooks.awaitParked(H, Waits.BOUND);

        hooks.disarm(H);

        t.join(); // the second arrival finds the hook unarmed
        assertEquals(2, passed.get());
        assertFalse(hooks.isParked(H));
        assertEquals(1, hooks.arrivals(H), "unarmed arrivals are not counted");
    }

    @Test
    void rearmingReleasesThreadsParkedOnTheOldArm() throws Exception {
        hooks.parkAt(H);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> t = passer(H, 1, passed);
        hooks.awaitParked(H, Waits.BOUND);
        hooks.arm(H, HookAction.count(), -1);
        t.join();
        assertEquals(1, passed.get());
    }

    @Test
    void resetReleasesEveryParkedThread() throws Exception {
        hooks.parkAt(H);
        hooks.parkAt(Hook.UMOUNT_START);
        AtomicInteger passed = new AtomicInteger();
        TestThread<Void> a = passer(H, 1, passed);
        TestThread<Void> b = passer(Hook.UMOUNT_START, 1, passed);
        hooks.awaitParked(H, Waits.BOUND);
        hooks.awaitParked(Hook.UMOUNT_START, Waits.BOUND);

        hooks.reset();

        a.join();
        b.join();
        assertEquals(2, passed.get());
    }

    @Test
    void countCountsEveryArrivalOfThatHookOnly() {
        hooks.arm(Hook.DELAYED_IPUT_ADDED, HookAction.count(), -1);
        for (int i = 0; i < 5; i++) {
            hooks.arrive(Hook.DELAYED_IPUT_ADDED);
            hooks.arrive(Hook.UMOUNT_START);
        }
        assertEquals(5, hooks.arrivals(Hook.DELAYED_IPUT_ADDED));
        assertEquals(0, hooks.arrivals(Hook.UMOUNT_START));
        assertEquals(5L, hooks.arrivalCounts().get(Hook.DELAYED_IPUT_ADDED));
        assertEquals(Hook.values().length, hooks.arrivalCounts().size());
    }

    @Test
    void callbackRunsInTheArrivingThread() throws Exception {
        AtomicReference<String> ranIn = new AtomicReference<>();
        AtomicReference<Hook> hookSeen = new AtomicReference<>();
        hooks.arm(H, HookAction.callback(h -> {
            hookSeen.set(h);
            ranIn.set(Thread.currentThread().getName());
        }));
        TestThread<Void> t = passer(H, 2, new AtomicInteger());
        t.join();
        assertEquals("btrfs-cleaner", ranIn.get());
        assertEquals(H, hookSeen.get());

        AtomicInteger runs = new AtomicInteger();
        hooks.arm(H, HookAction.run(runs::incrementAndGet), 2);
        for (int i = 0; i < 4; i++) {
            hooks.arrive(H);
        }
        assertEquals(2, runs.get(), "armed for two arrivals");
    }

    @Test
    void theListenerSeesEveryArrivalUntilRemoved() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        hooks.setListener((hook, thread) -> seen.add(hook + "@" + thread.getName()));
        TestThread<Void> t = TestThread.run("btrfs-transaction", () -> {
            hooks.arrive(Hook.TRANSACTION_CREATED);
            hooks.arrive(Hook.TRANS_KTHREAD_BEFORE_COMMIT);
        });
        t.join();
        hooks.arm(H, HookAction.count(), -1);
        hooks.arrive(H);

        assertEquals(List.of("TRANSACTION_CREATED@btrfs-transaction", "TRANS_KTHREAD_BEFORE_COMMIT@btrfs-transaction",
            "CLEANER_AFTER_SET_RUNNING@" + Thread.currentThread().getName()), seen);
        assertEquals(1, hooks.arrivals(H), "an arrival seen by listener and arm is counted once");
        assertEquals(1, hooks.arrivals(Hook.TRANSACTION_CREATED));

        hooks.setListener(null);
        hooks.arrive(Hook.TRANSACTION_CREATED);
        assertEquals(3, seen.size());
    }

    @Test
    void delayHoldsTheThreadForAtLeastTheDelay() {
        long delay = TimeUnit.MILLISECONDS.toNanos(20);
        hooks.arm(H, HookAction.delay(delay));
        // Kthreads are woken with LockSupport.unpark, so a pooled thread may carry a stale permit
        // into the hook; it must not cut the delay short.
        LockSupport.unpark(Thread.currentThread());
        long start = System.nanoTime();
        hooks.arrive(H);
        long took = System.nanoTime() - start;
        assertTrue(took >= delay, "delayed only " + took + " ns");
        assertEquals(1, hooks.arrivals(H));
    }

    @Test
    void unarmedArrivalsDoNothing() {
        for (int i = 0; i < 10_000; i++) {
            hooks.arrive(H);
        }
        assertEquals(0, hooks.arrivals(H));
        assertFalse(hooks.isParked(H));
    }

    @Test
    void awaitParkedFailsClearly() {
        IllegalStateException notArmed = assertThrows(IllegalStateException.class,
            () -> hooks.awaitParked(H, Duration.ofMillis(1)));
        assertTrue(notArmed.getMessage().contains("not armed to park"));
        hooks.arm(H, HookAction.count());
        assertThrows(IllegalStateException.class, () -> hooks.awaitParked(H, Duration.ofMillis(1)));

        hooks.parkAt(H);
        AssertionError timeout = assertThrows(AssertionError.class, () -> hooks.awaitParked(H, Duration.ofMillis(20)));
        assertTrue(timeout.getMessage().startsWith("no thread parked at CLEANER_AFTER_SET_RUNNING"), timeout.getMessage());
    }

    @Test
    void badArmsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> hooks.arm(H, HookAction.park(), 0));
        assertThrows(IllegalArgumentException.class, () -> hooks.arm(H, HookAction.park(), -2));
        assertThrows(IllegalArgumentException.class, () -> HookAction.delay(-1));
        hooks.arrive(H);
        assertEquals(0, hooks.arrivals(H), "a refused arm left the hook unarmed");
    }
}
