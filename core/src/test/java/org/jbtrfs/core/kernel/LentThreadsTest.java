package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/** The JVM-wide pool of real threads that modules borrow for kthreads and kworkers. */
class LentThreadsTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void aReturnedThreadServesTheNextJobUnderItsNameAndIsRenamedBack() {
        LentThreads pool = new LentThreads("t-idle");
        AtomicReference<String> name = new AtomicReference<>();
        LentThreads.Lease a = pool.lend("btrfs-cleaner", () -> name.set(Thread.currentThread().getName()));
        assertTrue(a.await(10 * SECOND));
        assertEquals("btrfs-cleaner", name.get());
        LentThreads.Lease b = pool.lend("btrfs-transaction", () -> name.set(Thread.currentThread().getName()));
        assertTrue(b.await(10 * SECOND));
        assertSame(a.thread(), b.thread(), "the parked thread was reused");
        assertEquals(1, pool.threadsCreated());
        assertEquals("t-idle/1", a.thread().getName());
        assertTrue(a.thread().isDaemon());
    }

    @Test
    void returnedRunsWithTheThreadAlreadyBackInThePool() {
        LentThreads pool = new LentThreads("t-idle");
        AtomicBoolean backInPool = new AtomicBoolean();
        LentThreads.Lease l = pool.lend("job", () -> { }, () -> backInPool.set(pool.idleThreads() == 1));
        assertTrue(l.await(10 * SECOND));
        assertTrue(backInPool.get());
    }

    @Test
    void aThrowingJobDoesNotKillTheThreadAndAStrayInterruptDoesNotReachTheNextJob() {
        LentThreads pool = new LentThreads("t-idle");
        LentThreads.Lease a = pool.lend("boom", () -> {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("boom");
        });
        assertTrue(a.await(10 * SECOND));
        AtomicBoolean interrupted = new AtomicBoolean(true);
        LentThreads.Lease b = pool.lend("next", () -> interrupted.set(Thread.currentThread().isInterrupted()));
        assertTrue(b.await(10 * SECOND));
        assertSame(a.thread(), b.thread());
        assertFalse(interrupted.get());
    }

    @Test
    void awaitIsBoundedForAJobThatDoesNotReturn() throws Exception {
        LentThreads pool = new LentThreads("t-idle");
        CountDownLatch gate = new CountDownLatch(1);
        LentThreads.Lease l = pool.lend("stuck", () -> TestThread.await(gate));
        assertFalse(l.await(TimeUnit.MILLISECONDS.toNanos(50)));
        assertFalse(l.isDone());
        gate.countDown();
        assertTrue(l.await(10 * SECOND));
    }

    @Test
    void anIdleThreadRetiresAndLeavesThePool() {
        LentThreads pool = new LentThreads("t-idle", TimeUnit.MILLISECONDS.toNanos(20));
        LentThreads.Lease l = pool.lend("once", () -> { });
        assertTrue(l.await(10 * SECOND));
        Waits.within().until(() -> !l.thread().isAlive());
        assertEquals(0, pool.idleThreads());
        LentThreads.Lease again = pool.lend("again", () -> { });
        assertTrue(again.await(10 * SECOND));
        assertEquals(2, pool.threadsCreated(), "a retired thread is replaced by a new one");
    }
}
