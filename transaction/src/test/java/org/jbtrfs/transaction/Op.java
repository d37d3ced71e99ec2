package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.testsupport.Waits;

/**
 * An operation running on its own (daemon) thread, so a test can observe it blocked and then let it
 * through. "Blocked on w" is read from the module's Sched, which names every kernel sleep, or from the
 * thread itself (sleeping with f on its stack) — never guessed from elapsed time.
 */
final class Op<T> {
    final Thread thread;
    final CompletableFuture<T> result = new CompletableFuture<>();

    private Op(String name, Callable<T> body) {
        thread = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        thread.setDaemon(true);
    }

    static <T> Op<T> start(String name, Callable<T> body) {
        Op<T> op = new Op<>(name, body);
        op.thread.start();
        return op;
    }

    static Op<Void> start(String name, Runnable body) {
        return start(name, () -> {
            body.run();
            return null;
        });
    }

    /**
     * Waits until the thread sleeps on {@code what} in the module's kernel, as {@link Sched#blocked()} names
     * it ("wait_current_trans", "commit: wait for external writers", ...): the wait the kernel function is
     * in, not just the function; it has not returned.
     */
    Op<T> awaitSleepingOn(Sched sched, String what) {
        Waits.within().until(() -> what.equals(sched.blocked().get(thread.getName())));
        assertFalse(result.isDone(), thread.getName() + " returned while it should be blocked");
        return this;
    }

    /** Waits until the thread sleeps with {@code method} of {@link Transactions} on its stack; it has not returned. */
    Op<T> awaitBlockedIn(String method) {
        Waits.within().until(() -> Blocked.in(thread, "Transactions", method));
        assertFalse(result.isDone(), thread.getName() + " returned while it should be blocked");
        return this;
    }

    /** The result, once the operation returns (at most 10 s). */
    T get() throws Exception {
        return result.get(TestFs.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
}
