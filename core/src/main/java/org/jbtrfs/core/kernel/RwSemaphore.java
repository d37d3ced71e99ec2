package org.jbtrfs.core.kernel;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A kernel rw_semaphore with its name (down_read / down_write as the read and write locks of a
 * {@link ReentrantReadWriteLock}), whose acquisitions a module's {@link Lockdep} checks — down_read as a non-recursive
 * read (read = 1), down_write as a write; trylocks add no dependency. A re-entry of the port's (the Java lock is
 * reentrant, the kernel's is not) is not a new acquisition. The Java variants with no kernel counterpart the port uses
 * (timed, interruptible) throw {@link UnsupportedOperationException}.
 */
public final class RwSemaphore extends ReentrantReadWriteLock {
    private final String name;
    private final transient Lockdep lockdep;
    private final transient Lockdep.LockClass cls;
    private final Read read;
    private final Write write;
    /** Each task's outermost read hold (several readers hold it at once). */
    private final transient ThreadLocal<Lockdep.Held> readHeld = new ThreadLocal<>();
    /** The writer's outermost hold. Guarded by the write lock. */
    private transient Lockdep.Held writeHeld;

    /** An rw_semaphore lockdep does not see. */
    public RwSemaphore(String name) { this(name, Lockdep.OFF); }

    public RwSemaphore(String name, Lockdep lockdep) {
        this.name = name;
        this.lockdep = lockdep;
        this.cls = lockdep.enabled() ? lockdep.staticClass(name) : null;
        this.read = new Read(this);
        this.write = new Write(this);
    }

    /** "&fs_info->cleanup_work_sem" */
    public String name() { return name; }

    @Override
    public ReentrantReadWriteLock.ReadLock readLock() { return read; }

    @Override
    public ReentrantReadWriteLock.WriteLock writeLock() { return write; }

    private boolean tracked() { return cls != null; }

    /** down_read / down_read_trylock / up_read. */
    private final class Read extends ReentrantReadWriteLock.ReadLock {
        Read(RwSemaphore rw) { super(rw); }

        @Override
        public void lock() {
            boolean outer = tracked() && getReadHoldCount() == 0;
            Lockdep.Held h = outer ? lockdep.acquire(cls, false) : null;
            super.lock();
            if (outer) {
                readHeld.set(h);
            }
        }

        @Override
        public boolean tryLock() {
            boolean outer = tracked() && getReadHoldCount() == 0;
            if (!super.tryLock()) {
                return false;
            }
            if (outer) {
                readHeld.set(lockdep.acquire(cls, true));
            }
            return true;
        }

        @Override
        public boolean tryLock(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("an rw_semaphore has no timed down");
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            throw new UnsupportedOperationException("down_read_interruptible is not used by the port");
        }

        @Override
        public void unlock() {
            if (tracked() && getReadHoldCount() == 1) {
                lockdep.release(readHeld.get());
                readHeld.remove();
            }
            super.unlock();
        }
    }

    /** down_write / down_write_trylock / up_write. */
    private final class Write extends ReentrantReadWriteLock.WriteLock {
        Write(RwSemaphore rw) { super(rw); }

        @Override
        public void lock() {
            boolean outer = tracked() && !isWriteLockedByCurrentThread();
            Lockdep.Held h = outer ? lockdep.acquire(cls, false) : null;
            super.lock();
            if (outer) {
                writeHeld = h;
            }
        }

        @Override
        public boolean tryLock() {
            boolean outer = tracked() && !isWriteLockedByCurrentThread();
            if (!super.tryLock()) {
                return false;
            }
            if (outer) {
                writeHeld = lockdep.acquire(cls, true);
            }
            return true;
        }

        @Override
        public boolean tryLock(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("an rw_semaphore has no timed down");
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            throw new UnsupportedOperationException("down_write_killable is not used by the port");
        }

        @Override
        public void unlock() {
            if (tracked() && getWriteHoldCount() == 1) {
                Lockdep.Held h = writeHeld;
                writeHeld = null;
                lockdep.release(h);
            }
            super.unlock();
        }
    }

    @Override
    public String toString() { return name + " " + super.toString(); }
}
