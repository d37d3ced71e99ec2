package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelLog;

/**
 * kernel: struct percpu_rw_semaphore (kernel/locking/percpu-rwsem.c) with its rcu_sync (kernel/rcu/sync.c) — the lock
 * behind each freeze level of a superblock (sb->s_writers.rw_sem[]). Readers never wait for each other and do not
 * belong to a task: a reader may be released by another thread, and the write side is held from freeze_super() to
 * thaw_super(), two syscalls that need not come from one task — which is why this is not a Java lock.
 *
 * <p>As the kernel's: {@link #downWrite} enters the rcu_sync (gp_count++), blocks new readers and waits for the readers
 * inside to leave; {@link #upWrite} lets readers in again and exits the rcu_sync. An {@code up_write} without its
 * {@code down_write} is the kernel's too: rcu_sync_exit() warns (WARN_ON_ONCE at kernel/rcu/sync.c:154 and :155, 5.11)
 * and drives gp_count below zero; from then on the next down_write's rcu_sync_enter() finds gp_count -1, does not
 * start the grace period that moves readers to the slow path, and readers keep entering past a writer — the writer
 * excludes nobody. The port keeps that consequence: {@link #excludesReaders()} reports it.
 *
 * <p>A task that already holds the read side re-enters it without blocking ({@code reentrant}): the nesting of btrfs'
 * transaction handles (current->journal_info: a nested start_transaction takes no second sb_start_intwrite).
 */
public final class PercpuRwSemaphore {
    private final String name;
    private final Sched sched;
    private final boolean reentrant;
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);
    /** Readers inside (the per-CPU read_count summed). Guarded by this. */
    private int readers;
    /** sem->block: a writer holds it or waits for the readers to drain. Guarded by this. */
    private boolean block;
    /** rcu_sync gp_count: writers inside; negative after an unbalanced up_write. Guarded by this. */
    private int gpCount;
    private boolean warnedState;
    private boolean warnedCount;

    private final Lockdep lockdep;
    private final Lockdep.LockClass cls;
    /** The writer's lockdep hold, from down_write until up_write or a freeze's lockdep release. Guarded by this. */
    private Lockdep.Held writeHeld;

    /** One hold of the read side: the taking task's nesting count and its lockdep hold. */
    private record ReadHold(int[] depth, Lockdep.Held held) { }

    public PercpuRwSemaphore(String name, Sched sched, boolean reentrant) { this(name, sched, reentrant, Lockdep.OFF, name); }

    /** {@code lockdepClass}: its lockdep class ("sb_internal": one for every superblock of the type). */
    public PercpuRwSemaphore(String name, Sched sched, boolean reentrant, Lockdep lockdep, String lockdepClass) {
        this.name = name;
        this.sched = sched;
        this.reentrant = reentrant;
        this.lockdep = lockdep;
        this.cls = lockdep.enabled() ? lockdep.staticClass(lockdepClass) : null;
    }

    /** Whether this read is a new acquisition for lockdep (not a nested transaction handle's). */
    private boolean tracksRead(int[] d) { return cls != null && !(reentrant && d[0] > 0); }

    /**
     * percpu_down_read(): waits while a writer holds the semaphore (readers on the slow path). Returns the hold, which
     * {@link #upRead(Object)} takes back — from any thread: the nesting count it keeps is the taking task's.
     */
    public Object downRead() {
        int[] d = depth.get();
        // lockdep checks before the task may sleep, as rwsem_acquire_read in percpu_down_read
        Lockdep.Held h = tracksRead(d) ? lockdep.acquire(cls, false) : null;
        synchronized (this) {
            if (!(reentrant && d[0] > 0)) {
                sched.waitUntil(this, name + ": percpu_down_read", () -> !block || !excludesReaders());
            }
            readers++;
            d[0]++;
        }
        return new ReadHold(d, h);
    }

    /** percpu_down_read_trylock(): null, at once, while a writer holds the semaphore; else the hold. */
    public Object tryDownRead() {
        int[] d = depth.get();
        boolean track = tracksRead(d);
        synchronized (this) {
            if (block && excludesReaders() && !(reentrant && d[0] > 0)) {
                return null;
            }
            readers++;
            d[0]++;
        }
        return new ReadHold(d, track ? lockdep.acquire(cls, true) : null);
    }

    /** percpu_up_read() of a hold {@link #downRead()} returned. */
    public void upRead(Object hold) {
        ReadHold h = (ReadHold) hold;
        lockdep.release(h.held());
        synchronized (this) {
            readers--;
            h.depth()[0]--;
            notifyAll();
        }
    }

    /** percpu_down_write(): rcu_sync_enter, then block new readers and wait for the readers inside. */
    public void downWrite() {
        Lockdep.Held h = cls == null ? null : lockdep.acquire(cls, false);
        synchronized (this) {
            gpCount++;
            sched.waitUntil(this, name + ": percpu_down_write", () -> !block);
            block = true;
            sched.waitUntil(this, name + ": percpu_down_write (readers)", () -> readers == 0);
            writeHeld = h;
        }
    }

    /**
     * percpu_up_write(): let readers in, rcu_sync_exit. Unbalanced (no down_write before it) the kernel warns twice
     * and its gp_count goes negative — see the class comment.
     */
    public void upWrite(KernelLog log) {
        boolean idle;
        boolean zero;
        synchronized (this) {
            lockdepReleaseWrite();
            idle = gpCount <= 0 && !block;
            zero = gpCount == 0;
            block = false;
            gpCount--;
            notifyAll();
        }
        if (idle && !warnedState) {
            warnedState = true;
            log.warnOnAt(true, "kernel/rcu/sync.c", 154, "rcu_sync_exit");
        }
        if (zero && !warnedCount) {
            warnedCount = true;
            log.warnOnAt(true, "kernel/rcu/sync.c", 155, "rcu_sync_exit");
        }
    }

    /**
     * kernel: percpu_rwsem_release() of the write side, which freeze_super's lockdep_sb_freeze_release does: the freeze
     * stays, lockdep no longer counts it as held by the freezing task (it returns to user space holding it).
     */
    public synchronized void lockdepReleaseWrite() {
        lockdep.release(writeHeld);
        writeHeld = null;
    }

    /** kernel: percpu_rwsem_acquire() of the write side as a trylock (lockdep_sb_freeze_acquire, in thaw_super). */
    public synchronized void lockdepAcquireWrite() {
        if (cls != null) {
            writeHeld = lockdep.acquire(cls, true);
        }
    }

    /** Whether a writer keeps readers out: false once an unbalanced up_write left gp_count negative. */
    public synchronized boolean excludesReaders() { return gpCount > 0; }

    /** Whether rcu_sync's gp_count went below what the write side holds: an up_write without its down_write. */
    public synchronized boolean unbalanced() { return block ? gpCount <= 0 : gpCount < 0; }

    /** Readers inside now (inspection). */
    public synchronized int readers() { return readers; }

    /** Whether the write side is held (inspection). */
    public synchronized boolean writeHeld() { return block; }

    @Override
    public String toString() { return name; }
}
