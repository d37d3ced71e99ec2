package org.jbtrfs.transaction.space;

/**
 * kernel: enum btrfs_reserve_flush_enum (fs/btrfs/space-info.h) — how far a metadata reservation that does not fit may
 * go to make room. The port's reservations use the three below; the priority flushers (FLUSH_LIMIT, FLUSH_EVICT) and the
 * data ones are not modelled.
 */
public enum Flush {
    /** BTRFS_RESERVE_NO_FLUSH: fit now (overcommitting up to half the unallocated space) or -ENOSPC. */
    NO_FLUSH,
    /** BTRFS_RESERVE_FLUSH_ALL: queue a ticket, kick the async reclaim work and wait for it (btrfs_start_transaction). */
    FLUSH_ALL,
    /**
     * BTRFS_RESERVE_FLUSH_ALL_STEAL: as FLUSH_ALL, and when reclaim gives up, take the bytes from the global reserve
     * (btrfs_start_transaction_fallback_global_rsv: unlink, rmdir, removing a block group).
     */
    FLUSH_ALL_STEAL;

    /** kernel: is_normal_flushing() — the async reclaim work flushes for this ticket. */
    boolean normal() { return this == FLUSH_ALL || this == FLUSH_ALL_STEAL; }
}
