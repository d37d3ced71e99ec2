package org.jbtrfs.transaction;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.FreedSlot;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.core.kernel.Sched;

/**
 * The filesystem-wide balance state of fs/btrfs/volumes.c (btrfs_init_balance in disk-io.c): balance_mutex,
 * balance_lock and fs_info->balance_ctl, the pause and cancel requests, balance_wait_q (the exclusive operation a balance
 * holds is fs-wide: {@link ExclusiveOperation}). BTRFS_FS_BALANCE_RUNNING is
 * {@link org.jbtrfs.core.FsFlag#BALANCE_RUNNING} in fs_info->flags. A balance itself (btrfs_balance, its kthread) is the
 * fs layer's.
 */
public final class BalanceControl {
    /** fs_info->balance_mutex. */
    public final Mutex mutex;
    /** fs_info->balance_lock (a spinlock: balance_ctl's pointer and its stat counters). */
    private final Object lock = new Object();
    private final Sched sched;
    /** fs_info->balance_wait_q. */
    private final Object waitQ = new Object();
    /** fs_info->balance_pause_req. */
    public final AtomicInteger pauseReq = new AtomicInteger();
    /** fs_info->balance_cancel_req. */
    public final AtomicInteger cancelReq = new AtomicInteger();
    /** The resume kthreads started and not yet returned (the proposed fix's count; they wake balance_wait_q). */
    public final ResumeKthreads resumeKthreads;
    private BalanceCtl ctl;
    /** balance_ctl's memory as btrfs_free_fs_info frees it: a resume kthread that runs later uses it freed. */
    private final FreedSlot freed = new FreedSlot();

    BalanceControl(Sched sched, Lockdep lockdep) {
        this.sched = sched;
        this.mutex = new Mutex("balance_mutex", lockdep, "&fs_info->balance_mutex");
        this.resumeKthreads = new ResumeKthreads(sched, waitQ);
    }

    /** fs_info->balance_ctl (read under balance_lock), or null. */
    public BalanceCtl ctl() {
        synchronized (lock) {
            return ctl;
        }
    }

    /** Sets fs_info->balance_ctl under balance_lock (null: reset_balance_state's clear). */
    public void setCtl(BalanceCtl c) {
        synchronized (lock) {
            ctl = c;
        }
    }

    /** balance_lock, for the stat counters and flag changes of balance_ctl. */
    public Object lock() { return lock; }

    /** wake_up(&fs_info->balance_wait_q). */
    public void wakeUp() {
        synchronized (waitQ) {
            waitQ.notifyAll();
        }
    }

    /** wait_event(fs_info->balance_wait_q, done): an uninterruptible module sleep named {@code what}. */
    public void waitEvent(String what, java.util.function.BooleanSupplier done) {
        synchronized (waitQ) {
            sched.waitUntil(waitQ, what, done);
        }
    }

    /** btrfs_free_fs_info()'s kfree(fs_info->balance_ctl), and the end of fs_info itself for what still uses it. */
    public void freeFsInfo(KernelLog log) {
        synchronized (lock) {
            ctl = null;
        }
        freed.free(log, "struct btrfs_fs_info (balance_mutex, balance_ctl)");
    }

    /** A use of fs_info's balance state by {@code function}: a KASAN report once btrfs_free_fs_info freed it. */
    public void use(String function) { freed.use(function); }
}
