package org.jbtrfs.stress.lanes;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.transaction.DelayedInodes;

/**
 * A lane that takes up to the plan's number of steps on the main device's current mount: a seeded pause,
 * then one step chosen by a draw from the lane's stream; while the device is unmounted the lane waits for
 * the lifecycle lane's next mount ({@link LaneContext#awaitMounted}). The
 * files it holds open across steps are closed when it ends.
 */
abstract class SteppingLane extends LaneWorker {
    /** Files the lane holds open across its steps (and across remounts). */
    final List<FileHandle> held = new ArrayList<>();

    /** {@code chain}: the upper bounds of {@link #step}'s tests of its draw, ascending, the last 1.0 (its else). */
    SteppingLane(LaneKind kind, LaneContext cx, double... chain) { super(kind, cx, chain); }

    @Override
    final void body() {
        for (int i = 0; i < cx.plan.maxLaneSteps() && going(); i++) {
            pause();
            Btrfs fs = cx.awaitMounted();
            if (fs == null) {
                return;
            }
            step(fs, mix.remap(r.nextDouble()));
        }
    }

    /** One operation on {@code fs}, chosen by {@code u} (uniform over the cycle's mix of the chain's intervals). */
    abstract void step(Btrfs fs, double u);

    /**
     * quota disable; half the time (drawn from {@code requota}) followed at once by quota enable, as a script
     * resetting quotas does ({@code btrfs quota disable && btrfs quota enable}).
     */
    void disableQuotas(Btrfs fs, java.util.SplittableRandom requota) {
        if (run("quota disable", fs::quotaDisable) && requota.nextDouble() < 0.5) {
            run("quota enable", fs::quotaEnable);
        }
    }

    /**
     * {@code tar x} into {@code dir}: {@value DelayedInodes#BACKGROUND} to twice as many empty files (the count drawn
     * from {@code sizes}), one create(2) each as tar does — so the watchdog sees each and the lane stops with the cycle.
     * More delayed items (their DIR_INDEX items) than btrfs_balance_delayed_items lets wait for the commit: the creates
     * queue delayed-meta works.
     */
    void untar(Btrfs fs, String dir, java.util.SplittableRandom sizes) {
        int n = DelayedInodes.BACKGROUND + sizes.nextInt(DelayedInodes.BACKGROUND + 1);
        for (int i = 0; i < n && going(); i++) {
            String f = dir + "/t" + i;
            if (!run("untar: create", () -> fs.createFile(f))) {
                return;
            }
        }
    }

    @Override
    void cleanup() {
        for (FileHandle h : held) {
            closeAtEnd(h);
        }
        held.clear();
    }
}
