package org.jbtrfs.testsupport;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

/**
 * The one thread helper of jbtrfs's tests: an operation on its own named (daemon) thread — the "other side" of a
 * race, a syscall that must block — with its result or throwable captured.
 *
 * <ul>
 *   <li>{@link #join()} waits at most {@link Waits#BOUND} (or the bound given) and fails with the thread's stack
 *       and, if a describer was given ({@link #describedBy}), what the kernel says it sleeps on; it rethrows what
 *       the operation threw (unchecked as is, a checked one wrapped in an {@link AssertionError});</li>
 *   <li>{@link #assertRunning()} proves it has not returned (rethrowing its failure if it has, with the reason);</li>
 *   <li>{@link #awaitBlockedOn(String)} waits until the describer names {@code what} (the kernel's own bookkeeping:
 *       {@code Sched.blocked()}, {@code Btrfs.inspect().blockedOn()}); {@link #awaitBlockedIn} until the thread
 *       sleeps with a named frame on its stack ({@link Blocked}) — never a lapse of time.</li>
 * </ul>
 *
 * The thread is a daemon, so a test that fails while it is blocked does not hang the fork; the modules' fixtures
 * unload (and so release) whatever it waits on.
 */
public final class TestThread<T> {
    /** An operation that returns nothing and may throw anything. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    private final Thread thread;
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private volatile UnaryOperator<String> describer = name -> null;

    private TestThread(String name, Callable<T> body) {
        thread = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        thread.setDaemon(true);
    }

    /** Starts {@code body} on a new thread named {@code name}; {@link #join()} returns its result. */
    public static <T> TestThread<T> call(String name, Callable<T> body) {
        TestThread<T> t = new TestThread<>(name, body);
        t.thread.start();
        return t;
    }

    /** Starts {@code body} on a new thread named {@code name}. */
    public static TestThread<Void> run(String name, Body body) {
        return call(name, () -> {
            body.run();
            return null;
        });
    }

    /**
     * Names what the thread sleeps on, for {@link #awaitBlockedOn} and for the failure messages: {@code describer}
     * maps a thread name to the kernel's word for its wait, or null — e.g.
     * {@code name -> fs.inspect().blockedOn().get(name)} or {@code name -> kernel.sched().blocked().get(name)}.
     */
    public TestThread<T> describedBy(UnaryOperator<String> describer) {
        this.describer = Objects.requireNonNull(describer, "describer");
        return this;
    }

    public Thread thread() { return thread; }

    public String name() { return thread.getName(); }

    /** True once the operation returned or threw. */
    public boolean done() { return result.isDone(); }

    /** The result, once the operation returns within {@link Waits#BOUND}; what it threw is rethrown. */
    public T join() { return join(Waits.BOUND); }

    /** The result, once the operation returns within {@code bound}; what it threw is rethrown. */
    public T join(Duration bound) {
        try {
            return result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError(name() + " did not finish within " + bound + "; " + where(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while joining " + name(), e);
        }
    }

    /** What the operation threw, once it ends within {@link Waits#BOUND}; fails if it returned normally. */
    public Throwable failure() {
        try {
            result.get(Waits.BOUND.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError(name() + " did not finish within " + Waits.BOUND + "; " + where(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while joining " + name(), e);
        }
        throw new AssertionError(name() + " returned normally; expected it to fail");
    }

    /** Asserts the operation has not returned: it still runs (or sleeps). Fails with what it returned or threw. */
    public TestThread<T> assertRunning() {
        if (result.isDone()) {
            String what;
            try {
                what = "returned " + result.getNow(null);
            } catch (java.util.concurrent.CompletionException e) {
                throw new AssertionError(name() + " finished while it should be blocked: it threw", e.getCause());
            }
            throw new AssertionError(name() + " finished while it should be blocked: it " + what);
        }
        return this;
    }

    /**
     * Waits until the describer ({@link #describedBy}) names {@code what} for this thread — the kernel's own word
     * for the wait ("wait_current_trans", "wait_on_bit(CLEANER_RUNNING)", ...) — and asserts it has not returned.
     */
    public TestThread<T> awaitBlockedOn(String what) {
        Waits.within().until(() -> {
            if (result.isDone()) {
                assertRunning();
            }
            return what.equals(describer.apply(name()));
        });
        return assertRunning();
    }

    /** Waits until the thread sleeps with a frame of {@code simpleClassName.method} on its stack; it has not returned. */
    public TestThread<T> awaitBlockedIn(String simpleClassName, String method) {
        Waits.within().until(() -> {
            if (result.isDone()) {
                assertRunning();
            }
            return Blocked.in(thread, simpleClassName, method);
        });
        return assertRunning();
    }

    /** Where the thread is: what the describer names, its state and its stack. */
    public String where() {
        String on = describer.apply(name());
        return (on != null ? "sleeping on " + on + "; " : "") + Blocked.describe(thread);
    }

    /**
     * Awaits {@code latch} (at most {@link Waits#BOUND}) — from inside an operation or a work item, a gate the test
     * opens; fails instead of hanging.
     */
    public static void await(CountDownLatch latch) {
        try {
            if (!latch.await(Waits.BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("latch not released within " + Waits.BOUND + " on " + Thread.currentThread().getName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * Runs {@code action} on two threads ("racer-a", "racer-b") released together and joins both, rethrowing the
     * first failure: both spin until both are ready, so on two cores they really overlap (a blocking barrier wakes
     * them tens of microseconds apart). What the race shows is asserted by the caller, true in every interleaving.
     */
    public static void race(Body action) {
        java.util.concurrent.atomic.AtomicInteger ready = new java.util.concurrent.atomic.AtomicInteger();
        Body aligned = () -> {
            ready.incrementAndGet();
            while (ready.get() < 2) {
                Thread.onSpinWait();
            }
            action.run();
        };
        TestThread<Void> a = run("racer-a", aligned);
        TestThread<Void> b = run("racer-b", aligned);
        a.join();
        b.join();
    }

    private static RuntimeException rethrown(Throwable t) {
        if (t instanceof RuntimeException re) {
            return re;
        }
        if (t instanceof Error er) {
            throw er;
        }
        throw new AssertionError(t);
    }
}
