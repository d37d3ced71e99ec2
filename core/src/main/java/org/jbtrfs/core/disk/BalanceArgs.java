package org.jbtrfs.core.disk;

/**
 * struct btrfs_balance_args (struct btrfs_disk_balance_args on disk, 136 bytes): the filters of one chunk type —
 * profiles, usage (or usage_min and usage_max in the same 8 bytes), devid, the physical and logical ranges, the convert
 * target, the filter flags (BTRFS_BALANCE_ARGS_*), limit (or limit_min and limit_max), stripes_min and stripes_max, then
 * 6 unused u64.
 */
public record BalanceArgs(long profiles, long usage, long devid, long pstart, long pend, long vstart, long vend,
                          long target, long flags, long limit, int stripesMin, int stripesMax) {
    public static final int SIZE = 136;

    /** BTRFS_BALANCE_ARGS_PROFILES */
    public static final long PROFILES = 1L << 0;
    /** BTRFS_BALANCE_ARGS_USAGE: a chunk used less than {@code usage} percent (0: empty) is balanced. */
    public static final long USAGE = 1L << 1;
    /** BTRFS_BALANCE_ARGS_DEVID */
    public static final long DEVID = 1L << 2;
    /** BTRFS_BALANCE_ARGS_DRANGE */
    public static final long DRANGE = 1L << 3;
    /** BTRFS_BALANCE_ARGS_VRANGE: a chunk overlapping [vstart, vend) is balanced. */
    public static final long VRANGE = 1L << 4;
    /** BTRFS_BALANCE_ARGS_LIMIT */
    public static final long LIMIT = 1L << 5;
    /** BTRFS_BALANCE_ARGS_LIMIT_RANGE */
    public static final long LIMIT_RANGE = 1L << 6;
    /** BTRFS_BALANCE_ARGS_STRIPES_RANGE */
    public static final long STRIPES_RANGE = 1L << 7;
    /** BTRFS_BALANCE_ARGS_USAGE_RANGE */
    public static final long USAGE_RANGE = 1L << 10;
    /** BTRFS_BALANCE_ARGS_CONVERT */
    public static final long CONVERT = 1L << 8;
    /** BTRFS_BALANCE_ARGS_SOFT */
    public static final long SOFT = 1L << 9;

    /** No filter: every chunk of the type. */
    public static final BalanceArgs NONE = new BalanceArgs(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** {@code -dusage=N}: the chunks used less than {@code percent} percent (0: the empty ones). */
    public static BalanceArgs usage(int percent) {
        if (percent < 0 || percent > 100) {
            throw new IllegalArgumentException("usage must be 0..100: " + percent);
        }
        return new BalanceArgs(0, percent, 0, 0, 0, 0, 0, 0, USAGE, 0, 0, 0);
    }

    /** {@code -dvrange=START..END}: the chunks overlapping [start, end). */
    public static BalanceArgs vrange(long start, long end) {
        if (Long.compareUnsigned(start, end) >= 0) {
            throw new IllegalArgumentException("vrange start must be below its end: " + start + ".." + end);
        }
        return new BalanceArgs(0, 0, 0, 0, 0, start, end, 0, VRANGE, 0, 0, 0);
    }

    void encode(byte[] b, int off) {
        Le.u64(b, off, profiles);
        Le.u64(b, off + 8, usage);
        Le.u64(b, off + 16, devid);
        Le.u64(b, off + 24, pstart);
        Le.u64(b, off + 32, pend);
        Le.u64(b, off + 40, vstart);
        Le.u64(b, off + 48, vend);
        Le.u64(b, off + 56, target);
        Le.u64(b, off + 64, flags);
        Le.u64(b, off + 72, limit);
        Le.u32(b, off + 80, stripesMin);
        Le.u32(b, off + 84, stripesMax);
    }

    static BalanceArgs decode(byte[] b, int off) {
        return new BalanceArgs(Le.u64(b, off), Le.u64(b, off + 8), Le.u64(b, off + 16), Le.u64(b, off + 24),
            Le.u64(b, off + 32), Le.u64(b, off + 40), Le.u64(b, off + 48), Le.u64(b, off + 56), Le.u64(b, off + 64),
            Le.u64(b, off + 72), Le.u32(b, off + 80), Le.u32(b, off + 84));
    }
}
