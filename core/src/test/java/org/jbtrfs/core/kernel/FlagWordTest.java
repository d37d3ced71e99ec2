package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

class FlagWordTest {
    private final FlagWord<Bit> word = new FlagWord<>();

    @Test
    void setTestClearAreIndependentPerBit() {
        word.set(Bit.A);
        word.set(Bit.C);
        assertTrue(word.test(Bit.A));
        assertFalse(word.test(Bit.B));
        assertTrue(word.test(Bit.C));
        assertEquals(0b101, word.raw());
        assertEquals("0x5", word.toString());
        word.clear(Bit.A);
        assertFalse(word.test(Bit.A));
        assertTrue(word.test(Bit.C));
    }

    @Test
    void testAndSetAndTestAndClearReturnTheOldValue() {
        assertFalse(word.testAndSet(Bit.B), "was clear");
        assertTrue(word.testAndSet(Bit.B), "was already set");
        assertTrue(word.test(Bit.B));
        assertTrue(word.testAndClear(Bit.B), "was set");
        assertFalse(word.testAndClear(Bit.B), "was already clear");
        assertFalse(word.test(Bit.B));
    }

    @Test
    void waitOnBitReturnsAtOnceWhenTheBitIsClear() {
        word.set(Bit.B); // another bit being set must not matter
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> word.waitOnBit(Bit.A));
        assertFalse(word.test(Bit.A));
    }

    @Test
    void clearAndWakeUpBitReleasesABlockedWaiter() throws Exception {
        word.set(Bit.A);
        AtomicBoolean returned = new AtomicBoolean();
        TestThread<Void> waiter = TestThread.run("waiter", () -> {
            word.waitOnBit(Bit.A);
            returned.set(true);
        });
        // counted as a waiter on A: inside waitOnBit, having tested the bit set under the wait queue's monitor
        Waits.within().until(() -> word.waiters(Bit.A) == 1);
        assertFalse(returned.get(), "the bit is still set");

        word.clearAndWakeUpBit(Bit.A);

        waiter.join();
        assertTrue(returned.get());
        assertFalse(word.test(Bit.A));
    }

    @Test
    void aWaiterThatMissedAPlainClearIsReleasedByALaterClearAndWakeUpBit() throws Exception {
        // clear_bit() does not wake; the kernel code that needs a waiter released must use
        // clear_and_wake_up_bit(). Only the positive half is asserted: once woken, the waiter
        // sees the already-clear bit and returns.
        word.set(Bit.A);
        TestThread<Void> waiter = TestThread.run("waiter", () -> word.waitOnBit(Bit.A));
        Waits.within().until(() -> word.waiters(Bit.A) == 1);

        word.clear(Bit.A);
        assertFalse(word.test(Bit.A));
        word.clearAndWakeUpBit(Bit.A);

        waiter.join();
    }

    @Test
    void waitersOnDifferentBitsAreReleasedByTheirOwnBit() throws Exception {
        word.set(Bit.A);
        word.set(Bit.B);
        TestThread<Void> onA = TestThread.run("on-a", () -> word.waitOnBit(Bit.A));
        TestThread<Void> onB = TestThread.run("on-b", () -> word.waitOnBit(Bit.B));
        Waits.within().until(() -> word.waiters(Bit.A) == 1 && word.waiters(Bit.B) == 1);

        word.clearAndWakeUpBit(Bit.A);
        onA.join();
        // onB was woken too (one wait queue per word, like the kernel's hashed bit wait queues) and went back to
        // sleep: it is still counted as B's waiter, A has none (FlagWordLincheckTest explores this interleaving-wise).
        assertEquals(0, word.waiters(Bit.A));
        assertEquals(1, word.waiters(Bit.B));
        onB.assertRunning();

        word.clearAndWakeUpBit(Bit.B);
        onB.join();
    }

    @Test
    void waitOnBitIsUninterruptibleAndReassertsTheInterrupt() throws Exception {
        word.set(Bit.A);
        AtomicBoolean interruptedOnReturn = new AtomicBoolean();
        TestThread<Void> waiter = TestThread.run("waiter", () -> {
            word.waitOnBit(Bit.A);
            interruptedOnReturn.set(Thread.currentThread().isInterrupted());
        });
        Waits.within().until(() -> word.waiters(Bit.A) == 1);
        waiter.thread().interrupt();
        // The interrupt does not end the wait: the waiter consumed it (its flag is clear again) and is back in
        // Object.wait inside waitOnBit, still counted as A's waiter.
        Waits.within().until(() -> !waiter.thread().isInterrupted() && Blocked.in(waiter.thread(), "FlagWord", "waitPlain"));
        assertEquals(1, word.waiters(Bit.A));
        assertTrue(word.test(Bit.A));

        word.clearAndWakeUpBit(Bit.A);
        waiter.join();
        assertTrue(interruptedOnReturn.get(), "deferred interrupt re-asserted on return");
    }

    /**
     * No lost wake-up on real threads and the real memory model (the JIT-compiled code, two cores), as a
     * complement to {@link FlagWordLincheckTest}, which explores the interleavings of the same Dekker pair
     * exhaustively but interpreted and sequentially consistent. The waker clears only a bit it saw set, and
     * the waiter sets it again only after its wait returned, so round i of one side pairs with round i of
     * the other; a lost wake-up leaves the waiter stuck (no round completes for 10 s: the test fails). Every 64th round the waker first
     * waits until the waiter is counted in waitOnBit (it tested the bit set under the monitor and sleeps
     * there), so the sleeping path and its notify are exercised a known number of times whatever the
     * scheduling; the other rounds race freely.
     */
    @Test
    void noLostWakeUpOverAHundredThousandRounds() throws Exception {
        final int rounds = 100_000;
        AtomicInteger waited = new AtomicInteger();
        AtomicInteger wokenFromSleep = new AtomicInteger();
        TestThread<Void> waker = TestThread.run("waker", () -> {
            for (int i = 0; i < rounds; i++) {
                int spins = 0;
                while (!word.test(Bit.A)) {
                    if (++spins % 1024 == 0) {
                        Thread.yield(); // two cores: let the waiter run if it was preempted
                    } else {
                        Thread.onSpinWait();
                    }
                }
                if (i % 64 == 0) {
                    while (word.waiters(Bit.A) == 0) {
                        Thread.onSpinWait();
                    }
                    wokenFromSleep.incrementAndGet();
                }
                word.clearAndWakeUpBit(Bit.A);
            }
        });
        TestThread<Void> waiter = TestThread.run("waiter", () -> {
            for (int i = 0; i < rounds; i++) {
                word.set(Bit.A);
                word.waitOnBit(Bit.A);
                waited.incrementAndGet();
            }
        });

        // a lost wake-up stops the rounds for good; a loaded machine only slows them (the whole loop took over 10 s at
        // load 15, stop 40), so the bound is on progress — some round completing within 10 s — not on the whole loop
        while (!waiter.done()) {
            int before = waited.get();
            try {
                Waits.within().until(() -> waiter.done() || waited.get() != before);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("lost wake-up: waiter stuck in round " + before + " for 10 s, word " + word, e);
            }
        }
        waiter.join();
        waker.join();
        assertEquals(rounds, waited.get());
        assertFalse(word.test(Bit.A));
        assertEquals((rounds + 63) / 64, wokenFromSleep.get(), "rounds whose waiter was asleep when woken");
        assertFalse(word.hasWaiters());
    }

    @Test
    void concurrentUpdatesOfDifferentBitsAreNotLost() throws Exception {
        final int rounds = 50_000;
        TestThread<Void> a = TestThread.run("a", () -> {
            for (int i = 0; i < rounds; i++) {
                word.set(Bit.A);
                word.clear(Bit.A);
            }
            word.set(Bit.A);
        });
        TestThread<Void> b = TestThread.run("b", () -> {
            for (int i = 0; i < rounds; i++) {
                word.testAndSet(Bit.B);
                word.testAndClear(Bit.B);
            }
            word.set(Bit.B);
        });
        a.join();
        b.join();
        assertEquals(0b011, word.raw());
    }
}
