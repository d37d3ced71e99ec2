package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.Taint;
import org.jbtrfs.core.WorkOwner;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
import org.jbtrfs.core.kernel.Kthread.TaskState;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Kthreads with the kernel's wake-up semantics: wake_up_process wakes an INTERRUPTIBLE task and does
 * nothing to a running one; kthread_park / kthread_stop wake with it too; a freed task is a
 * use-after-free.
 */
class KthreadTest {
    private final ManualClock clock = new ManualClock();
    private final KernelLog log = new KernelLog(1024, clock);
    private final Sched sched = new Sched();
    /** A pool of its own, so the tests can count the real threads it creates. */
    private final LentThreads threads = new LentThreads("test-idle");
    private final Kthreadd kthreadd = new Kthreadd(clock, log, sched, threads);

    @AfterEach
    void unload() {
        kthreadd.shutdown(5_000);
        assertEquals(List.of(), kthreadd.liveThreads(), "no thread serves a kthread of an unloaded module");
    }

    /**
     * The canonical kernel sleep that loses no wake-up: set the state, test the condition, schedule.
     * A stop request that lands after the test finds the state INTERRUPTIBLE and wakes us.
     */
    private static int sleepUntilStopped(Kthread self) {
        while (true) {
            self.setCurrentState(TaskState.INTERRUPTIBLE);
            if (self.shouldStop()) {
                self.setCurrentState(TaskState.RUNNING);
                return 0;
            }
            self.schedule();
        }
    }

    /**
     * Waits until {@code k} sleeps in schedule() in task state {@code s}: Sched names the sleep of a task
     * that entered schedule() with that state, so a wake-up from now on is one the sleeper sees.
     */
    private void awaitState(Kthread k, TaskState s) {
        Waits.within().until(() -> k.taskState() == s && k.thread() != null
            && ("schedule() in " + s).equals(sched.blocked().get(k.thread().getName())));
    }

    /** True while some thread waits in kthread_park of {@code k} (Sched names that wait). */
    private boolean parkWaiting(Kthread k) {
        return sched.blocked().containsValue("kthread_park(" + k.name() + ")");
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
        assertTrue(k.isFreed(), "kthread_stop dropped the last task reference");
        assertNull(k.thread());
        assertEquals(TaskState.DEAD, k.taskState());
    }

    @Test
    void aSecondStopIsAUseAfterFreeOfTheTask() {
        Kthread k = kthreadd.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
        k.stop();
        KernelOops oops = assertThrows(KernelOops.class, k::stop);
        assertTrue(oops.getMessage().contains("use-after-free in kthread_stop"), oops.getMessage());
        assertTrue(log.dmesg().contains("task_struct of btrfs-cleaner"), log.dmesg());
    }

    @Test
    void aWakeUpAfterStopIsAUseAfterFreeNotASilentNoOp() {
        Kthread k = kthreadd.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
        k.stop();
        KernelOops oops = assertThrows(KernelOops.class, k::wakeUpProcess);
        assertTrue(oops.getMessage().contains("use-after-free in wake_up_process"), oops.getMessage());
        assertEquals(1, log.count(LogEntry.Kind.USE_AFTER_FREE));
        assertTrue(log.taints().contains(Taint.BAD_PAGE));
    }

    @Test
    void aKthreadThatReturnedOnItsOwnIsReapedAndAStopOfItIsAUseAfterFree() {
        Kthread k = kthreadd.run("btrfs-oneshot", self -> -5);
        Waits.within().until(k::isFreed);
        assertThrows(KernelOops.class, k::stop);
        assertThrows(KernelOops.class, k::park);
    }

