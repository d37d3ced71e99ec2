package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.jbtrfs.core.ModelCheck;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.junit.jupiter.api.Test;

/**
 * {@link InFlight}'s Dekker pair under Lincheck's model checker: a flusher or drainer registers in
 * {@code waiters} and then re-reads its counter under the lock; {@link InFlight#exit} decrements the
 * counter and then reads {@code waiters}, signalling only when it saw one. A lost signal is an execution
 * in which flush or drain never returns, reported as a hang. With a late work queued and completed while
 * the flush runs, whichever colour it reads (before or after the flip) the flush returns and both colours
 * drain. Checked against a mutation: reading {@code waiters} before the decrements in exit() is reported
 * as a hang by each of the four scenarios. (That a flush does not wait for a work queued after it started,
 * one that stays blocked, is LifecycleTest.flushDoesNotWaitForLaterWork: the model checker cannot tell
 * "after" from "concurrent" in one scenario.)
 */
public class InFlightLincheckTest {
    private final InFlight inFlight = new InFlight();
    /** Colours of the works queued by the operations below (plain fields: each written and read by one thread). */
    private int first;
    private int second;
    private int late;

    public InFlightLincheckTest() { }

    @Operation
    public void queueFirst() { first = inFlight.enter(); }

    @Operation
    public void queueSecond() { second = inFlight.enter(); }

    @Operation
    public void completeFirst() { inFlight.exit(first); }

    @Operation
    public void completeSecond() { inFlight.exit(second); }

    /** A work queued and completed while a flush may be running (before, across or after its flip). */
    @Operation
    public void queueAndCompleteLate() {
        late = inFlight.enter();
        inFlight.exit(late);
    }

    @Operation
    public void flush() { inFlight.flush(); }

    @Operation
    public void drain() { inFlight.drain(); }

    /** Every work that was queued completed, and the counters agree. */
    @Validate
    public void nothingInFlight() { assertEquals(0, inFlight.total()); }

    @Test
    void aFlushIsWokenByTheCompletionItWaitsFor() {
        ModelCheck.check(getClass(), List.of("queueFirst"), List.of(List.of("flush"), List.of("completeFirst")));
    }

    @Test
    void aDrainIsWokenByTheLastOfTwoCompletions() {
        ModelCheck.check(getClass(), List.of("queueFirst", "queueSecond"),
            List.of(List.of("drain"), List.of("completeFirst", "completeSecond")));
    }

    @Test
    void aFlushReturnsWhateverColourALateWorkIsCountedIn() {
        ModelCheck.check(getClass(), List.of("queueFirst"),
            List.of(List.of("flush"), List.of("completeFirst", "queueAndCompleteLate")));
    }

    @Test
    void twoFlushersAreSerializedAndBothWoken() {
        ModelCheck.check(getClass(), List.of("queueFirst"),
            List.of(List.of("flush"), List.of("flush"), List.of("completeFirst")), 60);
    }
}
