package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An operation running on its own (daemon) thread, so a test can observe it blocked and then let it
 * through. "Blocked in f" is read from the thread itself — WAITING with f on its stack — not guessed
 * from elapsed time.
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

    /** Waits until the thread waits inside {@code method} of {@link Transactions}; it has not returned. */
    Op<T> awaitBlockedIn(String method) {
        TestFs.waitUp().until(() -> isBlockedIn(method));
        assertFalse(result.isDone(), thread.getName() + " returned while it should be blocked");
        return this;
    }

    boolean isBlockedIn(String method) {
        return thread.getState() == Thread.State.WAITING && Arrays.stream(thread.getStackTrace())
            .anyMatch(f -> f.getClassName().equals(Transactions.class.getName()) && f.getMethodName().equals(method));
    }

    /** The result, once the operation returns (at most 10 s). */
    T get() throws Exception {
        return result.get(TestFs.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
}
