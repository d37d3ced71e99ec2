package org.jbtrfs.fs;

import org.jbtrfs.core.disk.BalanceArgs;

/**
 * The filters of one chunk type of a balance ({@code btrfs balance start -d<filters> -m<filters> -s<filters>}), those
 * the port has: none (every chunk of the type), {@code usage=N} and {@code vrange=START..END}. Relocation is not ported:
 * a balance whose filters pick a chunk ends with EOPNOTSUPP ({@link Btrfs#balanceStart}).
 */
public final class BalanceFilter {
    /** No filter: every chunk of the type. */
    public static final BalanceFilter NONE = new BalanceFilter(BalanceArgs.NONE);

    private final BalanceArgs args;

    private BalanceFilter(BalanceArgs args) { this.args = args; }

    /**
     * {@code usage=N}: the chunks used less than {@code percent} percent of their length (0: the empty ones).
     *
     * @throws IllegalArgumentException unless 0 ≤ percent ≤ 100
     */
    public static BalanceFilter usage(int percent) { return new BalanceFilter(BalanceArgs.usage(percent)); }

    /**
     * {@code vrange=START..END}: the chunks overlapping the logical range [start, end).
     *
     * @throws IllegalArgumentException unless start is below end (unsigned)
     */
    public static BalanceFilter vrange(long start, long end) { return new BalanceFilter(BalanceArgs.vrange(start, end)); }

    BalanceArgs args() { return args; }

    @Override
    public String toString() { return args.toString(); }
}
