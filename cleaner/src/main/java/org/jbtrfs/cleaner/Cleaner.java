package org.jbtrfs.cleaner;

import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.transaction.FsInfo;

/**
 * The cleaner side of one mounted filesystem: its inode cache, delayed iputs, orphan cleanup, dead
 * roots and unused block groups, and the btrfs-cleaner kthread that works through them.
 *
 * <h2>Who touches what</h2>
 * <ul>
 *   <li>The cleaner kthread ({@link CleanerKthread}) runs one pass per wake-up: with CLEANER_RUNNING set,
 *       and under cleaner_mutex (trylock) delayed iputs and one dead root, then unused block groups without
 *       the mutex. It sleeps with the kernel's lost-wake-up semantics (see core {@code Kthread}).</li>
 *   <li>Delayed iputs are queued by threads that must not evict (kworkers completing ordered extents,
 *       btrfs_remove_block_group for a free-space-cache inode) and run by the cleaner, by
 *       btrfs_commit_super (remount RO, umount) under cleaner_mutex, by an RO remount (patch 5/5) and by
 *       btrfs_end_transaction_throttle (drop_snapshot). The list is guarded by its own monitor
 *       (delayed_iput_lock); each iput runs outside it.</li>
 *   <li>Dead roots enter dead_roots from inode eviction (the last inode of a deleted subvolume) and from
 *       btrfs_find_orphan_roots (mount, RO→RW remount), guarded by trans_lock; only the cleaner pops them.</li>
 *   <li>Unused block groups are unlinked from unused_bgs one at a time by whichever of the cleaner, an RO
 *       remount or close_ctree gets there first; after the unlink no other caller can see the group — the
 *       third window of patch 3/5.</li>
 *   <li>The pass counter is the port's own bookkeeping for deterministic waits ({@code Btrfs.runCleanerPass});
 *       nothing in the kernel waits on it.</li>
 * </ul>
 */
public final class Cleaner {
    private final FsInfo fs;
    private final Inodes inodes;
    private final DelayedIputs delayedIputs;
    private final OrphanCleanup orphanCleanup;
    private final DeadRoots deadRoots;
    private final UnusedBlockGroups unusedBlockGroups;
    private final FreeSpaceInodes freeSpaceInodes;

    public Cleaner(FsInfo fs) {
        this.fs = fs;
        this.inodes = new Inodes(fs);
        this.delayedIputs = new DelayedIputs(fs, inodes);
        this.orphanCleanup = new OrphanCleanup(fs, inodes);
        this.deadRoots = new DeadRoots(fs);
        this.freeSpaceInodes = new FreeSpaceInodes(fs, inodes, delayedIputs);
        this.unusedBlockGroups = new UnusedBlockGroups(fs, freeSpaceInodes);
        // btrfs_commit_super and btrfs_end_transaction_throttle run delayed iputs from the layer below
        fs.installDelayedIputRunner(delayedIputs::run);
        fs.installDelayedIputsWaiter(delayedIputs::waitOnDelayedIputs);
    }

    /** Starts the btrfs-cleaner kthread and records it in fs_info (open_ctree). */
    public Kthread startKthread() {
        Kthread k = CleanerKthread.start(this);
        fs.setCleanerKthread(k);
        return k;
    }

    public FsInfo fs() { return fs; }

    public Inodes inodes() { return inodes; }

    public DelayedIputs delayedIputs() { return delayedIputs; }

    public OrphanCleanup orphanCleanup() { return orphanCleanup; }

    public DeadRoots deadRoots() { return deadRoots; }

    public UnusedBlockGroups unusedBlockGroups() { return unusedBlockGroups; }

    public FreeSpaceInodes freeSpaceInodes() { return freeSpaceInodes; }

    // ---- pass bookkeeping (the port's own: nothing in the kernel waits on it) ---------------------------

    /** Passes the cleaner finished (CLEANER_RUNNING cleared). Guarded by {@link #passMonitor} for writes. */
    private volatile long passes;
    private final Object passMonitor = new Object();
    /** Threads in {@link #awaitPass} / {@link #awaitAsleep}: the cleaner notifies only when there are any. */
    private volatile int passWaiters;

    void passEnded() {
        synchronized (passMonitor) {
            passes++;
            if (passWaiters > 0) {
                passMonitor.notifyAll();
            }
        }
    }

    void goingToSleep() {
        if (passWaiters > 0) {
            synchronized (passMonitor) {
                passMonitor.notifyAll();
            }
        }
    }

    /** Passes finished so far (every loop of the cleaner counts, including one that found nothing to do). */
    public long passes() { return passes; }

    /** True while the cleaner is in TASK_INTERRUPTIBLE: a wake_up_process now starts a new pass. */
    public boolean isAsleep() {
        Kthread k = fs.cleanerKthread();
        return k != null && k.isSleeping() && !fs.flags.test(org.jbtrfs.core.FsFlag.CLEANER_RUNNING);
    }

    /**
     * True once kthread_park was asked of the cleaner (close_ctree), or it exited: it will not sleep in
     * TASK_INTERRUPTIBLE again, so no pass is to be waited for.
     */
    public boolean parking() {
        Kthread k = fs.cleanerKthread();
        return k == null || k.shouldPark() || k.shouldStop() || k.hasExited();
    }

    /**
     * Waits (at most {@code nanos}) until the cleaner is asleep, or parking (then no pass will come:
     * see {@link #parking()}); false on timeout.
     */
    public boolean awaitAsleep(long nanos) {
        return awaitPassCondition(() -> isAsleep() || parking(), nanos);
    }

    /**
     * Waits (at most {@code nanos}) until more than {@code after} passes finished and the cleaner is
     * asleep again (or parking); false on timeout.
     */
    public boolean awaitPass(long after, long nanos) {
        return awaitPassCondition(() -> passes > after && (isAsleep() || parking()), nanos);
    }

    /**
     * Waits (at most {@code nanos}) until {@code done} holds, testing it again at each of the cleaner's
     * events (a pass ended, it went to sleep) and at each {@link #kickWaiters()}; false on timeout. For waits
     * on something only the cleaner changes (a deleted subvolume dropped: {@code Btrfs.subvolumeSync}).
     */
    public boolean awaitEvent(java.util.function.BooleanSupplier done, long nanos) {
        return awaitPassCondition(done, nanos);
    }

    /** Makes every waiter of this class test its condition again (its filesystem went away). */
    public void kickWaiters() {
        synchronized (passMonitor) {
            passMonitor.notifyAll();
        }
    }

    private boolean awaitPassCondition(java.util.function.BooleanSupplier done, long nanos) {
        synchronized (passMonitor) {
            passWaiters++;
            try {
                // the cleaner notifies after each pass and each time it sets TASK_INTERRUPTIBLE: the only
                // moments either condition can turn true
                return fs.kernel.sched().waitUntil(passMonitor, done, nanos);
            } finally {
                passWaiters--;
            }
        }
    }
}
