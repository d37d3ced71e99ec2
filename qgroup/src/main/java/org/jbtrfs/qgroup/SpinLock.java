package org.jbtrfs.qgroup;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A kernel spinlock ({@code spinlock_t}) as far as the port needs one: mutual exclusion for a few
 * instructions, and two rules the kernel enforces with lockdep and CONFIG_DEBUG_ATOMIC_SLEEP that a
 * Java lock would not: it is not recursive (taking it twice in one task deadlocks the CPU), and its
 * holder must not sleep (no mutex, no wait, no transaction start under it).
 *
 * <p>The port does not spin: a contended acquire parks like a mutex would, which changes nothing the
 * port can observe because nothing sleeps while holding it. The two rules are checked instead:
 * recursion is a {@link IllegalStateException} at once, and the qgroup code's sleeping operations
 * ({@link Completion#await}, the qgroup mutexes through {@link QgroupFsInfo#mutexLock}) call
 * {@link #mightSleep(String)} first — the kernel's might_sleep() — which refuses to sleep with the
 * lock held.
 */
final class SpinLock {
    private final String name;
    private final ReentrantLock lock = new ReentrantLock();

    SpinLock(String name) { this.name = name; }

    /** kernel: spin_lock() */
    void lock() {
        if (lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("BUG: spinlock recursion on " + name + " by " + Thread.currentThread().getName());
        }
        lock.lock();
    }

    /** kernel: spin_unlock() */
    void unlock() { lock.unlock(); }

    boolean isHeldByCurrentThread() { return lock.isHeldByCurrentThread(); }

    /**
     * kernel: might_sleep() with this lock in mind — "BUG: sleeping function called from invalid
     * context" if the calling thread holds it. {@code what} names the sleeping operation.
     */
    void mightSleep(String what) {
        if (lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("BUG: sleeping function called from invalid context: " + what
                + " while holding " + name);
        }
    }

    @Override
    public String toString() { return name; }
}
