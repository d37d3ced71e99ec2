package org.jbtrfs.core;

import static org.jbtrfs.core.TestSupport.join;
import static org.jbtrfs.core.TestSupport.start;
import static org.jbtrfs.core.TestSupport.waitUp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.TestSupport.Bit;
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
        Thread waiter = start("waiter", () -> {
            word.waitOnBit(Bit.A);
            returned.set(true);
        });
        waitUp().until(() -> waiter.getState() == Thread.State.WAITING);
        assertFalse(returned.get(), "the bit is still set");

        word.clearAndWakeUpBit(Bit.A);

        join(waiter);
        assertTrue(returned.get());
        assertFalse(word.test(Bit.A));
    }

    @Test
    void aWaiterThatMissedAPlainClearIsReleasedByALaterClearAndWakeUpBit() throws Exception {
        // clear_bit() does not wake; the kernel code that needs a waiter released must use
        // clear_and_wake_up_bit(). Only the positive half is asserted: once woken, the waiter
        // sees the already-clear bit and returns.
        word.set(Bit.A);
        Thread waiter = start("waiter", () -> word.waitOnBit(Bit.A));
        waitUp().until(() -> waiter.getState() == Thread.State.WAITING);

        word.clear(Bit.A);
        assertFalse(word.test(Bit.A));
        word.clearAndWakeUpBit(Bit.A);

        join(waiter);
    }

    @Test
    void waitersOnDifferentBitsAreReleasedByTheirOwnBit() throws Exception {
        word.set(Bit.A);
        word.set(Bit.B);
        Thread onA = start("on-a", () -> word.waitOnBit(Bit.A));
        Thread onB = start("on-b", () -> word.waitOnBit(Bit.B));
        waitUp().until(() -> onA.getState() == Thread.State.WAITING && onB.getState() == Thread.State.WAITING);

        word.clearAndWakeUpBit(Bit.A);
        join(onA);
        // onB was woken too (one wait queue per word, like the kernel's hashed bit wait queues) and went back to sleep.
        waitUp().until(() -> onB.getState() == Thread.State.WAITING);
        assertTrue(onB.isAlive());

        word.clearAndWakeUpBit(Bit.B);
        join(onB);
    }

    @Test
    void waitOnBitIsUninterruptibleAndReassertsTheInterrupt() throws Exception {
        word.set(Bit.A);
        AtomicBoolean interruptedOnReturn = new AtomicBoolean();
        Thread waiter = start("waiter", () -> {
            word.waitOnBit(Bit.A);
            interruptedOnReturn.set(Thread.currentThread().isInterrupted());
        });
        waitUp().until(() -> waiter.getState() == Thread.State.WAITING);
        waiter.interrupt();
        // The interrupt does not end the wait: the bit is still set, so the waiter waits again.
        waitUp().until(() -> waiter.getState() == Thread.State.WAITING && !waiter.isInterrupted());
        assertTrue(word.test(Bit.A));

        word.clearAndWakeUpBit(Bit.A);
        join(waiter);
        assertTrue(interruptedOnReturn.get(), "deferred interrupt re-asserted on return");
    }

    @Test
    void noLostWakeUpOverAHundredThousandRounds() throws Exception {
        final int rounds = 100_000;
        AtomicInteger waited = new AtomicInteger();
        AtomicLong blocked = new AtomicLong();
        // The waker clears only a bit it saw set, and the waiter sets it again only after its wait
        // returned, so round i of one side pairs with round i of the other.
        Thread waker = start("waker", () -> {
            for (int i = 0; i < rounds; i++) {
                int spins = 0;
                while (!word.test(Bit.A)) {
                    if (++spins % 1024 == 0) {
                        Thread.yield(); // two cores: let the waiter run if it was preempted
                    } else {
                        Thread.onSpinWait();
                    }
                }
                word.clearAndWakeUpBit(Bit.A);
            }
        });
        Thread waiter = start("waiter", () -> {
            for (int i = 0; i < rounds; i++) {
                word.set(Bit.A);
                if (word.test(Bit.A)) {
                    blocked.incrementAndGet(); // likely to take the sleeping path of waitOnBit
                }
                word.waitOnBit(Bit.A);
                waited.incrementAndGet();
            }
        });

        waiter.join(TestSupport.TIMEOUT.toMillis());
        assertFalse(waiter.isAlive(), () -> "lost wake-up: waiter stuck in round " + waited.get() + ", word " + word);
        join(waker);
        assertEquals(rounds, waited.get());
        assertFalse(word.test(Bit.A));
        assertTrue(blocked.get() > 0, "the race between wait and wake was exercised");
    }

    @Test
    void concurrentUpdatesOfDifferentBitsAreNotLost() throws Exception {
        final int rounds = 50_000;
        Thread a = start("a", () -> {
            for (int i = 0; i < rounds; i++) {
                word.set(Bit.A);
                word.clear(Bit.A);
            }
            word.set(Bit.A);
        });
        Thread b = start("b", () -> {
            for (int i = 0; i < rounds; i++) {
                word.testAndSet(Bit.B);
                word.testAndClear(Bit.B);
            }
            word.set(Bit.B);
        });
        join(a);
        join(b);
        assertEquals(0b011, word.raw());
    }
}
