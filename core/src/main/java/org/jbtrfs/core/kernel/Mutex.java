package org.jbtrfs.core.kernel;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A kernel mutex (struct mutex): a {@link ReentrantLock} with its kernel name, which shows who holds it
 * and who waits for it — what a hung-task report and {@code Btrfs.inspect()} print. {@code lock()} is
 * uninterruptible, as mutex_lock is; {@code tryLock()} is mutex_trylock. Made with a module's {@link Lockdep}, each
 * acquisition is checked as lockdep checks mutex_lock (its class: the name, one for every instance, as a static
 * lock_class_key per init site).
 */
public final class Mutex extends ReentrantLock {
    private final String name;
    private final transient Lockdep lockdep;
    private final transient Lockdep.LockClass cls;
    /** The lockdep token of the outermost hold. Guarded by the lock itself. */
    private transient Lockdep.Held held;

    /** A mutex lockdep does not see. */
    public Mutex(String name) { this(name, Lockdep.OFF, name); }

    /**
     * {@code name}: how reports name it ("cleaner_mutex"); {@code lockdepClass}: its lockdep class, the kernel's name of
     * the lock's init site ("&fs_info->cleaner_mutex": one class for every instance).
     */
    public Mutex(String name, Lockdep lockdep, String lockdepClass) {
        this.name = name;
        this.lockdep = lockdep;
        this.cls = lockdep.enabled() ? lockdep.staticClass(lockdepClass) : null;
    }

    /** "cleaner_mutex" */
    public String name() { return name; }

    /** The name of the thread holding it, or null. */
    public String holder() {
        Thread t = getOwner();
        return t == null ? null : t.getName();
    }

    /** The names of the threads waiting for it. */
    public List<String> waiters() { return getQueuedThreads().stream().map(Thread::getName).sorted().toList(); }

    /** The mutex each thread blocked in {@link #lock()} waits for: the deadlock oracle's edge to its owner. */
    private static final java.util.Map<Thread, Mutex> WAITING = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void lock() {
        Lockdep.Held h = outermost() ? lockdep.acquire(cls, false) : null;
        if (!super.tryLock()) { // the non-fair lock()'s own first attempt, then the wait, noted for WaitGraph
            Thread self = Thread.currentThread();
            WAITING.put(self, this);
            try {
                super.lock();
            } finally {
                WAITING.remove(self);
            }
        }
        keep(h);
    }

    /** The mutex {@code t} waits for in {@link #lock()} right now, or null. */
    static Mutex waitedForBy(Thread t) { return WAITING.get(t); }

    /** The thread holding it, or null. */
    Thread owner() { return getOwner(); }

    @Override
    public void lockInterruptibly() throws InterruptedException {
        Lockdep.Held h = outermost() ? lockdep.acquire(cls, false) : null;
        try {
            super.lockInterruptibly();
        } catch (InterruptedException e) {
            lockdep.release(h);
            throw e;
        }
        keep(h);
    }

    @Override
    public boolean tryLock() {
        boolean outer = outermost();
        if (!super.tryLock()) {
            return false;
        }
        if (outer) {
            keep(lockdep.acquire(cls, true));
        }
        return true;
    }

    @Override
    public boolean tryLock(long timeout, TimeUnit unit) throws InterruptedException {
        boolean outer = outermost();
        if (!super.tryLock(timeout, unit)) {
            return false;
        }
        if (outer) {
            keep(lockdep.acquire(cls, true));
        }
        return true;
    }

    @Override
    public void unlock() {
        if (getHoldCount() == 1 && isHeldByCurrentThread()) {
            Lockdep.Held h = held;
            held = null;
            lockdep.release(h);
        }
        super.unlock();
    }

    /** Whether the caller does not hold it yet (the port's re-entries are not new acquisitions). */
    private boolean outermost() { return cls != null && !isHeldByCurrentThread(); }

    private void keep(Lockdep.Held h) {
        if (h != null) {
            held = h;
        }
    }

    @Override
    public String toString() {
        String h = holder();
        return name + (h == null ? " (free)" : " (held by " + h + ")") + (hasQueuedThreads() ? ", waiters " + waiters() : "");
    }
}
