package org.jbtrfs.transaction;

import org.jbtrfs.core.kernel.SlabObject;

/** struct btrfs_trans_handle: one user of a transaction, from start/join/attach until end or commit. */
public final class TransHandle {
    final Transaction transaction;
    final FsInfo fsInfo;
    final Root root;
    final TransType type;
    final SlabObject slabObj;
    /** Metadata bytes reserved in trans_block_rsv for this handle (released at end). */
    long bytesReserved;
    /** Tree blocks freed or COWed through this handle, for btrfs_should_end_transaction. */
    int blocksTouched;
    private boolean ended;
    /**
     * The task that started it (current->journal_info's task): who must end it — the kworker of an async commit once it
     * has taken the handle over (do_async_commit sets current->journal_info).
     */
    volatile Thread task = Thread.currentThread();
    /** The handle's sb_start_intwrite hold (a freezable handle), until sb_end_intwrite; null if none. */
    Object intwrite;
    /** The handle's lockdep reads of btrfs_trans_num_writers / num_extwriters ({@link TransLockdep}); null when released. */
    org.jbtrfs.core.kernel.Lockdep.Held lockdepWriters;
    org.jbtrfs.core.kernel.Lockdep.Held lockdepExtwriters;

    TransHandle(FsInfo fsInfo, Transaction transaction, Root root, TransType type, SlabObject slabObj) {
        this.fsInfo = fsInfo;
        this.transaction = transaction;
        this.root = root;
        this.type = type;
        this.slabObj = slabObj;
    }

    public long transid() { return transaction.transid; }

    public Transaction transaction() { return transaction; }

    public FsInfo fsInfo() { return fsInfo; }

    boolean markEnded() {
        if (ended) {
            return false;
        }
        ended = true;
        transaction.live.remove(this);
        return true;
    }

    public boolean isEnded() { return ended; }
}
