package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kernel: poll_idle() — the bounded poll a thread does before it blocks, where the module models no
 * wake-up cost. It changes what a wake-up costs, never what wakes a thread.
 */
class IdlePollTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private Boolean was;

    /** These tests poll on purpose: whatever else the machine runs (ForeignLoad would turn polling off). */
    @BeforeEach
    void assumeIdleCpus() { was = ForeignLoad.override(false); }

    @AfterEach
    void restore() { ForeignLoad.override(was); }

    @Test
    void otherProcessesShareIsWhatIsNeitherIdleNorOurs() {
        assertEquals(0.4, ForeignLoad.share(100, 50, 10), 1e-9);
        assertEquals(0.0, ForeignLoad.share(100, 95, 10), 1e-9, "tick rounding never makes it negative");
    }

    @Test
    void noPollWhileOtherProcessesKeepTheCpusBusy() {
        ForeignLoad.override(true);
        try {
            AtomicInteger tests = new AtomicInteger();
            long t0 = System.nanoTime();
            assertFalse(IdlePoll.poll(() -> tests.incrementAndGet() < 0, 60 * SECOND));
            assertEquals(1, tests.get());
            assertTrue(System.nanoTime() - t0 < 30 * SECOND, "returned at once, not after its 60 s");
        } finally {
            ForeignLoad.override(false);
        }
    }

    @Test
    void aConditionThatHoldsReturnsAtOnceWithoutEvaluatingAgain() {
        AtomicInteger tests = new AtomicInteger();
        assertTrue(IdlePoll.poll(() -> tests.incrementAndGet() > 0, 10 * SECOND));
        assertEquals(1, tests.get());
    }

    @Test
    void noPollMeansOneTestAndNoWait() {
        AtomicInteger tests = new AtomicInteger();
        assertFalse(IdlePoll.poll(() -> tests.incrementAndGet() < 0, 0));
        assertEquals(1, tests.get());
    }

    @Test
    void aPollThatIsNeverWokenGivesUpAfterItsTime() {
        long poll = TimeUnit.MILLISECONDS.toNanos(5);
        long t0 = System.nanoTime();
        assertFalse(IdlePoll.poll(() -> false, poll));
        assertTrue(System.nanoTime() - t0 >= poll, "polled its whole time");
    }

    @Test
    void aWakeUpFromAnotherThreadEndsALongPoll() throws Exception {
        AtomicBoolean woken = new AtomicBoolean();
        TestThread<Boolean> poller = TestThread.call("poller", () -> IdlePoll.poll(woken::get, 60 * SECOND));
        woken.set(true);
        // the poll ends on the wake-up, not on its 60 s bound (join's bound is shorter)
        assertTrue(poller.join(Duration.ofSeconds(30)));
    }

    @Test
    void anInterruptEndsThePollAndStaysSet() throws Exception {
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        TestThread<Boolean> poller = TestThread.call("poller", () -> {
            boolean woken = IdlePoll.poll(() -> false, 60 * SECOND);
            stillInterrupted.set(Thread.currentThread().isInterrupted());
            return woken;
        });
        poller.thread().interrupt();
        // the interrupt ends the 60 s poll (join's bound is shorter)
        assertFalse(poller.join(Duration.ofSeconds(30)));
        assertTrue(stillInterrupted.get(), "the caller's wait applies its own interrupt policy");
    }

    @Test
    void onlyAModuleWithoutAWakeUpCostPolls() {
        assertEquals(IdlePoll.NANOS, IdlePoll.forWakeup(0));
        assertEquals(0, IdlePoll.forWakeup(TimeUnit.MICROSECONDS.toNanos(200)), "virtio's modelled wake-up: block at once");
    }

    @Test
    void aPooledThreadThatPollsForItsNextJobServesIt() {
        LentThreads pool = new LentThreads("t-idle");
        AtomicBoolean second = new AtomicBoolean();
        LentThreads.Lease a = pool.lend("first", () -> { }, null, 60 * SECOND);
        assertTrue(a.await(10 * SECOND));
        // the thread now polls for up to 60 s: a job handed meanwhile is seen by the poll
        Waits.within().until(() -> a.thread().getState() == Thread.State.RUNNABLE && pool.idleThreads() == 1);
        LentThreads.Lease b = pool.lend("second", () -> second.set(true));
        assertTrue(b.await(10 * SECOND));
        assertTrue(second.get());
        assertSame(a.thread(), b.thread());
        assertEquals(1, pool.threadsCreated());
    }
}
