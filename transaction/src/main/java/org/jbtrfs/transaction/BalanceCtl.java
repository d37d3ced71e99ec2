package org.jbtrfs.transaction;

import org.jbtrfs.core.disk.BalanceArgs;
import org.jbtrfs.core.disk.BalanceItem;

/**
 * struct btrfs_balance_control: the balance's flags (which chunk types, FORCE, RESUME), the filters of each type and
 * its progress counters (bctl->stat: expected, considered, completed — under balance_lock). The filters' limit counts
 * down as chunks are picked, as the kernel's does.
 */
public final class BalanceCtl {
    /** BTRFS_BALANCE_DATA */
    public static final long DATA = 1L << 0;
    /** BTRFS_BALANCE_SYSTEM */
    public static final long SYSTEM = 1L << 1;
    /** BTRFS_BALANCE_METADATA */
    public static final long METADATA = 1L << 2;
    /** BTRFS_BALANCE_TYPE_MASK */
    public static final long TYPE_MASK = DATA | SYSTEM | METADATA;
    /** BTRFS_BALANCE_FORCE */
    public static final long FORCE = 1L << 3;
    /** BTRFS_BALANCE_RESUME */
    public static final long RESUME = 1L << 4;
    /** BTRFS_BALANCE_ARGS_MASK, the flags a caller may pass besides the types. */
    public static final long ARGS_MASK = FORCE | RESUME;

    public volatile long flags;
    public BalanceArgs data;
    public BalanceArgs meta;
    public BalanceArgs sys;
    public long expected;
    public long considered;
    public long completed;

    /** kfree(bctl) by reset_balance_state: whoever still runs a balance on it uses it freed. */
    private final org.jbtrfs.core.kernel.FreedSlot freed = new org.jbtrfs.core.kernel.FreedSlot();

    public BalanceCtl(long flags, BalanceArgs data, BalanceArgs meta, BalanceArgs sys) {
        this.flags = flags;
        this.data = data;
        this.meta = meta;
        this.sys = sys;
    }

    /** kfree(bctl): reset_balance_state's (or btrfs_free_fs_info's). */
    public void free(org.jbtrfs.core.KernelLog log) { freed.free(log, "struct btrfs_balance_control"); }

    /** A use of this balance control by {@code function}: a KASAN report once it was freed. */
    public void use(String function) { freed.use(function); }

    /** What insert_balance_item writes: the flags, then the three args. */
    public BalanceItem item() { return new BalanceItem(flags, data, meta, sys); }
}
