package org.jbtrfs.stress.lanes;

import org.jbtrfs.fs.Btrfs;

/**
 * The second quota process ({@link LaneKind#QUOTA2}, only beside the {@link QuotaLane}): quota commands only —
 * `btrfs quota rescan` most often, against the quota lane's disable and enable — so that two quota ioctls race as
 * they do from two users' shells. The files the rescans walk are the quota lane's.
 */
final class SecondQuotaLane extends SteppingLane {
    SecondQuotaLane(LaneContext cx) { super(LaneKind.QUOTA2, cx); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.45) {
            run("quota rescan", fs::quotaRescan);
        } else if (u < 0.65) {
            run("quota disable", fs::quotaDisable);
        } else if (u < 0.8) {
            run("quota enable", fs::quotaEnable);
        } else {
            run("quota rescan wait", fs::quotaRescanWait);
        }
    }
}
