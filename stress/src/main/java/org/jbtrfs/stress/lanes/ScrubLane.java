package org.jbtrfs.stress.lanes;

import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.ScrubProgress;

/**
 * The scrub lane (stop 52): a maintenance job scrubbing the filesystem while the other lanes work and remount it —
 * {@code btrfs scrub start -Br} (read-only: no write access, runs on a read-only filesystem, an RO remount cancels it),
 * {@code btrfs scrub start -B} (may repair: holds write access, so an RO remount waits for it, and EROFS on a read-only
 * mount), and {@code btrfs scrub cancel}. EINPROGRESS, ECANCELED, ENOTCONN and EROFS are the kernel's answers, not
 * failures; a scrub that finds a damaged block or superblock is one (the on-disk state is wrong), unless the cycle
 * armed fault injection or a power cut was dropping the writes.
 */
final class ScrubLane extends SteppingLane {
    ScrubLane(LaneContext cx) { super(LaneKind.SCRUB, cx, 0.5, 0.75, 1.0); }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.5) {
            scrub(fs, true);
        } else if (u < 0.75) {
            scrub(fs, false);
        } else {
            run("scrub cancel", fs::scrubCancel);
        }
    }

    private void scrub(Btrfs fs, boolean readonly) {
        String name = readonly ? "scrub -r" : "scrub";
        boolean cut = cx.dropping;
        ScrubProgress p = op(name, () -> fs.scrub(readonly));
        // a power cut drops the writes from its start: the disk then holds less than the commit roots say (the scrub
        // holds the mount, so a cut that started during it is still on when it returns)
        cut |= cx.dropping;
        if (p != null && !cut && cx.injected.isEmpty()
            && p.errorCount() + p.uncorrectableErrors() > 0
            && !lostData(p, readonly)) {
            fail(name, new IllegalStateException("scrub found errors: " + p));
            throw new StopLane();
        }
    }

    /**
     * Only data sectors failing their sums, no more than an earlier cycle's replace copy lost to the disk's read errors
     * (stop 77: 5.11 writes zeros for them, and they stay until their extent is freed): what the injected faults left.
     * Each sector's report is judged against those sectors by the classifier (a tree block's checksum error counts
     * in csum_errors too, and its report is not of a lost sector). A read-only scrub judges no error uncorrectable.
     */
    private boolean lostData(ScrubProgress p, boolean readonly) {
        int lost = cx.obs.unreadableInReplaceCopy.size();
        return lost > 0 && p.verifyErrors() + p.superErrors() + p.readErrors() == 0 && p.csumErrors() <= lost
            && p.uncorrectableErrors() == (readonly ? 0 : p.csumErrors());
    }
}
