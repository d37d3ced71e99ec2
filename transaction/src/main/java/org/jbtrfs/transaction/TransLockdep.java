package org.jbtrfs.transaction;

import org.jbtrfs.core.kernel.Lockdep;

/**
 * btrfs' lockdep annotations of the transaction's wait events (ctree.h/transaction.c since v6.1, "btrfs: add lockdep
 * annotations for the num_writers wait event" and its siblings): the waits of a commit on its writers and of everyone
 * else on a commit's state are wait_event()s, which lockdep does not see, so btrfs gives each a lockdep map of its own.
 * A handle holds {@code btrfs_trans_num_writers} and {@code btrfs_trans_num_extwriters} as a reader from join to end; a
 * committer holds the state maps ({@code btrfs_trans_commit_start}, {@code btrfs_trans_unblocked},
 * {@code btrfs_trans_completed}) as a reader until it reaches that state; a wait for writers or for a state "might wait"
 * (acquires the map as a writer and releases it at once). A task that waits for a commit while holding a lock the commit
 * needs — or holds a handle while taking a lock held by someone who waits for the commit — closes a cycle that lockdep
 * reports before any deadlock happens.
 *
 * <p>Applied with lockdep ({@link org.jbtrfs.core.KernelConfig#lockdep}) to every modelled version: they change no
 * behaviour, only what lockdep can see (5.11's btrfs has none, so its lockdep missed what these let it see). The 5.11
 * states have no SUPER_COMMITTED (6.0) and no COMMIT_PREP (6.5): the commit_start map is released when COMMIT_START is
 * set, as 6.1 does. The ordered extents' map ({@code btrfs_ordered_extent}) is the fs module's (OrderedExtents). Not
 * annotated: btrfs_trans_pending_ordered (the port has no fast fsync ordered-extent wait in the commit).
 */
final class TransLockdep {
    private TransLockdep() { }

    static final String NUM_WRITERS = "btrfs_trans_num_writers";
    static final String NUM_EXTWRITERS = "btrfs_trans_num_extwriters";
    static final String COMMIT_START = "btrfs_trans_commit_start";
    static final String UNBLOCKED = "btrfs_trans_unblocked";
    static final String COMPLETED = "btrfs_trans_completed";

    /** join_transaction()'s btrfs_lockdep_acquire of num_writers and num_extwriters (every handle, as a reader). */
    static void joined(TransHandle h) {
        Lockdep ld = h.fsInfo.kernel.lockdep();
        h.lockdepWriters = ld.acquireMap(NUM_WRITERS);
        h.lockdepExtwriters = ld.acquireMap(NUM_EXTWRITERS);
    }

    /** btrfs_lockdep_release(num_extwriters): the committer before its wait for the external writers. */
    static void releaseExtwriters(TransHandle h) {
        Lockdep.Held e = h.lockdepExtwriters;
        h.lockdepExtwriters = null;
        h.fsInfo.kernel.lockdep().release(e);
    }

    /** __btrfs_end_transaction()'s release of num_extwriters then num_writers (whichever the handle still holds). */
    static void releaseWriters(TransHandle h) {
        releaseExtwriters(h);
        Lockdep.Held w = h.lockdepWriters;
        h.lockdepWriters = null;
        h.fsInfo.kernel.lockdep().release(w);
    }

    /** btrfs_might_wait_for_event / btrfs_might_wait_for_state: the map taken as a writer and released at once. */
    static void mightWaitFor(FsInfo fs, String map) {
        fs.kernel.lockdep().mightWaitFor(map);
    }

    /** btrfs_trans_state_lockdep_acquire: the committer holds a state's map (as a reader) until it reaches the state. */
    static Lockdep.Held acquireState(FsInfo fs, String state) {
        return fs.kernel.lockdep().acquireMap(state);
    }

    /** btrfs_trans_state_lockdep_release. */
    static void releaseState(FsInfo fs, Lockdep.Held held) {
        fs.kernel.lockdep().release(held);
    }
}
