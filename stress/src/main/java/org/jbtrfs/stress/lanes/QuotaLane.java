package org.jbtrfs.stress.lanes;

import java.util.SplittableRandom;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.workload.FullWorkload;

/**
 * The quota lane: enable and disable quotas, start a rescan, wait for it, read the usage; and append
 * one-byte extents to "ext" so that a rescan spans several extent-tree leaves (a window for every
 * remount and umount to land in).
 */
final class QuotaLane extends SteppingLane {
    private long extents;

    /** As {@link SecondQuotaLane}'s: whether a disable is followed at once by an enable (a stream of its own). */
    private final SplittableRandom requota;

    QuotaLane(LaneContext cx, long extents) {
        super(LaneKind.QUOTA, cx, 0.2, 0.55, 0.65, 0.7, 0.92, 1.0);
        requota = Seeds.stream(cx.cycleSeed, "lane:quota:requota");
        this.extents = extents;
    }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.2) {
            run("quota enable", fs::quotaEnable);
        } else if (u < 0.55) {
            run("quota rescan", fs::quotaRescan);
        } else if (u < 0.65) {
            run("quota rescan wait", fs::quotaRescanWait);
        } else if (u < 0.7) {
            op("qgroup show", fs::qgroupUsage);
        } else if (u < 0.92) {
            populate(fs);
        } else {
            disableQuotas(fs, requota);
        }
    }

    private void populate(Btrfs fs) {
        if (extents >= FullWorkload.EXTENT_TARGET) {
            return;
        }
        if (extents == 0) {
            run("create", () -> fs.createFile("ext"));
        }
        int n = 100 + r.nextInt(150);
        byte[] one = new byte[1];
        if (run("populate extents", () -> {
            for (int k = 0; k < n; k++) {
                fs.writeFile("ext", one);
            }
        })) {
            extents += n;
        }
    }
}
