package org.jbtrfs.core.kernel;

import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Who can end a kernel sleep: the threads whose progress the sleep's condition needs — the edges of the wait-for graph
 * the deadlock oracle walks ({@link WaitGraph}). A sleep named with blockers is an uninterruptible wait for something
 * only those threads can do: a commit waits for every writer to end its handle ({@link #allOf}: each of them must act),
 * a wait for a transaction's state for its committer or for a writer that aborts it ({@link #anyOf}: one of them is
 * enough), a kthread_park() for the kthread. The supplier is asked by the oracle's thread while the sleeper sleeps, so it
 * reads state that is safe to read without the sleeper's lock; an empty answer means "not known" and the sleep never
 * counts as stuck. Sleeps without blockers (a page lock, a hook's park) are never part of a
 * deadlock the oracle names: it only says what it can prove.
 *
 * @param all whether every thread named must act for the sleep to end (a count each of them holds), rather than any one
 * @param threads the threads, asked at the time of the oracle's look
 */
public record Blockers(boolean all, Supplier<Collection<Thread>> threads) {

    /** Any one of these threads can end the sleep (a committer, a kthread, the worker that completes a completion). */
    public static Blockers anyOf(Supplier<Collection<Thread>> threads) { return new Blockers(false, threads); }

    /** Each of these threads must act before the sleep ends (the holders of a count: a transaction's writers). */
    public static Blockers allOf(Supplier<Collection<Thread>> threads) { return new Blockers(true, threads); }

    /** The one thread that can end the sleep, or none known when {@code thread} answers null. */
    public static Blockers thread(Supplier<Thread> thread) {
        return anyOf(() -> {
            Thread t = thread.get();
            return t == null ? List.of() : List.of(t);
        });
    }
}
