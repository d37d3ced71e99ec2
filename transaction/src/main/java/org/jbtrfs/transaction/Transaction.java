package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.kernel.SlabObject;
import org.jbtrfs.transaction.space.BlockGroup;

/**
 * struct btrfs_transaction. Fields are guarded by {@link FsInfo#transLock} unless noted.
 */
public final class Transaction {
    public final long transid;
    /** ktime_get_seconds() at creation, on the module clock. */
    public final long startTime;
    volatile TransState state = TransState.RUNNING;
    int numWriters = 1;
    /**
     * num_extwriters: the handles of types in TRANS_EXTWRITERS (START, ATTACH) still open. A commit
     * waits for these in COMMIT_START and only then for num_writers == 1 in COMMIT_DOING, so joiners
     * (JOIN) may still enter while the commit waits for external writers.
     */
    int numExtwriters;
    int useCount = 2;
    volatile boolean aborted;
    /** cur_trans->aborted's value: the errno of the last btrfs_abort_transaction (what a commit waiting on it returns). */
    volatile org.jbtrfs.core.Errno abortErrno = org.jbtrfs.core.Errno.EIO;
    /** BTRFS_TRANS_CACHE_ENOSPC: a cache setup hit ENOSPC; no more cache setup in this transaction. */
    volatile boolean cacheEnospc;
    /** The transaction's dirty_pages io tree: bytenr → its EXTENT_DIRTY extent_state. Guarded by itself. */
    final Map<Long, SlabObject> dirtyPages = new LinkedHashMap<>();
    /** Extents freed by this transaction, unpinned when it commits: bytenr → length. Guarded by itself. */
    final Map<Long, Long> pinned = new LinkedHashMap<>();
    final DelayedRefs delayedRefs;
    /** Block groups removed in this transaction; their chunks are released at commit. Guarded by itself. */
    final List<BlockGroup> deletedBgs = new ArrayList<>();
    /**
     * The transaction's dropped_roots: subvolumes btrfs_drop_snapshot finished in it (btrfs_add_dropped_root), still in
     * fs_roots_radix until the commit's switch_commit_roots frees them. Guarded by itself (dropped_roots_lock).
     */
    final List<Root> droppedRoots = new ArrayList<>();
    /** Every handle that used this transaction: who (thread, kernel function), for leak reports. */
    final List<HandleRecord> handles = new ArrayList<>();
    /** The handles not ended yet, for the deadlock oracle's edges ({@link TransWaits}); concurrent: read unlocked. */
    final java.util.Set<TransHandle> live = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The task committing it (set with COMMIT_START), for the deadlock oracle; null before. */
    volatile Thread committer;

    Transaction(long transid, long startTime, DelayedRefs delayedRefs) {
        this.transid = transid;
        this.startTime = startTime;
        this.delayedRefs = delayedRefs;
    }

    public TransState state() { return state; }

    /**
     * num_writers now. Guarded by {@link FsInfo#transLock}: hold it for a value consistent with
     * {@link #numExtwriters()} (a reproducer's proof of who a commit is waiting for).
     */
    public int numWriters() { return numWriters; }

    /** num_extwriters now: the START / ATTACH handles a commit in COMMIT_START waits for. See {@link #numWriters()}. */
    public int numExtwriters() { return numExtwriters; }

    /** Who opened handles on this transaction, oldest first. */
    public synchronized List<HandleRecord> handles() { return new ArrayList<>(handles); }

    synchronized void record(HandleRecord r) { handles.add(r); }

    @Override
    public String toString() { return "transaction " + transid + " (" + state + ")"; }

    /** One handle's origin. */
    public record HandleRecord(String thread, String function, TransType type) {
        @Override
        public String toString() { return function + " [" + type + "] in " + thread; }
    }
}
