package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.workload.SubvolumeSync;

/**
 * The subvolume lane: create subvolumes (each with a file "x"), delete them — sometimes with "x" held
 * open, closed later (sometimes from a worker) — and wait for the drop (btrfs subvolume sync, which
 * runs whole cleaner passes); now and then unpack an archive into a new subvolume; half the deletes commit after
 * ({@code delete -c}: START_SYNC and WAIT_SYNC). Snapshots are not modelled.
 */
final class SubvolumeLane extends SteppingLane {
    static final int MAX_SUBVOLUMES = 4;
    private final List<String> subvolumes;
    private final String prefix;
    private int next;
    /**
     * Whether a new subvolume gets an archive unpacked into it ({@link #untar}) and how big: a stream of its
     * own (stop 27), so the lane's other choices stay what they were. Its delayed items are queued in the subvolume's
     * tree: a delete soon after leaves them to btrfs_kill_all_delayed_nodes, or to a delayed-meta work that took
     * their node before the drop.
     */
    private final SplittableRandom untarDraws;
    /** How often a new subvolume gets an archive. */
    static final double P_UNTAR = 0.15;
    /**
     * Whether a delete commits after it, as {@code btrfs subvolume delete -c} does (btrfs-progs' wait_for_commit:
     * BTRFS_IOC_START_SYNC, then BTRFS_IOC_WAIT_SYNC for the transaction id it returned): a stream of its own (stop 53),
     * so the lane's other choices stay what they were.
     */
    private final SplittableRandom commitAfterDraws;
    /** How often a delete is {@code delete -c}. */
    static final double P_COMMIT_AFTER = 0.5;

    SubvolumeLane(LaneContext cx, List<String> subvolumes, long cycle) {
        super(LaneKind.SUBVOLUME, cx, 0.35, 0.65, 0.8, 1.0);
        this.subvolumes = new ArrayList<>(subvolumes);
        this.prefix = "sv" + cycle + "0";
        this.untarDraws = Seeds.stream(cx.cycleSeed, "lane:subvol:untar");
        this.commitAfterDraws = Seeds.stream(cx.cycleSeed, "lane:subvol:commit-after");
    }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.35 && subvolumes.size() < MAX_SUBVOLUMES) {
            String s = prefix + next++;
            if (op("subvolume create", () -> fs.createSubvolume(s)) != null) {
                subvolumes.add(s);
                run("create", () -> fs.createFile(s + "/x"));
                run("write", () -> fs.writeFile(s + "/x", Payload.bytes(1 + r.nextInt(8192))));
                if (untarDraws.nextDouble() < P_UNTAR) {
                    untar(fs, s, untarDraws);
                }
            }
        } else if (u < 0.65 && !subvolumes.isEmpty()) {
            String s = subvolumes.remove(r.nextInt(subvolumes.size()));
            if (r.nextDouble() < 0.4) {
                OpenMode mode = heldMode();
                FileHandle h = op("open", () -> fs.open(s + "/x", mode));
                if (h != null) {
                    held.add(h);
                }
            }
            if (run("subvolume delete", () -> fs.deleteSubvolume(s)) && commitAfterDraws.nextDouble() < P_COMMIT_AFTER) {
                Long transid = op("start sync", fs::startSync);
                if (transid != null) {
                    run("wait sync", () -> fs.waitSync(transid));
                }
            }
        } else if (u < 0.8 && !held.isEmpty()) {
            close(held.remove(r.nextInt(held.size())));
        } else {
            run("subvolume sync", () -> SubvolumeSync.drive(fs));
        }
    }
}
