package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/** wait_var_event / wake_up_var on an atomic count: the wait ends at the decrement that reaches 0, not before. */
class AtomicVarTest {
    private final Sched sched = new Sched();
    private final AtomicVar v = new AtomicVar(sched);

    @Test
    void theWaitReturnsAtOnceAtZero() {
        v.waitForZero("nothing");
        assertEquals(0, v.get());
    }

    @Test
    void aWaiterIsReleasedByTheDecrementThatReachesZero() {
        v.inc();
        v.inc();
        TestThread<Void> waiter = TestThread.run("waiter", () -> v.waitForZero("wait_var_event(test)"));
        Waits.within().until(() -> "wait_var_event(test)".equals(sched.blocked().get("waiter")));
        v.dec();
        assertFalse(waiter.done(), "one left");
        assertEquals("wait_var_event(test)", sched.blocked().get("waiter"));
        v.dec();
        waiter.join();
        assertEquals(0, v.get());
    }
}
