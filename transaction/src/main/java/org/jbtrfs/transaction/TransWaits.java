package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.kernel.Blockers;

/**
 * Who can end the transaction's waits — the deadlock oracle's edges ({@link org.jbtrfs.core.kernel.WaitGraph}). A
 * commit waiting for its writers needs every other handle of the transaction ended, each by the task that started it
 * (a handle is its task's: current->journal_info); a wait for a transaction's state (wait_current_trans,
 * wait_for_commit, a commit's wait for the previous one) ends when its committer gets there or when a writer aborts it
 * (btrfs_abort_transaction goes through a handle). Once the filesystem is in error state anyone may clean the
 * transactions up (the transaction kthread's btrfs_cleanup_transaction, close_ctree's error commit): the state waits
 * then name nobody, and the oracle never calls them stuck.
 */
final class TransWaits {
    private TransWaits() { }

    /** "commit: wait for writers": every handle of {@code self}'s transaction but {@code self}. */
    static Blockers writers(TransHandle self) {
        return Blockers.allOf(() -> tasks(self.transaction, self, false));
    }

    /** btrfs_cleanup_transaction's wait for 0 num_writers: every handle of {@code t}. */
    static Blockers writersOf(Transaction t) {
        return Blockers.allOf(() -> tasks(t, null, false));
    }

    /** "commit: wait for external writers": the START / ATTACH handles but {@code self}. */
    static Blockers extwriters(TransHandle self) {
        return Blockers.allOf(() -> tasks(self.transaction, self, true));
    }

    /** A wait for {@code t}'s state: its committer, or any writer (which may abort it); null for no transaction. */
    static Blockers stateOf(FsInfo fs, Transaction t) {
        if (t == null) {
            return null;
        }
        return Blockers.anyOf(() -> {
            if (fs.fsState.test(FsState.ERROR)) {
                return List.of();
            }
            java.util.Set<Thread> l = new java.util.LinkedHashSet<>(tasks(t, null, false));
            Thread c = t.committer;
            if (c != null) {
                l.add(c); // usually one of them: the committer's handle is live until the commit's end
            }
            return l;
        });
    }

    private static Collection<Thread> tasks(Transaction t, TransHandle except, boolean extwritersOnly) {
        List<Thread> l = new ArrayList<>();
        for (TransHandle h : t.live) {
            if (h != except && (!extwritersOnly || h.type.isExtwriter())) {
                l.add(h.task);
            }
        }
        return l;
    }
}
