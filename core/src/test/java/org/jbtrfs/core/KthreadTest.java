package org.jbtrfs.core;

import static org.jbtrfs.core.TestSupport.awaitLatch;
import static org.jbtrfs.core.TestSupport.waitUp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KthreadTest {
    private final ManualClock clock = new ManualClock();
    private final KernelLog log = new KernelLog(1024, clock);
    private final Kthreadd kthreadd = new Kthreadd("test-", clock, log);

    @AfterEach
    void unload() {
        kthreadd.shutdown(5_000);
        assertEquals(List.of(), kthreadd.liveThreads(), "no pooled thread outlives kthreadd");
    }

    /** The usual kthread loop: sleep until woken, stop when told. */
    private static int sleepUntilStopped(Kthread self) {
        while (!self.shouldStop()) {
            self.schedule();
        }
        return 0;
    }

    @Test
    void stopReturnsTheExitCodeAfterTheFunctionReturned() {
        AtomicBoolean returned = new AtomicBoolean();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            sleepUntilStopped(self);
            returned.set(true);
            return 42;
        });
        assertEquals("btrfs-cleaner", k.name());

        assertEquals(42, k.stop());

        assertTrue(returned.get(), "stop() returns only after the thread function returned");
        assertTrue(k.hasExited());
        assertNull(k.thread());
        assertEquals(42, k.stop(), "a second stop reports the same exit code");
        assertTrue(k.toString().contains("exited 42"));
    }

    @Test
    void stopOfAFunctionThatAlreadyReturned() {
        Kthread k = kthreadd.run("btrfs-oneshot", self -> -5);
        waitUp().until(k::hasExited);
        assertEquals(-5, k.stop());
    }

    @Test
    void nothingRunsForAKthreadAfterStop() {
        AtomicInteger loops = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            while (!self.shouldStop()) {
                loops.incrementAndGet();
                self.schedule();
            }
            return 0;
        });
        waitUp().until(() -> loops.get() >= 1);
        Thread pooled = k.thread();
        k.stop();
        int atStop = loops.get();

        assertFalse(k.wakeUpProcess(), "no wake-up for an exited kthread");
        // The same real thread now serves another kthread; the old function does not run again.
        Kthread next = kthreadd.run("btrfs-next", KthreadTest::sleepUntilStopped);
        assertEquals(pooled, next.thread());
        next.wakeUpProcess();
        next.stop();
        assertEquals(atStop, loops.get());
        assertEquals(List.of(), kthreadd.busy());
    }

    @Test
    void parkReturnsOnlyOnceTheThreadIsInParkme() {
        AtomicBoolean enteredParkme = new AtomicBoolean();
        AtomicInteger loops = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (!self.shouldStop()) {
                if (self.shouldPark()) {
                    enteredParkme.set(true);
                    self.parkme();
                }
                loops.incrementAndGet();
                self.schedule();
            }
            return 0;
        });

        k.park();

        assertTrue(k.isParked(), "park() returned, so the thread sits in parkme");
        assertTrue(k.shouldPark());
        assertTrue(enteredParkme.get());
        assertTrue(k.toString().endsWith("(parked)"));
        int whileParked = loops.get();
        k.wakeUpProcess();
        assertTrue(k.isParked(), "a wake-up does not unpark");
        assertEquals(whileParked, loops.get(), "nothing ran while parked");

        k.unpark();
        assertFalse(k.shouldPark());
        waitUp().until(() -> !k.isParked() && loops.get() > whileParked);

        k.park(); // parks again after an unpark
        assertTrue(k.isParked());
        assertEquals(0, k.stop(), "stop releases a parked kthread");
        assertFalse(k.isParked());
    }

    @Test
    void parkOfAnExitedKthreadIsRefused() {
        Kthread k = kthreadd.run("btrfs-oneshot", self -> 0);
        k.stop();
        assertThrows(IllegalStateException.class, k::park);
    }

    @Test
    void aWakeUpDeliveredBeforeScheduleIsNotLost() {
        CountDownLatch ready = new CountDownLatch(1);
        CountDownLatch wokenBeforeSleeping = new CountDownLatch(1);
        CountDownLatch scheduleReturned = new CountDownLatch(1);
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            ready.countDown();
            awaitLatch(wokenBeforeSleeping); // "decided to sleep" but not asleep yet
            self.schedule();
            scheduleReturned.countDown();
            return sleepUntilStopped(self);
        });
        awaitLatch(ready);

        assertTrue(k.wakeUpProcess(), "first wake-up sets the permit");
        assertFalse(k.wakeUpProcess(), "the permit was already pending");
        wokenBeforeSleeping.countDown();

        awaitLatch(scheduleReturned); // neither stopped nor parked: only the permit could end that schedule()
        assertFalse(k.shouldStop() || k.shouldPark());
        k.stop();
    }

    @Test
    void wakeUpProcessWakesASleepingKthread() {
        AtomicInteger wakes = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (!self.shouldStop()) {
                self.schedule();
                wakes.incrementAndGet();
            }
            return 0;
        });
        Thread t = k.thread();
        for (int i = 1; i <= 3; i++) {
            waitUp().until(() -> t.getState() == Thread.State.WAITING);
            k.wakeUpProcess();
            int expected = i;
            waitUp().until(() -> wakes.get() >= expected);
        }
        k.stop();
        assertTrue(wakes.get() >= 3);
    }

    @Test
    void anInterruptNeitherEndsScheduleNorMakesItSpin() {
        AtomicInteger wakes = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (!self.shouldStop()) {
                self.schedule();
                wakes.incrementAndGet();
            }
            return 0;
        });
        Thread t = k.thread();
        waitUp().until(() -> t.getState() == Thread.State.WAITING);

        t.interrupt();

        // A spinning schedule() would stay RUNNABLE with the interrupt pending.
        waitUp().until(() -> t.getState() == Thread.State.WAITING && !t.isInterrupted());
        assertEquals(0, wakes.get(), "kthreads take no signals: schedule() did not return");
        k.wakeUpProcess();
        waitUp().until(() -> wakes.get() == 1);
        k.stop();
    }

    @Test
    void scheduleTimeoutTimesOutOnlyWhenTheClockPassesTheDeadline() throws Exception {
        CompletableFuture<Boolean> woken = new CompletableFuture<>();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            woken.complete(self.scheduleTimeout(TimeUnit.SECONDS.toNanos(30)));
            return sleepUntilStopped(self);
        });
        waitUp().until(() -> clock.sleepers() > 0);

        clock.advance(29, TimeUnit.SECONDS);
        assertFalse(woken.isDone(), "deadline not reached: the kthread cannot have returned");
        waitUp().until(() -> clock.sleepers() > 0);

        clock.advance(1, TimeUnit.SECONDS);
        assertFalse(woken.get(10, TimeUnit.SECONDS), "timed out, not woken");
        k.stop();
    }

    @Test
    void scheduleTimeoutReturnsTrueWhenWokenBeforeTheDeadline() throws Exception {
        CompletableFuture<Boolean> woken = new CompletableFuture<>();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            woken.complete(self.scheduleTimeout(TimeUnit.SECONDS.toNanos(30)));
            return sleepUntilStopped(self);
        });
        waitUp().until(() -> clock.sleepers() > 0);
        k.wakeUpProcess();
        assertTrue(woken.get(10, TimeUnit.SECONDS));
        assertEquals(0, clock.nanoTime(), "no time passed");
        k.stop();
    }

    @Test
    void stopEndsATimedSleepWithoutTheClockMoving() {
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            while (!self.shouldStop()) {
                self.scheduleTimeout(TimeUnit.SECONDS.toNanos(30));
            }
            return 7;
        });
        waitUp().until(() -> clock.sleepers() > 0);
        assertEquals(7, k.stop());
        assertEquals(0, clock.nanoTime());
        assertEquals(0, clock.sleepers());
    }

    @Test
    void scheduleTimeoutOnTheSystemClock() {
        Kthreadd real = new Kthreadd("sys-", KernelClock.SYSTEM, log);
        try {
            CompletableFuture<Boolean> woken = new CompletableFuture<>();
            long start = System.nanoTime();
            Kthread k = real.run("btrfs-transaction", self -> {
                woken.complete(self.scheduleTimeout(TimeUnit.MILLISECONDS.toNanos(20)));
                return 0;
            });
            assertFalse(woken.join());
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(20));
            k.stop();
        } finally {
            real.shutdown(5_000);
        }
    }

    @Test
    void pooledThreadsAreReused() {
        for (int i = 0; i < 100; i++) {
            Kthread k = kthreadd.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
            assertEquals(0, k.stop());
        }
        assertEquals(1, kthreadd.threadsCreated());

        Kthread a = kthreadd.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
        Kthread b = kthreadd.run("btrfs-transaction", KthreadTest::sleepUntilStopped);
        assertEquals(2, kthreadd.threadsCreated(), "two kthreads at once need two threads");
        assertNotSame(a.thread(), b.thread());
        assertEquals(List.of("btrfs-cleaner", "btrfs-transaction"), kthreadd.busy().stream().sorted().toList());
        a.stop();
        b.stop();
        assertEquals(2, kthreadd.liveThreads().size());
    }

    @Test
    void theThreadIsNamedForTheKthreadWhileItServes() {
        AtomicReference<String> nameInside = new AtomicReference<>();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            nameInside.set(Thread.currentThread().getName());
            return sleepUntilStopped(self);
        });
        Thread t = k.thread();
        waitUp().until(() -> nameInside.get() != null);
        assertEquals("btrfs-cleaner", nameInside.get());
        assertEquals("btrfs-cleaner", t.getName());
        assertTrue(t.isDaemon());

        k.stop();
        assertEquals("test-kthreadd/1", t.getName(), "renamed back when idle");
    }

    @Test
    void anUncaughtExceptionIsAnOopsAndStopStillReturns() {
        long mark = log.mark();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            throw new IllegalStateException("boom");
        });

        assertEquals(Errno.EINTR.ret(), k.stop());

        List<LogEntry> oops = log.since(mark).stream().filter(e -> e.kind() == LogEntry.Kind.OOPS).toList();
        assertEquals(1, oops.size(), log::dmesg);
        String msg = oops.get(0).message();
        assertTrue(msg.startsWith("Oops: unexpected exception in kthread btrfs-cleaner: java.lang.IllegalStateException: boom"), msg);
        assertTrue(msg.contains("Call Trace:"), msg);
        assertEquals("btrfs-cleaner", oops.get(0).thread());
        assertTrue(log.taints().contains(Taint.DIE));
        // The pooled thread survived and serves the next kthread.
        Kthread next = kthreadd.run("btrfs-next", KthreadTest::sleepUntilStopped);
        next.stop();
        assertEquals(1, kthreadd.threadsCreated());
    }

    @Test
    void aKernelBugInAKthreadIsNotReportedTwice() {
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            log.assertThat(false, "list_empty(&fs_info->delayed_iputs)", "disk-io.c", 4049);
            return 0;
        });
        assertEquals(Errno.EINTR.ret(), k.stop());
        assertEquals(1, log.count(LogEntry.Kind.ASSERTION));
        assertEquals(0, log.count(LogEntry.Kind.OOPS));
    }

    @Test
    void aKthreadCannotStopItself() {
        AtomicReference<Throwable> caught = new AtomicReference<>();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            try {
                self.stop();
            } catch (IllegalStateException e) {
                caught.set(e);
            }
            return 1;
        });
        assertEquals(1, k.stop());
        assertInstanceOf(IllegalStateException.class, caught.get());
    }

    @Test
    void afterShutdownNoPooledThreadIsAlive() {
        for (int i = 0; i < 3; i++) {
            kthreadd.run("btrfs-k" + i, KthreadTest::sleepUntilStopped);
        }
        List<Kthread> stopped = List.of(
            kthreadd.run("btrfs-a", KthreadTest::sleepUntilStopped),
            kthreadd.run("btrfs-b", KthreadTest::sleepUntilStopped));
        stopped.forEach(Kthread::stop);
        assertEquals(5, kthreadd.liveThreads().size());

        List<String> stuck = kthreadd.shutdown(5_000);

        assertEquals(List.of("btrfs-k0", "btrfs-k1", "btrfs-k2"), stuck.stream().sorted().toList(),
            "kthreads nobody stopped are reported");
        assertEquals(List.of(), kthreadd.liveThreads());
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> kthreadd.run("btrfs-late", KthreadTest::sleepUntilStopped));
        assertTrue(e.getMessage().contains("shut down"), e.getMessage());
    }

    @Test
    void shutdownAsksAForgottenKthreadToStop() {
        AtomicBoolean returned = new AtomicBoolean();
        Kthread k = kthreadd.run("btrfs-forgotten", self -> {
            sleepUntilStopped(self);
            returned.set(true);
            return 3;
        });
        Thread t = k.thread();
        waitUp().until(() -> t.getState() == Thread.State.WAITING);

        assertEquals(List.of("btrfs-forgotten"), kthreadd.shutdown(5_000));

        assertFalse(t.isAlive());
        assertTrue(returned.get());
        assertEquals(3, k.stop());
    }

    @Test
    void shutdownOfAnUnusedPoolAndWakeUpOfAnExitedKthread() {
        Kthread k = kthreadd.run("btrfs-oneshot", self -> 0);
        assertNotNull(k);
        k.stop();
        assertFalse(k.wakeUpProcess());
        assertEquals(List.of(), kthreadd.shutdown(5_000));
        assertEquals(List.of(), kthreadd.liveThreads());
    }

    @Test
    void manualClockRefusesToGoBackwards() {
        assertThrows(IllegalArgumentException.class, () -> clock.advance(-1, TimeUnit.SECONDS));
        clock.advance(1500, TimeUnit.MILLISECONDS);
        assertEquals(1_500_000_000L, clock.nanoTime());
        assertEquals(1, clock.seconds());
    }
}
