package org.jbtrfs.fs;

/**
 * What {@code btrfs balance status} reads (struct btrfs_ioctl_balance_args, filled by btrfs_update_ioctl_balance_args):
 * the balance's flags (BTRFS_BALANCE_DATA, _METADATA, _SYSTEM, _FORCE, _RESUME), its state and its progress.
 *
 * @param flags      bctl->flags
 * @param state      BTRFS_BALANCE_STATE_RUNNING (1), _PAUSE_REQ (2), _CANCEL_REQ (4)
 * @param expected   the chunks the counting pass picked
 * @param considered the chunks the balancing pass looked at
 * @param completed  the chunks relocated
 */
public record BalanceProgress(long flags, long state, long expected, long considered, long completed) {
    /** BTRFS_BALANCE_DATA: balance the data chunks. */
    public static final long DATA = org.jbtrfs.transaction.BalanceCtl.DATA;
    /** BTRFS_BALANCE_SYSTEM: balance the system chunks (with FORCE in btrfs-progs). */
    public static final long SYSTEM = org.jbtrfs.transaction.BalanceCtl.SYSTEM;
    /** BTRFS_BALANCE_METADATA: balance the metadata chunks. */
    public static final long METADATA = org.jbtrfs.transaction.BalanceCtl.METADATA;
    /** BTRFS_BALANCE_FORCE */
    public static final long FORCE = org.jbtrfs.transaction.BalanceCtl.FORCE;
    /** BTRFS_BALANCE_RESUME: set on a balance recovered from disk or resumed. */
    public static final long RESUME = org.jbtrfs.transaction.BalanceCtl.RESUME;

    /** The state's BTRFS_BALANCE_STATE_RUNNING bit: the balance runs (not paused). */
    public boolean running() { return (state & Balance.STATE_RUNNING) != 0; }
}
