package org.jbtrfs.core;

/** Fault-injection sites, named after the kernel call that fails and the error it returns. */
public enum Fault {
    /** btrfs_del_orphan_item() fails with -ENOMEM (path allocation): the error drop_snapshot ignores (patch 2/5). */
    DEL_ORPHAN_ITEM_ENOMEM(Errno.ENOMEM),
    /** btrfs_start_transaction() fails with -ENOSPC (metadata reservation). */
    START_TRANSACTION_ENOSPC(Errno.ENOSPC),
    /** btrfs_commit_transaction() fails with -EIO writing tree blocks. */
    COMMIT_TRANSACTION_EIO(Errno.EIO),
    /** btrfs_orphan_cleanup() fails with -ENOMEM. */
    ORPHAN_CLEANUP_ENOMEM(Errno.ENOMEM),
    /**
     * btrfs_write_and_wait_transaction() fails with -EIO — a tree block write of the commit, where the kernel has it:
     * after switch_commit_roots, the transaction UNBLOCKED (a new one may start meanwhile), before the superblock;
     * btrfs_handle_fs_error ("Error while writing out transaction"), then cleanup_transaction's abort (stop 66).
     * {@link #COMMIT_TRANSACTION_EIO} fails the commit earlier, before its roots change.
     */
    WRITE_AND_WAIT_TRANSACTION_EIO(Errno.EIO),
    /**
     * btrfs_alloc_tree_block() fails with -ENOSPC before anything changed — btrfs_use_block_rsv found the handle's
     * reserve, the global reserve and a no-flush reservation all short ("block rsv returned -28" with enospc_debug), as
     * on a nearly full filesystem whose reservations ran out: the COW, split or new root that wanted the block fails, and
     * its caller's error path runs (an abort; of an unused handle when it was the handle's first block, stop 69).
     */
    ALLOC_TREE_BLOCK_ENOSPC(Errno.ENOSPC),
    /**
     * A write bio or a cache flush of the filesystem's device fails with -EIO (stop 71): the block layer's own fault
     * injection, {@code fail_make_request} with {@code make-it-fail} set on the disk, as a disk with bad sectors or a
     * pulled cable gives it. Each bio btrfs_map_bio submits draws: a data bio's error reaches its ordered extent and the
     * mapping (fsync's -EIO), a tree block's reaches the commit (set_btree_ioerr), the superblock's and the barrier's
     * reach write_all_supers; reads are {@link #BIO_READ_EIO}'s.
     */
    BIO_WRITE_EIO(Errno.EIO),
    /**
     * A read bio of the filesystem's device fails with -EIO (stop 73): {@code fail_make_request} on reads, as a disk with
     * a sector it cannot read gives it. Counted in the device's read errors (btrfs_end_bio); a tree block read tries
     * the next mirror (during a replace: the target) and fails -EIO when none is left; a file read returns -EIO; a v1
     * free-space cache that cannot be read is rebuilt; a scrub counts a read error. The superblock reads of a mount
     * (btrfs_read_dev_super, before the filesystem's devices are mapped) are not failed.
     */
    BIO_READ_EIO(Errno.EIO);

    private final Errno errno;

    Fault(Errno errno) { this.errno = errno; }

    public Errno errno() { return errno; }
}
