package org.jbtrfs.stress.workload;

import org.jbtrfs.core.FsState;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.classify.Observation;

/**
 * Right before an RO→RW remount: a transaction open on the read-only filesystem is a leak, and one committed on it
 * since its RO remount or RO mount returned ({@code Inspection.committedReadOnly}) the same leak committed — the port's
 * fsync commits where the kernel's tree log leaves the transaction open; either way the device of a read-only mount
 * was written. Nothing may start one
 * after an RO remount's btrfs_commit_super (patch 3/5's comment in btrfs_remount) or on an RO mount (patch 2/5), and
 * close_ctree of a read-only filesystem commits nothing, so an umount would leave it to patch 4/5's assertion (or
 * the seed's use-after-free) — but the RW remount's own transactions commit it, and the cycle would look clean. The
 * oracle is the invariant the kernel's developers state, read at the one moment no remount or mount of the
 * filesystem is in progress and nothing else may open a transaction (every write is EROFS, the cleaner sleeps); an
 * aborted filesystem is not asked (its transactions end in the cleanup of the abort).
 */
public final class RoLeakCheck {
    private RoLeakCheck() { }

    /** Inspects {@code fs} (through {@code inspect}, so a workload can time it) and records a leak; true if it found one. */
    public static boolean check(java.util.function.Supplier<Inspection> inspect, Observation obs, String lane) {
        Inspection in = inspect.get();
        if (in == null || !in.sbRdonly() || !leakedBeforeRemount(in) || in.state().contains(FsState.ERROR)
            || in.state().contains(FsState.TRANS_ABORTED)) {
            return false;
        }
        obs.roLeak(lane, in);
        return true;
    }

    /**
     * A transaction on trans_list that is not COMPLETED, or one committed on the read-only filesystem. A COMPLETED one
     * still listed is a commit whose committer has woken its waiters and not yet taken it off the list (stop 53: the
     * RO remount's btrfs_commit_super waited for it to complete) — not open, nothing of it left to write.
     */
    static boolean leakedBeforeRemount(Inspection in) {
        return in.openTransactions().stream().anyMatch(t -> !t.completed()) || !in.committedReadOnly().isEmpty();
    }
}
