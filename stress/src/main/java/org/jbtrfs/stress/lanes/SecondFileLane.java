package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;

/**
 * The second writer ({@link LaneKind#FILE2}, only beside the {@link FileLane}, stop 60): a process that writes while
 * the file lane's does — a download or a database beside a user's copies — so that two writers' reservations meet:
 * sparse files written in scattered blocks (each block an outstanding extent whose metadata reservation the inode
 * holds until writeback), buffered writes of 4–64 KiB left to writeback (one extent each: the metadata they reserve, not their data,
 * is the point — megabytes more would only load the kworkers' checksums and compression), {@code sync FILE} of one of them, appends to
 * a file either lane may be writing, and unlinks. On the small filesystem its reservations hold most of the metadata
 * space while the file lane's emptied block group reaches the cleaner, whose {@code btrfs_delete_unused_bgs} then
 * reserves (FLUSH_ALL_STEAL) against them, as it does on a user's nearly full filesystem — the lane forces no step of
 * that: it only writes. Its files are named as the file lane's ("f…"), so later cycles' file lanes find and unlink them.
 */
final class SecondFileLane extends SteppingLane {
    /** The files this lane wrote (this cycle), oldest first. */
    private final List<String> own = new ArrayList<>();
    /** The files any cycle wrote (the model's, at the cycle's start): the appends' targets. */
    private final List<String> shared;
    private final String prefix;
    private int next;

    SecondFileLane(LaneContext cx, List<String> files, long cycle) {
        super(LaneKind.FILE2, cx, 0.35, 0.55, 0.7, 0.85, 1.0);
        this.shared = new ArrayList<>(files);
        this.prefix = "f" + cycle + "w";
    }

    @Override
    void step(Btrfs fs, double u) {
        if (u < 0.35) {
            String f = prefix + next++;
            if (scatter(fs, f, r)) {
                own.add(f);
            }
        } else if (u < 0.55) {
            String f = prefix + next++;
            if (run("create", () -> fs.createFile(f))) {
                own.add(f);
                byte[] data = Payload.bytes((4 << 10) + r.nextInt(60 << 10));
                run("write", () -> fs.writeFile(f, data));
            }
        } else if (u < 0.7 && !own.isEmpty()) {
            String f = own.get(r.nextInt(own.size()));
            run("sync file", () -> {
                try (FileHandle h = fs.open(f, OpenMode.READ_ONLY)) {
                    h.fsync();
                }
            });
        } else if (u < 0.85 && !shared.isEmpty()) {
            String f = shared.get(r.nextInt(shared.size()));
            byte[] data = Payload.bytes(1 + r.nextInt(16384));
            run("append", () -> fs.writeFile(f, data)); // ENOENT when the file lane unlinked it: an outcome
        } else if (!own.isEmpty()) {
            String f = own.remove(r.nextInt(own.size()));
            run("unlink", () -> fs.unlink(f));
        }
    }
}
