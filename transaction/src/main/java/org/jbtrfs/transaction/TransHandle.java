package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.SlabObject;
import org.jbtrfs.transaction.space.BlockGroup;

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
    /**
     * trans->dirty: the handle changed a tree — a block COWed or allocated through it (btrfs_cow_block, btrfs_search_slot
     * and btrfs_init_new_buffer set it), or it is committing. An abort of a handle that is not dirty and created no block
     * group leaves the transaction alone ("Aborting unused transaction", {@link Transactions#abort(TransHandle, String,
     * Throwable)}).
     */
    boolean dirty;
    /** trans->aborted: the errno this handle was aborted with (__btrfs_abort_transaction), null while it was not. */
    volatile Errno aborted;
    /**
     * trans->new_bgs: block groups this handle's chunk allocations created (btrfs_make_block_group), whose items its end
     * or commit inserts (btrfs_create_pending_block_groups). Only the handle's task touches it.
     */
    final List<BlockGroup> newBgs = new ArrayList<>();
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

    /** TRANS_ABORTED(trans) of this handle: the errno it was aborted with, null if it was not. */
    public Errno aborted() { return aborted; }

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
