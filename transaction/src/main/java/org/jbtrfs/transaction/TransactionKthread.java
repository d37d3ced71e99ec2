package org.jbtrfs.transaction;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Kthread;

/**
 * kernel: transaction_kthread() in fs/btrfs/disk-io.c (5.11): commits the running transaction once it
 * is commit_interval seconds old, wakes the cleaner on every loop, and checks for a stop request only
 * at the end of the loop — stopping it never commits.
 */
public final class TransactionKthread {
    private TransactionKthread() { }

    /** kernel: kthread_run(transaction_kthread, tree_root, "btrfs-transaction") */
    public static Kthread start(FsInfo fs) {
        return fs.kernel.kthreadd().run("btrfs-transaction", self -> loop(fs, self));
    }

    private static int loop(FsInfo fs, Kthread self) {
        do {
            long delaySeconds = fs.commitInterval;
            boolean cannotCommit = false;
            fs.transactionKthreadMutex.lock();
            try {
                Transaction cur;
                long transid = -1;
                synchronized (fs.transLock) {
                    cur = fs.runningTransaction;
                    if (cur != null) {
                        long delta = fs.kernel.clock().seconds() - cur.startTime;
                        if (cur.state.compareTo(TransState.COMMIT_START) < 0 && delta < fs.commitInterval) {
                            // 5.11: sleep until the transaction reaches commit_interval, about 1 s after
                            delaySeconds = Math.min(fs.commitInterval, fs.commitInterval - (delta - 1));
                            cur = null;
                        } else {
                            transid = cur.transid;
                        }
                    }
                }
                if (cur != null) {
                    fs.kernel.hooks().arrive(Hook.TRANS_KTHREAD_BEFORE_COMMIT);
                    try {
                        TransHandle h = Transactions.attach(fs, fs.treeRoot, "transaction_kthread");
                        if (h != null) {
                            if (h.transid() == transid) {
                                Transactions.commit(h);
                            } else {
                                Transactions.end(h);
                            }
                        }
                    } catch (RuntimeException e) {
                        cannotCommit = true;
                        fs.log().error(fs.sbId(), "transaction kthread: commit failed: " + e.getMessage());
                    }
                }
                // sleep: wake the cleaner every loop
                Kthread cleaner = fs.cleanerKthread;
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
                self.scheduleTimeout(TimeUnit.SECONDS.toNanos(Math.max(1, delaySeconds)));
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
