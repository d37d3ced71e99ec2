package org.jbtrfs.core.kernel;

import org.jbtrfs.core.ModelCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.junit.jupiter.api.Test;

/**
 * The Dekker pair of {@link FlagWord}: {@code waitOnBit} publishes itself in {@code waiters} and re-tests
 * the bit under the monitor; {@code clearAndWakeUpBit} clears the bit and then reads {@code waiters}.
 * Lincheck's model checker runs a waiter and a waker (A starts set) under every interleaving it explores;
 * a lost wake-up is an execution in which the waiter never returns, which the checker reports as a hang.
 * Checked: reading {@code waiters} before the clear (the mutation a "cheaper" waker would make) is
 * reported within the first few dozen schedules.
 *
 * <p>Two words: a plain one (waitPlain) and a module's word, which sleeps through {@link Sched#waitUntil}
 * (the path every kernel wait_on_bit of the port takes). With three threads, a waiter on each of A and B
 * and a waker clearing A then B: one wait queue per word, so the waker of A also wakes B's waiter, which
 * must go back to sleep and still be woken by the clear of B.
 */
public class FlagWordLincheckTest {
    private final Sched sched = new Sched();
    private final FlagWord<Bit> plain = new FlagWord<>();
    private final FlagWord<Bit> module = new FlagWord<>(sched);

    public FlagWordLincheckTest() {
        for (FlagWord<Bit> w : List.of(plain, module)) {
            w.set(Bit.A);
            w.set(Bit.B);
        }
    }

    @Operation
    public void waitPlainA() { plain.waitOnBit(Bit.A); }

    @Operation
    public void wakePlainA() { plain.clearAndWakeUpBit(Bit.A); }

    @Operation
    public void waitModuleA() { module.waitOnBit(Bit.A); }

    @Operation
    public void waitModuleB() { module.waitOnBit(Bit.B); }

    @Operation
    public void wakeModuleA() { module.clearAndWakeUpBit(Bit.A); }

    @Operation
    public void wakeModuleB() { module.clearAndWakeUpBit(Bit.B); }

    /** After every execution: nobody is left counted as a waiter, on any bit. */
    @Validate
    public void nobodyLeftWaiting() {
        for (FlagWord<Bit> w : List.of(plain, module)) {
            assertFalse(w.hasWaiters());
            assertEquals(0, w.waiters(Bit.A));
            assertEquals(0, w.waiters(Bit.B));
        }
        assertEquals(0, sched.sleepers());
    }

    @Test
    void aWaiterOnAPlainWordIsAlwaysWoken() {
        ModelCheck.check(getClass(), List.of(), List.of(List.of("waitPlainA"), List.of("wakePlainA")));
    }

    @Test
    void aWaiterOnAModulesWordIsAlwaysWoken() {
        ModelCheck.check(getClass(), List.of(), List.of(List.of("waitModuleA"), List.of("wakeModuleA")));
    }

    @Test
    void waitersOnTwoBitsOfOneWaitQueueAreEachWokenByTheirOwnBit() {
        ModelCheck.check(getClass(), List.of(),
            List.of(List.of("waitModuleA"), List.of("waitModuleB"), List.of("wakeModuleA", "wakeModuleB")), 60);
    }
}
