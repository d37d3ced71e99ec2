package org.jbtrfs.stress.lanes;

import java.util.SplittableRandom;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.stress.Seeds;

/**
 * The second quota process ({@link LaneKind#QUOTA2}, only beside the {@link QuotaLane}): quota commands only —
 * `btrfs quota rescan` most often, against the quota lane's disable and enable, and `btrfs qgroup create` and
 * `btrfs qgroup destroy` — so that two quota ioctls race as they do from two users' shells (the loop of enable, create,
 * destroy and disable that d4aef1e122d8's message gives). The files the rescans walk are the quota lane's.
 */
final class SecondQuotaLane extends SteppingLane {
    /**
     * Whether a disable is followed at once by an enable, as a script resetting quotas does: drawn from a stream of
     * its own (added after the lane's choices were fixed), so the lane's other choices stay what they were.
     */
    private final SplittableRandom requota;

    SecondQuotaLane(LaneContext cx) {
        super(LaneKind.QUOTA2, cx, 0.45, 0.65, 0.8, 1.0);
        requota = Seeds.stream(cx.cycleSeed, "lane:quota2:requota");
        qgroupCreate = Seeds.stream(cx.cycleSeed, "lane:quota2:qgroup-create");
        qgroupDestroy = Seeds.stream(cx.cycleSeed, "lane:quota2:qgroup-destroy");
    }

    /**
     * Whether a step is preceded by {@code btrfs qgroup create 0/N} (BTRFS_IOC_QGROUP_CREATE: a joined transaction, then
     * qgroup_ioctl_lock) and which N: a stream of its own (added in stop 47), so the lane's other choices stay.
     */
    private final SplittableRandom qgroupCreate;

    /**
     * Whether a step is preceded by {@code btrfs qgroup destroy 0/N} (the same ioctl, create = 0) and which N — often a
     * live subvolume's qgroup, as 5.11 allows: a stream of its own (added in stop 48), so the lane's other choices stay.
     */
    private final SplittableRandom qgroupDestroy;

    @Override
    void step(Btrfs fs, double u) {
        if (qgroupCreate.nextDouble() < 0.3) {
            long id = 256 + qgroupCreate.nextInt(8);
            run("qgroup create", () -> fs.qgroupCreate(id));
        }
        if (qgroupDestroy.nextDouble() < 0.2) {
            long id = 256 + qgroupDestroy.nextInt(8);
            run("qgroup destroy", () -> fs.qgroupDestroy(id));
        }
        if (u < 0.45) {
            run("quota rescan", fs::quotaRescan);
        } else if (u < 0.65) {
            disableQuotas(fs, requota);
        } else if (u < 0.8) {
            run("quota enable", fs::quotaEnable);
        } else {
            run("quota rescan wait", fs::quotaRescanWait);
        }
    }
}
