package org.jbtrfs.core;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Shared waiting helpers: every wait in these tests is bounded and polls, none sleeps to win a race. */
public final class TestSupport {
    public static final Duration TIMEOUT = Duration.ofSeconds(10);

    private TestSupport() { }

    /** Awaits a latch from inside a thread function, failing instead of hanging. */
    public static void awaitLatch(CountDownLatch latch) {
        try {
            if (!latch.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("latch not released within " + TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A started daemon thread, so a test that fails while it is blocked does not hang the fork. */
    public static Thread start(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    public static void join(Thread t) throws InterruptedException {
        t.join(TIMEOUT.toMillis());
        if (t.isAlive()) {
            throw new AssertionError(t.getName() + " still running after " + TIMEOUT + ": " + t.getState());
        }
    }

    /**
     * Runs {@code action} in two threads released together: both spin until both are ready, so on
     * two cores they really overlap (a blocking barrier wakes them tens of microseconds apart).
     */
    public static void race(Runnable action) throws InterruptedException {
        java.util.concurrent.atomic.AtomicInteger ready = new java.util.concurrent.atomic.AtomicInteger();
        Runnable aligned = () -> {
            ready.incrementAndGet();
            while (ready.get() < 2) {
                Thread.onSpinWait();
            }
            action.run();
        };
        Thread a = start("racer-a", aligned);
        Thread b = start("racer-b", aligned);
        join(a);
        join(b);
    }

    public enum Bit { A, B, C }
}