    @Test
    void nothingRunsForAKthreadAfterStopAndItsThreadServesTheNext() {
        AtomicInteger loops = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            loops.incrementAndGet();
            return sleepUntilStopped(self);
        });
        Waits.within().until(() -> loops.get() >= 1);
        Thread pooled = k.thread();
        k.stop();

        Kthread next = kthreadd.run("btrfs-next", KthreadTest::sleepUntilStopped);
        assertEquals(pooled, next.thread());
        next.stop();
        assertEquals(1, loops.get());
        assertEquals(List.of(), kthreadd.busy());
    }

    @Test
    void wakeUpProcessWakesAnInterruptibleTaskAndReportsIt() {
        AtomicInteger wakes = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            // the kernel's sleep loop: the state is set before kthread_should_stop() is tested, so a kthread_stop()
            // in between finds the task INTERRUPTIBLE and wakes it (testing first, as this test once did, loses
            // that wake-up and kthread_stop() waits for ever — it hung a build)
            while (true) {
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    break;
                }
                self.schedule();
                wakes.incrementAndGet();
            }
            self.setCurrentState(TaskState.RUNNING);
            return 0;
        });
        for (int i = 1; i <= 3; i++) {
            awaitState(k, TaskState.INTERRUPTIBLE);
            assertTrue(k.wakeUpProcess(), "an INTERRUPTIBLE task is woken");
            int expected = i;
            Waits.within().until(() -> wakes.get() >= expected);
        }
        awaitState(k, TaskState.INTERRUPTIBLE);
        assertEquals(3, wakes.get());
        assertTrue(k.sleeps() >= 4);
        k.stop();
    }

    /**
     * The kernel's lost wake-up: wake_up_process on a TASK_RUNNING task does nothing, and there is no
     * permit for a later schedule() to consume — the task sleeps until the next wake-up.
     */
    @Test
    void aWakeUpOfARunningTaskIsLost() {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch wakeDelivered = new CountDownLatch(1);
        AtomicInteger passes = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (!self.shouldStop()) {
                if (passes.incrementAndGet() == 1) {
                    running.countDown();
                    TestThread.await(wakeDelivered); // mid-pass: TASK_RUNNING
                }
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    break;
                }
                self.schedule();
            }
            self.setCurrentState(TaskState.RUNNING);
            return 0;
        });
        TestThread.await(running);

        assertFalse(k.wakeUpProcess(), "the task is running: nothing to wake");
        wakeDelivered.countDown();

        awaitState(k, TaskState.INTERRUPTIBLE);
        assertEquals(1, passes.get(), "the lost wake-up did not start another pass");
        assertTrue(k.wakeUpProcess());
        Waits.within().until(() -> passes.get() == 2);
        k.stop();
    }

    @Test
    void aWakeUpBetweenSetCurrentStateAndScheduleIsNotLost() {
        CountDownLatch stateSet = new CountDownLatch(1);
        CountDownLatch woken = new CountDownLatch(1);
        CountDownLatch scheduleReturned = new CountDownLatch(1);
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            self.setCurrentState(TaskState.INTERRUPTIBLE);
            stateSet.countDown();
            TestThread.await(woken); // "decided to sleep" but not in schedule() yet
            self.schedule();
            scheduleReturned.countDown();
            return sleepUntilStopped(self);
        });
        TestThread.await(stateSet);

        assertTrue(k.wakeUpProcess(), "INTERRUPTIBLE: this wake-up counts");
        assertFalse(k.wakeUpProcess(), "already RUNNING again: a second one is lost");
        woken.countDown();

        TestThread.await(scheduleReturned); // only the wake-up could end that schedule()
        assertFalse(k.shouldStop() || k.shouldPark());
        k.stop();
    }

    @Test
    void parkReturnsOnlyOnceTheThreadIsInParkme() {
        AtomicBoolean enteredParkme = new AtomicBoolean();
        AtomicInteger loops = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (true) {
                if (self.shouldPark()) {
                    enteredParkme.set(true);
                    self.parkme();
                }
                if (self.shouldStop()) {
                    return 0;
                }
                loops.incrementAndGet();
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                if (self.shouldPark() || self.shouldStop()) {
                    self.setCurrentState(TaskState.RUNNING);
                    continue;
                }
                self.schedule();
            }
        });
        awaitState(k, TaskState.INTERRUPTIBLE);

        assertEquals(0, k.park());

        assertTrue(k.isParked(), "park() returned, so the thread sits in parkme");
        assertTrue(k.shouldPark());
        assertTrue(enteredParkme.get());
        int whileParked = loops.get();
        assertFalse(k.wakeUpProcess(), "wake_up_process does not wake a TASK_PARKED task");
        assertTrue(k.isParked());
        assertEquals(whileParked, loops.get(), "nothing ran while parked");

        k.unpark();
        assertFalse(k.shouldPark());
        Waits.within().until(() -> !k.isParked() && loops.get() > whileParked);

        awaitState(k, TaskState.INTERRUPTIBLE);
        assertEquals(0, k.park(), "parks again after an unpark");
        assertTrue(k.isParked());
        assertEquals(0, k.stop(), "stop releases a parked kthread");
        assertFalse(k.isParked());
    }

    /**
     * kthread_park's own wake-up is a wake_up_process: a kthread that tested kthread_should_park() just
     * before the request and then goes to sleep does not see it until someone else wakes it. The park
     * waits that long (in btrfs: until the transaction kthread's next loop wakes the cleaner).
     */
    @Test
    void aParkRequestedAfterTheKthreadsLastCheckWaitsForTheNextWakeUp() throws Exception {
        CountDownLatch checked = new CountDownLatch(1);
        CountDownLatch parkRequested = new CountDownLatch(1);
        AtomicBoolean first = new AtomicBoolean(true);
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            while (true) {
                if (self.shouldPark()) {
                    self.parkme();
                }
                if (self.shouldStop()) {
                    return 0;
                }
                if (first.getAndSet(false)) {
                    checked.countDown();
                    TestThread.await(parkRequested); // the window between the checks and set_current_state
                }
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                self.schedule();
                self.setCurrentState(TaskState.RUNNING);
            }
        });
        TestThread.await(checked);
        TestThread<Integer> park = TestThread.call("umount", k::park);
        // kthread_park waits for the 'parked' completion only after its wake_up_process, which found the
        // kthread running (it sits in the window): that wake-up is spent before the kthread goes on
        Waits.within().until(() -> parkWaiting(k));
        parkRequested.countDown();

        awaitState(k, TaskState.INTERRUPTIBLE);
        assertTrue(parkWaiting(k), "kthread_park's wake-up was lost: it still waits");
        park.assertRunning();
        // decisive: the kthread is still TASK_INTERRUPTIBLE in schedule(), not parked — nothing woke it
        Waits.within().until(() -> k.sleptThroughBy() != null); // the lost wake-up, as a state an explorer can read
        assertEquals(List.of("btrfs-cleaner sleeps in TASK_INTERRUPTIBLE through kthread_park: its wake-up came while it ran"),
            List.copyOf(kthreadd.sleptThroughRequests().values()));
        assertTrue(k.wakeUpProcess(), "the next waker (the transaction kthread in btrfs) ...");
        assertEquals(0, park.join(), "... lets the park complete");
        assertTrue(k.isParked());
        assertNull(k.sleptThroughBy(), "parked: nothing slept through");
        k.stop();
    }

    @Test
    void anInterruptNeitherEndsScheduleNorMakesItSpin() {
        AtomicInteger wakes = new AtomicInteger();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            // the kernel's sleep loop: the state is set before kthread_should_stop() is tested, so a kthread_stop()
            // in between finds the task INTERRUPTIBLE and wakes it (testing first, as this test once did, loses
            // that wake-up and kthread_stop() waits for ever — it hung a build)
            while (true) {
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    break;
                }
                self.schedule();
                wakes.incrementAndGet();
            }
            self.setCurrentState(TaskState.RUNNING);
            return 0;
        });
        awaitState(k, TaskState.INTERRUPTIBLE);
        Thread t = k.thread();

        t.interrupt();

        // The interrupt was consumed (the flag is clear again) and the thread parks in schedule() once more; a
        // spinning schedule() would stay RUNNABLE, a returning one would count a wake.
        Waits.within().until(() -> !t.isInterrupted() && Blocked.in(t, "Kthread", "schedule"));
        assertEquals(0, wakes.get(), "kthreads take no signals: schedule() did not return");
        assertTrue(k.wakeUpProcess());
        Waits.within().until(() -> wakes.get() == 1);
        k.stop();
    }

    @Test
    void aPanicEndsTheSleepOfAKthreadAndAParkWaitingForIt() throws Exception {
        CountDownLatch checked = new CountDownLatch(1);
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            checked.countDown();
            self.setCurrentState(TaskState.INTERRUPTIBLE);
            self.schedule(); // never woken: only the panic ends this
            return 0;
        });
        TestThread.await(checked);
        awaitState(k, TaskState.INTERRUPTIBLE);
        // a parker whose wake-up is delivered but whose kthread never parks (it left its loop)
        Kthread stuck = kthreadd.run("btrfs-stuck", self -> {
            self.setCurrentState(TaskState.INTERRUPTIBLE);
            self.schedule();
            return 0;
        });
        awaitState(stuck, TaskState.INTERRUPTIBLE);
        TestThread<Integer> park = TestThread.call("umount", stuck::park);
        Waits.within().until(() -> parkWaiting(stuck)); // the park sleeps on the 'parked' completion

        sched.panic("hung task");
        sched.interruptSleepers();

        Waits.within().until(k::hasExited);
        Throwable t = park.failure();
        assertInstanceOf(KernelPanic.class, t);
        assertEquals(0, log.count(LogEntry.Kind.OOPS), "a panic is not reported again as an oops");
    }

    /**
     * The panic's interrupt ends a sleep and is consumed by the {@link KernelPanic} it raises: a thread that
     * goes on after the panic must not carry a stale interrupt into its next blocking call. Port bug found
     * by the explorer (--kernel 5.12, seeds 1001/1002): a driver whose umount a lost-wake-up panic ended saw
     * its next Future.get throw InterruptedException at once, took its lanes for stuck and ran its next
     * cycle's end while they still ran — a lane mounted the device after the driver's umount, and the next
     * epoch's mkfs failed with EBUSY, aborting the run. Not kernel behaviour (the kernel's panic stops the
     * machine); Sched.leave(Thread, boolean) is the one place of the policy.
     */
    @Test
    void aPanicEndsASleepWithoutLeavingTheSleeperInterrupted() throws Exception {
        Object monitor = new Object();
        TestThread<Boolean> sleeper = TestThread.call("sleeper", () -> {
            try {
                synchronized (monitor) {
                    sched.waitUntil(monitor, "wait_for_completion(test)", () -> false);
                }
                throw new AssertionError("returned without a panic");
            } catch (KernelPanic e) {
                return Thread.currentThread().isInterrupted();
            }
        });
        CompletableFuture<Boolean> scheduleLeftInterrupted = new CompletableFuture<>();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            self.setCurrentState(TaskState.INTERRUPTIBLE);
            try {
                self.schedule(); // never woken: only the panic ends this
            } catch (KernelPanic e) {
                scheduleLeftInterrupted.complete(Thread.currentThread().isInterrupted());
                throw e;
            }
            return 0;
        });
        Waits.within().until(() -> sched.blocked().containsKey("sleeper"));
        awaitState(k, TaskState.INTERRUPTIBLE);

        sched.panic("hung task");
        sched.interruptSleepers();

        assertFalse(sleeper.join(), "Sched.waitUntil left the panic's interrupt set");
        assertFalse(scheduleLeftInterrupted.get(10, TimeUnit.SECONDS), "Kthread.schedule left the panic's interrupt set");
        Waits.within().until(k::hasExited);
    }

    /**
     * Runs {@code test} with a kthreadd whose kthreads poll for 60 s before they block, held inside their poll
     * whatever else the machine runs ({@link ForeignLoad} overridden), and shuts it down after.
     */
    private void withLongPoll(org.junit.jupiter.api.function.ThrowingConsumer<Kthreadd> test) throws Throwable {
        Boolean was = ForeignLoad.override(false);
        Kthreadd polling = new Kthreadd(clock, log, sched, threads, 0, TimeUnit.SECONDS.toNanos(60));
        try {
            test.accept(polling);
        } finally {
            polling.shutdown(5_000);
            ForeignLoad.override(was);
        }
    }

    /**
     * Regression: with {@link IdlePoll} a sleeping kthread first polls; a panic's interrupt that came during
     * the poll was left set when schedule() threw {@link KernelPanic} (park() would have consumed it) — the
     * clean-clone CI caught it by chance in {@link #aPanicEndsASleepWithoutLeavingTheSleeperInterrupted}. Here
     * the kthread is held inside a 60 s poll, so the interrupt always lands in it.
     */
    @Test
    void aPanicDuringTheIdlePollEndsTheSleepWithoutLeavingTheInterrupt() throws Throwable {
        withLongPoll(polling -> {
            CompletableFuture<Boolean> leftInterrupted = new CompletableFuture<>();
            Kthread k = polling.run("btrfs-cleaner", self -> {
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                try {
                    self.schedule();
                } catch (KernelPanic e) {
                    leftInterrupted.complete(Thread.currentThread().isInterrupted());
                    throw e;
                }
                return 0;
            });
            awaitState(k, TaskState.INTERRUPTIBLE);
            assertEquals(Thread.State.RUNNABLE, k.thread().getState(), "inside its poll, not parked");
            sched.panic("hung task");
            sched.interruptSleepers();
            assertFalse(leftInterrupted.get(10, TimeUnit.SECONDS), "Kthread.schedule left the panic's interrupt set");
            Waits.within().until(k::hasExited);
        });
    }

    /** An interrupt (no panic) during the poll is deferred like one during the park: re-asserted once woken. */
    @Test
    void anInterruptDuringTheIdlePollIsDeferredAndReasserted() throws Throwable {
        withLongPoll(polling -> {
            CompletableFuture<Boolean> interruptedAfter = new CompletableFuture<>();
            AtomicBoolean woken = new AtomicBoolean();
            Kthread k = polling.run("btrfs-cleaner", self -> {
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                self.schedule();
                interruptedAfter.complete(Thread.currentThread().isInterrupted() && woken.get());
                Thread.interrupted();
                return 0;
            });
            awaitState(k, TaskState.INTERRUPTIBLE);
            k.thread().interrupt();
            assertEquals(TaskState.INTERRUPTIBLE, k.taskState(), "the interrupt does not end the sleep");
            woken.set(true);
            assertTrue(k.wakeUpProcess());
            assertTrue(interruptedAfter.get(10, TimeUnit.SECONDS));
            Waits.within().until(k::hasExited); // it returns on its own (kthreadd reaps it: no kthread_stop)
        });
    }

    @Test
    void scheduleTimeoutTimesOutOnlyWhenTheClockPassesTheDeadline() throws Exception {
        CompletableFuture<Boolean> woken = new CompletableFuture<>();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            woken.complete(self.scheduleTimeoutInterruptible(TimeUnit.SECONDS.toNanos(30)));
            return sleepUntilStopped(self);
        });
        Waits.within().until(() -> clock.sleepers() > 0);

        long parks = clock.parks();
        clock.advance(29, TimeUnit.SECONDS);
        // the advance woke the sleeper; it found its deadline ahead and began another timed sleep (had it timed
        // out, it would have returned and be asleep in schedule(), not on the clock)
        Waits.within().until(() -> clock.parks() > parks && clock.sleepers() > 0);
        assertFalse(woken.isDone(), "deadline not reached: the kthread cannot have returned");

        clock.advance(1, TimeUnit.SECONDS);
        assertFalse(woken.get(10, TimeUnit.SECONDS), "timed out, not woken");
        k.stop();
    }

    @Test
    void scheduleTimeoutReturnsTrueWhenWokenBeforeTheDeadline() throws Exception {
        CompletableFuture<Boolean> woken = new CompletableFuture<>();
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            woken.complete(self.scheduleTimeoutInterruptible(TimeUnit.SECONDS.toNanos(30)));
            return sleepUntilStopped(self);
        });
        Waits.within().until(() -> clock.sleepers() > 0);
        assertTrue(k.wakeUpProcess());
        assertTrue(woken.get(10, TimeUnit.SECONDS));
        assertEquals(0, clock.nanoTime(), "no time passed");
        k.stop();
    }

    @Test
    void stopEndsATimedSleepWithoutTheClockMoving() {
        Kthread k = kthreadd.run("btrfs-transaction", self -> {
            while (!self.shouldStop()) {
                self.scheduleTimeoutInterruptible(TimeUnit.SECONDS.toNanos(30));
            }
            return 7;
        });
        Waits.within().until(() -> clock.sleepers() > 0);
        assertEquals(7, k.stop());
        assertEquals(0, clock.nanoTime());
        assertEquals(0, clock.sleepers());
    }

    @Test
    void scheduleTimeoutOnTheSystemClock() throws Exception {
        Kthreadd real = new Kthreadd(KernelClock.SYSTEM, log, sched, threads);
        try {
            CompletableFuture<Boolean> woken = new CompletableFuture<>();
            long start = System.nanoTime();
            Kthread k = real.run("btrfs-transaction", self -> {
                woken.complete(self.scheduleTimeoutInterruptible(TimeUnit.MILLISECONDS.toNanos(20)));
                return sleepUntilStopped(self);
            });
            assertFalse(woken.get(10, TimeUnit.SECONDS));
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
        assertEquals(2, kthreadd.liveThreads().size());
        a.stop();
        b.stop();
        assertEquals(List.of(), kthreadd.liveThreads(), "both threads went back to the pool");
        assertEquals(2, threads.idleThreads());
    }

    @Test
    void twoModulesShareThePoolsThreads() {
        Kthreadd other = new Kthreadd(clock, log, new Sched(), threads);
        try {
            for (int i = 0; i < 20; i++) {
                Kthreadd k = i % 2 == 0 ? kthreadd : other;
                Kthread t = k.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
                assertEquals(0, t.stop());
            }
            assertEquals(1, threads.threadsCreated(), "one real thread served both modules' kthreads in turn");
            assertEquals(10, other.kthreadsStarted());
        } finally {
            other.shutdown(5_000);
        }
        assertEquals(List.of(), other.liveThreads());
    }

    @Test
    void theThreadIsNamedForTheKthreadWhileItServes() {
        AtomicReference<String> nameInside = new AtomicReference<>();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            nameInside.set(Thread.currentThread().getName());
            return sleepUntilStopped(self);
        });
        Thread t = k.thread();
        Waits.within().until(() -> nameInside.get() != null);
        assertEquals("btrfs-cleaner", nameInside.get());
        assertEquals("btrfs-cleaner", t.getName());
        assertTrue(t.isDaemon());

        k.stop();
        assertEquals("test-idle/1", t.getName(), "renamed back when idle in the pool");
    }

    @Test
    void anUncaughtExceptionIsAnOopsAndTheDeadKthreadIsReaped() {
        long mark = log.mark();
        Kthread k = kthreadd.run("btrfs-cleaner", self -> {
            throw new IllegalStateException("boom");
        });
        Waits.within().until(k::isFreed);

        List<LogEntry> oops = log.since(mark).stream().filter(e -> e.kind() == LogEntry.Kind.OOPS).toList();
        assertEquals(1, oops.size(), log::dmesg);
        String msg = oops.get(0).message();
        assertTrue(msg.startsWith("Oops: unexpected exception in kthread btrfs-cleaner: java.lang.IllegalStateException: boom"), msg);
        assertTrue(msg.contains("Call Trace:"), msg);
        assertEquals("btrfs-cleaner", oops.get(0).thread());
        assertTrue(log.taints().contains(Taint.DIE));
        // close_ctree's kthread_park of the dead cleaner: reported, not a hang and not an IllegalStateException
        KernelOops parkOops = assertThrows(KernelOops.class, k::park);
        assertTrue(parkOops.getMessage().contains("use-after-free in kthread_park"), parkOops.getMessage());
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
        Waits.within().until(k::hasExited);
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
            return sleepUntilStopped(self);
        });
        Waits.within().until(() -> caught.get() != null);
        assertEquals(0, k.stop());
        assertInstanceOf(IllegalStateException.class, caught.get());
    }

    @Test
    void afterShutdownNoThreadServesTheModule() {
        for (int i = 0; i < 3; i++) {
            Kthread k = kthreadd.run("btrfs-k" + i, KthreadTest::sleepUntilStopped);
            awaitState(k, TaskState.INTERRUPTIBLE);
        }
        List<Kthread> stopped = List.of(
            kthreadd.run("btrfs-a", KthreadTest::sleepUntilStopped),
            kthreadd.run("btrfs-b", KthreadTest::sleepUntilStopped));
        stopped.forEach(Kthread::stop);
        assertEquals(3, kthreadd.liveThreads().size());

        List<String> stuck = kthreadd.shutdown(5_000);

        assertEquals(List.of("btrfs-k0", "btrfs-k1", "btrfs-k2"), stuck.stream().sorted().toList(),
            "kthreads nobody stopped are reported");
        assertEquals(List.of(), kthreadd.liveThreads());
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("btrfs-")),
            "every thread that served the module went back to the pool under its idle name");
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> kthreadd.run("btrfs-late", KthreadTest::sleepUntilStopped));
        assertTrue(e.getMessage().contains("shut down"), e.getMessage());
    }

    /**
     * Port bug (stop 36; kthreadd's bookkeeping, no kernel counterpart: the kernel's module refcount keeps rmmod out
     * while a mount runs, the port's post-panic unload does not wait for one): a kthread_run that tested the flag
     * before an unload and registered its kthread after it started a kthread the unload neither saw, asked to stop
     * nor waited for — a thread serving the module after rmmod. The unload now waits for the registration, then
     * stops that kthread with the others.
     */
    @Test
    void aKthreadStartedAcrossTheUnloadIsStoppedByIt() {
        AtomicReference<TestThread<List<String>>> unload = new AtomicReference<>();
        kthreadd.afterShutdownTest = () -> {
            unload.set(TestThread.call("rmmod", () -> kthreadd.shutdown(5_000)));
            // the unload is past its first step: waiting for the registration (or, unordered, already done)
            Waits.within().until(() -> unload.get().thread().getState() == Thread.State.BLOCKED || unload.get().done());
        };
        Kthread k = kthreadd.run("btrfs-cleaner", KthreadTest::sleepUntilStopped);
        kthreadd.afterShutdownTest = null;

        assertEquals(List.of("btrfs-cleaner"), unload.get().join(), "the unload saw the kthread the mount started");
        assertTrue(k.hasExited(), "and stopped it");
        assertEquals(List.of(), kthreadd.liveThreads());
    }

    @Test
    void shutdownAsksAForgottenKthreadToStop() {
        AtomicBoolean returned = new AtomicBoolean();
        Kthread k = kthreadd.run("btrfs-forgotten", self -> {
            sleepUntilStopped(self);
            returned.set(true);
            return 3;
        });
        awaitState(k, TaskState.INTERRUPTIBLE);
        Thread t = k.thread();

        assertEquals(List.of("btrfs-forgotten"), kthreadd.shutdown(5_000));

        assertTrue(returned.get());
        assertEquals("test-idle/1", t.getName(), "the thread went back to the pool");
        assertTrue(k.hasExited());
    }

    @Test
    void manualClockRefusesToGoBackwards() {
        assertThrows(IllegalArgumentException.class, () -> clock.advance(-1, TimeUnit.SECONDS));
        clock.advance(1500, TimeUnit.MILLISECONDS);
        assertEquals(1_500_000_000L, clock.nanoTime());
        assertEquals(1, clock.seconds());
    }

    @Test
    void theLatencyModelsWakeUpCostDelaysAWokenKthread() throws Exception {
        long cost = TimeUnit.MILLISECONDS.toNanos(30);
        Kthreadd slow = new Kthreadd(clock, log, sched, threads, cost);
        try {
            CompletableFuture<Long> ranAt = new CompletableFuture<>();
            Kthread k = slow.run("btrfs-cleaner", self -> {
                self.setCurrentState(TaskState.INTERRUPTIBLE);
                self.schedule();
                ranAt.complete(System.nanoTime());
                return sleepUntilStopped(self);
            });
            awaitState(k, TaskState.INTERRUPTIBLE);
            long wokenAt = System.nanoTime();
            assertTrue(k.wakeUpProcess());
            assertTrue(ranAt.get(10, TimeUnit.SECONDS) - wokenAt >= cost, "a woken kthread runs the modelled wake-up latency later");
            k.stop();
        } finally {
            slow.shutdown(5_000);
        }
    }

    /**
     * A filesystem's kthread (kthread_run with its fs_info) runs as serving that filesystem's device, so a listener
     * watching several filesystems knows its arrivals; an exception escaping it is its oops, naming the kthread and the
     * device ("Comm: btrfs-uuid (device sdx)"), not a kworker's "Workqueue:" line; the lent thread serves nobody after.
     */
    @Test
    void aFilesystemsKthreadServesItsDeviceAndItsOopsSaysSo() {
        AtomicReference<String> served = new AtomicReference<>();
        Kthread k = kthreadd.run("btrfs-uuid", Role.KTHREAD, "sdx", self -> {
            served.set(WorkOwner.device());
            throw new IllegalStateException("port: boom");
        });
        Waits.within().until(k::hasExited);
        assertEquals("sdx", served.get());
        List<LogEntry> oopses = log.matching(e -> e.kind() == LogEntry.Kind.OOPS);
        assertEquals(1, oopses.size(), log.entries().toString());
        assertTrue(oopses.get(0).message().contains("\nComm: btrfs-uuid (device sdx)"), oopses.get(0).message());
        assertFalse(oopses.get(0).message().contains("Workqueue:"), oopses.get(0).message());
        AtomicReference<String> after = new AtomicReference<>("unset");
        Kthread next = kthreadd.run("btrfs-cleaner", self -> {
            after.set(WorkOwner.device());
            return 0;
        });
        Waits.within().until(next::hasExited);
        assertNull(after.get(), "a kthread started without a device serves nobody, whichever thread it was lent");
    }
}
