package org.jbtrfs.transaction;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.workqueue.BtrfsWorkqueue;

/**
 * The filesystem-wide scrub state of fs/btrfs/scrub.c (btrfs_init_scrub in disk-io.c): scrub_lock, the running,
 * paused, pause-request and cancel-request counters, scrub_pause_wait, and the scrub workqueues with their reference
 * count. A transaction commit pauses every running scrub before COMMIT_DOING and lets them go on after the superblock
 * is written ({@link #pause}, {@link #continueScrubs}); an RO remount and close_ctree cancel them ({@link #cancel}).
 * A scrub itself (btrfs_scrub_dev) is the fs layer's.
 */
public final class ScrubControl {
    /** fs_info->scrub_lock. */
    private final Mutex scrubLock;
    private final Sched sched;
    /** scrub_pause_wait: every counter change below wakes it. */
    private final Object pauseWait = new Object();
    private final AtomicInteger scrubsRunning = new AtomicInteger();
    private final AtomicInteger scrubPauseReq = new AtomicInteger();
    private final AtomicInteger scrubsPaused = new AtomicInteger();
    private final AtomicInteger scrubCancelReq = new AtomicInteger();
    /** dev->scrub_ctx of the one device (under scrub_lock). */
    private Object deviceScrubCtx;
    /** scrub_workers_refcnt and the three queues it guards (under scrub_lock). */
    private int workersRefcnt;
    private BtrfsWorkqueue workers;
    /** volatile: {@link #wrCompletionWorkersUnlocked} reads it without scrub_lock, as btrfs_resize_thread_pool does. */
    private volatile BtrfsWorkqueue wrCompletionWorkers;
    private BtrfsWorkqueue parityWorkers;

    ScrubControl(Sched sched, Lockdep lockdep) {
        this.sched = sched;
        this.scrubLock = new Mutex("scrub_lock", lockdep, "&fs_info->scrub_lock");
    }

    private void wakeUp() {
        synchronized (pauseWait) {
            pauseWait.notifyAll();
        }
    }

    /**
     * With scrub_lock held: drop it, wait_event(fs_info->scrub_pause_wait, done) — an uninterruptible module sleep named
     * {@code what} — and take it again (the callers test their condition again under it).
     */
    private void waitUnlocked(String what, java.util.function.BooleanSupplier done) {
        scrubLock.unlock();
        try {
            synchronized (pauseWait) {
                sched.waitUntil(pauseWait, what, done);
            }
        } finally {
            scrubLock.lock();
        }
    }

    /**
     * kernel: btrfs_scrub_pause() — called by btrfs_commit_transaction before COMMIT_DOING: ask every running scrub to
     * pause and wait until each has (a scrub pauses between stripes, and around btrfs_inc_block_group_ro).
     */
    public void pause() {
        scrubLock.lock();
        try {
            scrubPauseReq.incrementAndGet();
            while (scrubsPaused.get() != scrubsRunning.get()) {
                waitUnlocked("btrfs_scrub_pause", () -> scrubsPaused.get() == scrubsRunning.get());
            }
        } finally {
            scrubLock.unlock();
        }
    }

    /** kernel: btrfs_scrub_continue() — the commit is done (or failed): paused scrubs go on. */
    public void continueScrubs() {
        scrubPauseReq.decrementAndGet();
        wakeUp();
    }

    /**
     * kernel: btrfs_scrub_cancel() — ask every running scrub to stop and wait until none runs. False: none ran
     * (-ENOTCONN).
     */
    public boolean cancel() {
        scrubLock.lock();
        try {
            if (scrubsRunning.get() == 0) {
                return false;
            }
            scrubCancelReq.incrementAndGet();
            while (scrubsRunning.get() != 0) {
                waitUnlocked("btrfs_scrub_cancel", () -> scrubsRunning.get() == 0);
            }
            scrubCancelReq.decrementAndGet();
            return true;
        } finally {
            scrubLock.unlock();
        }
    }

    /** kernel: __scrub_blocked_if_needed() — with scrub_lock held: while a commit asks for a pause, wait it out. */
    private void blockedIfNeededLocked() {
        while (scrubPauseReq.get() != 0) {
            waitUnlocked("__scrub_blocked_if_needed", () -> scrubPauseReq.get() == 0);
        }
    }

    /** kernel: scrub_pause_on() — this scrub counts as paused (a commit may go on meanwhile). */
    public void pauseOn() {
        scrubsPaused.incrementAndGet();
        wakeUp();
    }

    /** kernel: scrub_pause_off() — wait out a pause a commit asked for, then count as running again. */
    public void pauseOff() {
        scrubLock.lock();
        try {
            blockedIfNeededLocked();
            scrubsPaused.decrementAndGet();
        } finally {
            scrubLock.unlock();
        }
        wakeUp();
    }

