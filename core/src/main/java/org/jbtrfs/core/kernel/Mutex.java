package org.jbtrfs.core.kernel;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A kernel mutex (struct mutex): a {@link ReentrantLock} with its kernel name, which shows who holds it
 * and who waits for it — what a hung-task report and {@code Btrfs.inspect()} print. {@code lock()} is
 * uninterruptible, as mutex_lock is; {@code tryLock()} is mutex_trylock.
 */
public final class Mutex extends ReentrantLock {
    private final String name;

    public Mutex(String name) { this.name = name; }

    /** "cleaner_mutex" */
    public String name() { return name; }

    /** The name of the thread holding it, or null. */
    public String holder() {
        Thread t = getOwner();
        return t == null ? null : t.getName();
    }

    /** The names of the threads waiting for it. */
    public List<String> waiters() { return getQueuedThreads().stream().map(Thread::getName).sorted().toList(); }

    @Override
    public String toString() {
        String h = holder();
        return name + (h == null ? " (free)" : " (held by " + h + ")") + (hasQueuedThreads() ? ", waiters " + waiters() : "");
    }
}
