package org.jbtrfs.transaction;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.Role;

/**
 * kernel: transaction_kthread() in fs/btrfs/disk-io.c: commits the running transaction once it is
 * commit_interval seconds old, wakes the cleaner on every loop, and checks for a stop request only
 * before sleeping and at the end of the loop — stopping it never commits.
 */
public final class TransactionKthread {
    /** 5.10's re-poll of a young transaction, seconds (HZ * 5). */
    static final int V5_10_POLL_SECONDS = 5;

    private TransactionKthread() { }

    /** kernel: kthread_run(transaction_kthread, tree_root, "btrfs-transaction") */
    public static Kthread start(FsInfo fs) {
        return fs.kernel.kthreadd().run("btrfs-transaction", Role.TRANSACTION_KTHREAD, fs.workqueues().device(),
            self -> loop(fs, self));
    }

    /**
     * kernel: transaction_kthread(). A young transaction (not committing, younger than commit_interval)
     * is left alone: 5.11 sleeps until it reaches commit_interval (about 1 s after), 5.10 re-polls
     * every 5 s (and also when the clock went backwards). An old one is attached and committed if it is
     * still the same transaction. Every loop ends by waking the cleaner; a failed commit is ignored,
     * as the kernel ignores btrfs_commit_transaction's return here (an abort is reported by the abort).
     *
     * <p>The sleep is schedule_timeout_interruptible(), entered after the kthread_should_stop() test: a
     * kthread_stop() that lands between the two ({@link Hook#TRANS_KTHREAD_BEFORE_SLEEP}) finds the task
     * running, its wake-up is lost, and the kthread sleeps its full delay before it sees the request
     * ({@link FixSwitch#TRANS_KTHREAD_LOST_STOP_WAKEUP}, a proposed fix, sets the state before the test).
     */
    private static int loop(FsInfo fs, Kthread self) {
        boolean v510 = fs.kernel.config().version() == KernelVersion.V5_10;
        do {
            long delaySeconds = fs.commitInterval();
            boolean cannotCommit = false;
            fs.transactionKthreadMutex.lock();
            try {
                Transaction cur;
                long transid = -1;
                synchronized (fs.transLock) {
                    cur = fs.runningTransaction;
                    if (cur != null) {
                        long now = fs.kernel.clock().seconds();
                        long delta = now - cur.startTime;
                        // v5.17: an async commit (BTRFS_FS_COMMIT_TRANS) wants it committed whatever its age
                        boolean young = !fs.flags.testAndClear(FsFlag.COMMIT_TRANS)
                            && cur.state.compareTo(TransState.COMMIT_START) < 0;
                        if (v510 && young && (now < cur.startTime || delta < fs.commitInterval())) {
                            delaySeconds = V5_10_POLL_SECONDS;
                            cur = null;
                        } else if (!v510 && young && delta < fs.commitInterval()) {
                            // 5.11: sleep until the transaction reaches commit_interval, about 1 s after
                            delaySeconds = Math.min(fs.commitInterval(), fs.commitInterval() - (delta - 1));
                            cur = null;
                        } else {
                            transid = cur.transid;
                        }
                    }
                }
                if (cur != null) {
                    fs.kernel.hooks().arrive(Hook.TRANS_KTHREAD_BEFORE_COMMIT);
                    TransHandle h = null;
                    try {
                        h = Transactions.attach(fs, fs.treeRoot(), "transaction_kthread");
                    } catch (RuntimeException e) {
                        cannotCommit = true; // an error other than -ENOENT
                    }
                    if (h != null) {
                        try {
                            if (h.transid() == transid) {
                                Transactions.commit(h);
                            } else {
                                Transactions.end(h);
                            }
                        } catch (org.jbtrfs.core.BtrfsException ignored) {
                            // the kernel ignores btrfs_commit_transaction()'s return here
                        }
                    }
                }
                // sleep: wake the cleaner every loop
                Kthread cleaner = fs.cleanerKthread();
                if (cleaner != null) {
                    cleaner.wakeUpProcess();
                }
            } finally {
                fs.transactionKthreadMutex.unlock();
            }
            if (fs.fsState.test(FsState.ERROR)) {
                Transactions.cleanupTransaction(fs);
            }
            if (!self.shouldStop() && (!transactionBlocked(fs) || cannotCommit)) {
                fs.kernel.hooks().arrive(Hook.TRANS_KTHREAD_BEFORE_SLEEP);
                long nanos = TimeUnit.SECONDS.toNanos(Math.max(1, delaySeconds));
                boolean stopFix = fs.applied(FixSwitch.TRANS_KTHREAD_LOST_STOP_WAKEUP);
                boolean kickFix = fs.applied(FixSwitch.COMMIT_TRANS_LOST_WAKEUP);
                if (stopFix || kickFix) {
                    // proposed fixes: set the state first, then test what a wake-up since the tests above came to say —
                    // kthread_stop's, or an async commit's kick (BTRFS_FS_COMMIT_TRANS is set before its wake_up_process)
                    self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                    boolean woken = stopFix && self.shouldStop() || kickFix && fs.flags.test(FsFlag.COMMIT_TRANS);
                    if (!woken) {
                        self.scheduleTimeout(nanos);
                    }
                    self.setCurrentState(Kthread.TaskState.RUNNING);
                } else {
                    self.scheduleTimeoutInterruptible(nanos);
                }
            }
        } while (!self.shouldStop());
        return 0;
    }

    /** kernel: btrfs_transaction_blocked() — a commit is between COMMIT_START and UNBLOCKED. */
    private static boolean transactionBlocked(FsInfo fs) {
        synchronized (fs.transLock) {
            Transaction t = fs.runningTransaction;
            return t != null && t.state.compareTo(TransState.COMMIT_START) >= 0 && t.state.compareTo(TransState.UNBLOCKED) < 0
                && !t.aborted;
        }
    }
}
