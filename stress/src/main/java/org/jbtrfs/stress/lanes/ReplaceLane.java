package org.jbtrfs.stress.lanes;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.fs.Btrfs;

/**
 * The replace lane (stop 65): {@code btrfs replace start 1 SPARE} — the filesystem's device copied to the other of its
 * two disks, which then holds the filesystem (a second replace moves it back) —, {@code btrfs replace status} and
 * {@code btrfs replace cancel}. A replace runs in the lane's task until it ends; an RO remount of the lifecycle lane
 * suspends it, and the next read-write mount or RO→RW remount resumes it in the btrfs-devrepl kthread while the
 * lifecycle lane remounts and umounts (DEV_REPLACE_RESUME_SUSPEND_RACE's window). A suspended replace lives on in the
 * epoch's filesystem. EINPROGRESS (a balance holds the exclusive operation), EEXIST (the target is already the
 * filesystem's), EBUSY, ECANCELED, EROFS are the kernel's answers.
 */
final class ReplaceLane extends SteppingLane {
    ReplaceLane(LaneContext cx) { super(LaneKind.REPLACE, cx, 0.55, 0.75, 1.0); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.55) {
            // the disk the filesystem is not on (btrfs filesystem show, then the other one)
            java.util.Map<Long, BlockDevice> devs = op("filesystem show", fs::devices);
            if (devs == null) {
                return;
            }
            BlockDevice target = devs.get(1L) == cx.spare ? cx.device : cx.spare;
            run("replace start", () -> fs.replaceStart(1, target));
        } else if (u < 0.75) {
            run("replace status", fs::replaceStatus);
        } else {
            run("replace cancel", fs::replaceCancel);
        }
    }
}
