package org.jbtrfs.stress.lanes;

import org.jbtrfs.fs.BalanceFilter;
import org.jbtrfs.fs.BalanceProgress;
import org.jbtrfs.fs.Btrfs;

/**
 * The balance lane (stop 64): {@code btrfs balance start} of some chunk types, {@code btrfs balance resume} and
 * {@code btrfs balance status}, while {@link BalanceCtlLane} pauses and cancels from another process. Relocation is not
 * ported, so the filters pick no chunk ({@link #NOTHING}: a vrange past any device): each balance still commits its
 * item, walks every chunk twice and deletes the item at its end — and a pause that lands on the walk leaves the item on
 * disk, for the next read-write mount or RO→RW remount to resume in the btrfs-balance kthread while the lifecycle lane
 * remounts and umounts (BALANCE_RESUME_PAUSE_RACE's window). EINPROGRESS, ECANCELED, ENOTCONN, EROFS are the kernel's
 * answers.
 */
final class BalanceLane extends SteppingLane {
    /** A vrange no chunk of the explorer's devices reaches: the walk looks at every chunk and picks none. */
    static final BalanceFilter NOTHING = BalanceFilter.vrange(1L << 50, (1L << 50) + 1);
    /** The chunk types a start balances, drawn per start: data, metadata, or both. */
    private static final long[] TYPES = {BalanceProgress.DATA, BalanceProgress.METADATA,
        BalanceProgress.DATA | BalanceProgress.METADATA};

    BalanceLane(LaneContext cx) { super(LaneKind.BALANCE, cx, 0.6, 0.8, 1.0); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.6) {
            long types = TYPES[(int) (u / 0.2)];
            run("balance start", () -> fs.balanceStart(types, NOTHING, NOTHING, BalanceFilter.NONE));
        } else if (u < 0.8) {
            run("balance resume", fs::balanceResume);
        } else {
            run("balance status", fs::balanceStatus);
        }
    }
}
