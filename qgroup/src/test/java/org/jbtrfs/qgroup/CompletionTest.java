package org.jbtrfs.qgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/** struct completion semantics the rescan relies on. */
class CompletionTest {
    @Test
    void completeAllWakesEveryWaiterAndLaterWaitsReturnAtOnceUntilReinit() throws Exception {
        Completion c = new Completion();
        assertFalse(c.isDone(), "init_completion: not done");
        TestThread<Void> a = TestThread.run("waiter-a", () -> c.await(false));
        TestThread<Void> b = TestThread.run("waiter-b", () -> c.await(true));
        Waits.within(Duration.ofSeconds(10)).until(() -> c.waiters() == 2);
        c.completeAll();
        a.join();
        b.join();
        assertEquals(0, c.waiters());
        assertTrue(c.await(false), "done stays done (UINT_MAX)");
        assertTrue(c.await(TimeUnit.MILLISECONDS.toNanos(1)));
        c.reinit();
        assertFalse(c.isDone());
        assertFalse(c.await(TimeUnit.MILLISECONDS.toNanos(1)), "re-armed: a timed wait times out");
    }

    @Test
    void anInterruptibleWaitReturnsFalseOnInterruptAnUninterruptibleOneKeepsWaiting() throws Exception {
        Completion c = new Completion();
        AtomicReference<Boolean> interruptible = new AtomicReference<>();
        AtomicBoolean flagKept = new AtomicBoolean();
        TestThread<Void> i = TestThread.run("waiter-i", () -> interruptible.set(c.await(true)));
        TestThread<Void> u = TestThread.run("waiter-u", () -> {
            c.await(false);
            flagKept.set(Thread.currentThread().isInterrupted());
        });
        Waits.within(Duration.ofSeconds(10)).until(() -> c.waiters() == 2);
        i.thread().interrupt();
        u.thread().interrupt();
        i.join();
        assertEquals(Boolean.FALSE, interruptible.get());
        // the uninterruptible waiter consumed its interrupt (its flag is clear again) and waits in await once more
        Waits.within(Duration.ofSeconds(10))
            .until(() -> c.waiters() == 1 && !u.thread().isInterrupted() && Blocked.in(u.thread(), "Completion", "await"));
        u.assertRunning(); // TASK_UNINTERRUPTIBLE: still waiting
        c.completeAll();
        u.join();
        assertTrue(flagKept.get(), "the interrupt is re-asserted on return");
    }

    /**
     * A module's completion: both waits sleep through Sched, so a panic ends them and the scheduler names them.
     * The interruptible one (quota rescan-wait) slept on a plain monitor before: after a panic nothing ended it.
     */
    @Test
    void aPanicEndsBothWaitsOfAModulesCompletionAnInterruptStillEndsTheInterruptibleOne() {
        try (org.jbtrfs.core.kernel.Kernel kernel = new org.jbtrfs.core.kernel.Kernel("btrfs", org.jbtrfs.core.KernelConfig.defaults())) {
            org.jbtrfs.core.kernel.Sched sched = kernel.sched();
            Completion c = new Completion(sched);
            TestThread<Boolean> interrupted = TestThread.call("rescan-wait-i", () -> c.await(true));
            Waits.within(Duration.ofSeconds(10)).until(() -> sched.blocked().containsKey("rescan-wait-i"));
            assertEquals("wait_for_completion_interruptible(qgroup_rescan_completion)", sched.blocked().get("rescan-wait-i"));
            interrupted.thread().interrupt();
            assertEquals(Boolean.FALSE, interrupted.join(), "-ERESTARTSYS");

            TestThread<Boolean> i = TestThread.call("rescan-wait", () -> c.await(true));
            TestThread<Boolean> u = TestThread.call("remount", () -> c.await(false));
            Waits.within(Duration.ofSeconds(10)).until(() -> sched.blocked().size() == 2);
            kernel.panic("test");
            org.junit.jupiter.api.Assertions.assertInstanceOf(org.jbtrfs.core.KernelPanic.class, i.failure());
            org.junit.jupiter.api.Assertions.assertInstanceOf(org.jbtrfs.core.KernelPanic.class, u.failure());
        }
    }
}
