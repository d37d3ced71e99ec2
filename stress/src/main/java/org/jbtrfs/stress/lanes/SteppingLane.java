package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
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

    /** The scattered blocks' spacing: far enough apart that no two delalloc ranges merge. */
    static final long SCATTER_STRIDE = 64 << 10;

    /**
     * A sparse file {@code f} written in 8 to 32 blocks {@link #SCATTER_STRIDE} apart (the count drawn from
     * {@code draws} once the file exists; {@code dd seek=N} into a new file, a database's or a download's pattern): each
     * block past the end expands the file with a hole first, and each stays its own delalloc range until writeback — an
     * outstanding extent, whose metadata reservation (an extent item, a checksum leaf and the inode update: 256 KiB with
     * 16 KiB nodes) the inode holds meanwhile. On the small filesystem a few of these take most of the metadata space:
     * the reservations behind them wait on tickets and the async reclaim flushes delalloc for them. False when the
     * create was refused.
     */
    boolean scatter(Btrfs fs, String f, java.util.SplittableRandom draws) {
        if (!run("create", () -> fs.createFile(f))) {
            return false;
        }
        int blocks = 8 + draws.nextInt(25);
        run("scattered pwrite", () -> {
            try (FileHandle h = fs.open(f)) {
                for (int k = 0; k < blocks && going(); k++) {
                    h.pwrite(k * SCATTER_STRIDE, Payload.bytes(4096));
                }
            }
        });
        return true;
    }

    @Override
    void cleanup() {
        for (FileHandle h : held) {
            closeAtEnd(h);
        }
        held.clear();
    }
}
