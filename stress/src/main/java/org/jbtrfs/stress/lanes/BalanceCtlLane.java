package org.jbtrfs.stress.lanes;

import org.jbtrfs.fs.Btrfs;

/**
 * The second balance process ({@link LaneKind#BALANCE2}, only beside the {@link BalanceLane}): {@code btrfs balance
 * pause} most often, {@code btrfs balance cancel} and {@code btrfs balance status} — an administrator pausing a balance
 * another shell started. A pause that finds no running balance is ENOTCONN, the kernel's answer.
 */
final class BalanceCtlLane extends SteppingLane {
    BalanceCtlLane(LaneContext cx) { super(LaneKind.BALANCE2, cx, 0.6, 0.8, 1.0); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.6) {
            run("balance pause", fs::balancePause);
        } else if (u < 0.8) {
            run("balance cancel", fs::balanceCancel);
        } else {
            run("balance status", fs::balanceStatus);
        }
    }
}
