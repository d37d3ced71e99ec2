package org.jbtrfs.stress.workload;

import java.time.Duration;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.Inspection;

/**
 * btrfs subvolume sync as the workloads drive it. The kernel's cleaner drops deleted subvolumes when it
 * is woken — by the transaction kthread every commit interval, or btrfs_commit_super — and
 * {@link Btrfs#subvolumeSync} only waits, as btrfs-progs does. A workload does not wait a commit interval:
 * it wakes the cleaner itself, one whole pass at a time ({@link Btrfs#runCleanerPass}: an explicit wake and
 * a wait for that pass, no polling), while something is queued on dead_roots or a drop is in progress
 * (one dead root a pass), then asks subvolume sync once without waiting.
 */
public final class SubvolumeSync {
    /** A pass that does not end within this is stuck: a finding, not an answer. */
    static final Duration PASS = Duration.ofSeconds(5);

    private SubvolumeSync() { }

    /**
     * Drops what is queued; true when every deleted subvolume is gone, false when one is not queued (a
     * file of it is still open, or its drop was never resumed) — the command's answer, not a failure.
     *
     * @throws BtrfsException EBUSY when an umount parked the cleaner meanwhile; ETIMEDOUT when a pass is stuck
     */
    public static boolean drive(Btrfs fs) {
        Inspection in = fs.inspect();
        // bounded by what is queued now: a subvolume deleted meanwhile is the next call's
        for (int left = in.deadRoots().size() + 1; left > 0 && (in.cleanerRunning() || !in.deadRoots().isEmpty()); left--) {
            fs.runCleanerPass(PASS);
            in = fs.inspect();
        }
        try {
            fs.subvolumeSync(Duration.ZERO);
            return true;
        } catch (BtrfsException e) {
            if (e.errno() != Errno.ETIMEDOUT) {
                throw e;
            }
            return false;
        }
    }
}
