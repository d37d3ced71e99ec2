package org.jbtrfs.stress.lanes;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.workload.SubvolumeSync;

/**
 * The subvolume lane: create subvolumes (each with a file "x"), delete them — sometimes with "x" held
 * open, closed later (sometimes from a worker) — and wait for the drop (btrfs subvolume sync, which
 * runs whole cleaner passes). Snapshots are not modelled.
 */
final class SubvolumeLane extends SteppingLane {
    static final int MAX_SUBVOLUMES = 4;
    private final List<String> subvolumes;
    private final String prefix;
    private int next;

    SubvolumeLane(LaneContext cx, List<String> subvolumes, long cycle) {
        super(LaneKind.SUBVOLUME, cx, 0.35, 0.65, 0.8, 1.0);
        this.subvolumes = new ArrayList<>(subvolumes);
        this.prefix = "sv" + cycle + "0";
    }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.35 && subvolumes.size() < MAX_SUBVOLUMES) {
            String s = prefix + next++;
            if (op("subvolume create", () -> fs.createSubvolume(s)) != null) {
                subvolumes.add(s);
                run("create", () -> fs.createFile(s + "/x"));
                run("write", () -> fs.writeFile(s + "/x", new byte[1 + r.nextInt(8192)]));
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
            run("subvolume delete", () -> fs.deleteSubvolume(s));
        } else if (u < 0.8 && !held.isEmpty()) {
            close(held.remove(r.nextInt(held.size())));
        } else {
            run("subvolume sync", () -> SubvolumeSync.drive(fs));
        }
    }
}
