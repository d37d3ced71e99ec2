package org.jbtrfs.qgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/** struct completion semantics the rescan relies on. */
class CompletionTest {
    private static Thread start(Runnable r) {
        Thread t = new Thread(r, "waiter");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void completeAllWakesEveryWaiterAndLaterWaitsReturnAtOnceUntilReinit() throws Exception {
        Completion c = new Completion();
        assertFalse(c.isDone(), "init_completion: not done");
        Thread a = start(() -> c.await(false));
        Thread b = start(() -> c.await(true));
        Waits.within(Duration.ofSeconds(10)).until(() -> c.waiters() == 2);
        c.completeAll();
        a.join(10_000);
        b.join(10_000);
        assertFalse(a.isAlive() || b.isAlive());
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
        Thread i = start(() -> interruptible.set(c.await(true)));
        Thread u = start(() -> {
            c.await(false);
            flagKept.set(Thread.currentThread().isInterrupted());
        });
        Waits.within(Duration.ofSeconds(10)).until(() -> c.waiters() == 2);
        i.interrupt();
        u.interrupt();
        i.join(10_000);
        assertEquals(Boolean.FALSE, interruptible.get());
        // the uninterruptible waiter consumed its interrupt (its flag is clear again) and waits in await once more
        Waits.within(Duration.ofSeconds(10))
            .until(() -> c.waiters() == 1 && !u.isInterrupted() && Blocked.in(u, "Completion", "await"));
        assertTrue(u.isAlive(), "TASK_UNINTERRUPTIBLE: still waiting");
        c.completeAll();
        u.join(10_000);
        assertTrue(flagKept.get(), "the interrupt is re-asserted on return");
    }
}
