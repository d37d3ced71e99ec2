package org.jbtrfs.stress.lanes;

import java.time.Duration;
import org.jbtrfs.fs.Btrfs;

/** The sync lane: sync(2), and cleaner passes as the transaction kthread's wake-up starts them. */
final class SyncLane extends SteppingLane {
    SyncLane(LaneContext cx) { super(LaneKind.SYNC, cx, 0.5, 0.8, 1.0); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.5) {
            run("sync", fs::sync);
        } else if (u < 0.8) {
            run("cleaner pass", () -> fs.runCleanerPass(Duration.ofSeconds(5)));
        } else {
            run("wake cleaner", fs::wakeCleaner);
        }
    }
}