    /** kernel: scrub_blocked_if_needed() — let a commit that asked for a pause through. */
    public void blockedIfNeeded() {
        pauseOn();
        pauseOff();
    }

    /**
     * The locked part of btrfs_scrub_dev() that starts a scrub of the device: the dev-replace test it makes under
     * scrub_lock ({@code underLock}, which takes dev_replace.rwsem: -EINPROGRESS for a scrub while a replace is ongoing,
     * the proposed fix's -ECANCELED for a replace no longer STARTED, or null); -EINPROGRESS while the device has a
     * scrub_ctx; else install {@code sctx}, wait out a commit's pause request ("we can avoid race between committing
     * transaction and scrubbing") and count the scrub as running. Returns the error, or null when the scrub runs.
     */
    public org.jbtrfs.core.Errno startOnDevice(Object sctx, java.util.function.Supplier<org.jbtrfs.core.Errno> underLock) {
        scrubLock.lock();
        try {
            org.jbtrfs.core.Errno err = underLock.get();
            if (err != null) {
                return err;
            }
            if (deviceScrubCtx != null) {
                return org.jbtrfs.core.Errno.EINPROGRESS;
            }
            deviceScrubCtx = sctx;
            blockedIfNeededLocked();
            scrubsRunning.incrementAndGet();
            return null;
        } finally {
            scrubLock.unlock();
        }
    }

    /** {@code dev->scrub_ctx = NULL} under scrub_lock: the device may be scrubbed again. */
    public void endOnDevice(Object sctx) {
        scrubLock.lock();
        try {
            if (deviceScrubCtx == sctx) {
                deviceScrubCtx = null;
            }
        } finally {
            scrubLock.unlock();
        }
        wakeUp();
    }

    /** atomic_dec(&fs_info->scrubs_running) and wake_up(scrub_pause_wait): a cancel or pause may be waiting. */
    public void runningDec() {
        scrubsRunning.decrementAndGet();
        wakeUp();
    }

    /** atomic_read(&fs_info->scrub_cancel_req). */
    public boolean cancelRequested() { return scrubCancelReq.get() != 0; }

    /** atomic_read(&fs_info->scrub_pause_req). */
    public boolean pauseRequested() { return scrubPauseReq.get() != 0; }

    /**
     * The refcount_inc_not_zero() fast path of scrub_workers_get(): true if the queues exist and this scrub holds a
     * reference on them now.
     */
    public boolean workersGetIfAlive() {
        scrubLock.lock();
        try {
            if (workersRefcnt == 0) {
                return false;
            }
            workersRefcnt++;
            return true;
        } finally {
            scrubLock.unlock();
        }
    }

    /**
     * The locked step of scrub_workers_get(): install the queues just allocated, unless another scrub raced in and
     * did first (then take a reference on its queues; the caller destroys its own). True: installed.
     */
    public boolean workersInstall(BtrfsWorkqueue scrub, BtrfsWorkqueue wrComp, BtrfsWorkqueue parity) {
        scrubLock.lock();
        try {
            if (workersRefcnt == 0) {
                workers = scrub;
                wrCompletionWorkers = wrComp;
                parityWorkers = parity;
                workersRefcnt = 1;
                return true;
            }
            workersRefcnt++;
            return false;
        } finally {
            scrubLock.unlock();
        }
    }

    /**
     * The locked step of scrub_workers_put(): drop a reference; the last one takes the queues out (returned, for the
     * caller to destroy after dropping scrub_lock), else null.
     */
    public BtrfsWorkqueue[] workersPut() {
        scrubLock.lock();
        try {
            if (--workersRefcnt > 0) {
                return null;
            }
            BtrfsWorkqueue[] gone = {workers, wrCompletionWorkers, parityWorkers};
            workers = null;
            wrCompletionWorkers = null;
            parityWorkers = null;
            return gone;
        } finally {
            scrubLock.unlock();
        }
    }

    /** fs_info->scrub_workers (the read completions run there), or null when no scrub holds it. */
    public BtrfsWorkqueue workers() {
        scrubLock.lock();
        try {
            return workers;
        } finally {
            scrubLock.unlock();
        }
    }

    /**
     * fs_info->scrub_wr_completion_workers read with no lock: what 5.11's btrfs_resize_thread_pool passes to
     * btrfs_workqueue_set_max (a remount holds s_umount, not scrub_lock). Null when no scrub holds the queues; a
     * scrub_workers_put racing with the reader takes them out and destroys them meanwhile.
     */
    public BtrfsWorkqueue wrCompletionWorkersUnlocked() { return wrCompletionWorkers; }
}
