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
    ORPHAN_CLEANUP_ENOMEM(Errno.ENOMEM);

    private final Errno errno;

    Fault(Errno errno) { this.errno = errno; }

    public Errno errno() { return errno; }
}
