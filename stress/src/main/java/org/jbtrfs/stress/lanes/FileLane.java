package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.transaction.Mkfs;

/**
 * The file lane: create and write files (sometimes then {@code sync FILE}; over bytes inside, beyond the end, or a
 * truncate instead), unlink them, keep handles open
 * (read-only ones across remounts), fsync them, close them (sometimes from a worker: a delayed iput the cleaner
 * runs), unlink a file while it is open and drop the last reference from a worker, fill a second data block group
 * (fsync) and empty it (the cleaner deletes it); now and then unpack an archive of a few hundred files, or remove it,
 * or write a sparse file in scattered blocks (their delalloc metadata reservations fill the small filesystem's).
 */
final class FileLane extends SteppingLane {
    private final List<String> files;
    private final String prefix;
    private int next;
    /**
     * Whether a write is followed by {@code sync FILE}: drawn from a stream of its own (added after the lane's
     * choices were fixed), so the lane's other choices stay what they were.
     */
    private final SplittableRandom syncAfterWrite;
    /**
     * Whether a step is followed by an untar (or, with one unpacked, by its {@code rm -r}), and how many files it has:
     * a stream of its own (stop 27), so the lane's other choices stay what they were.
     */
    private final SplittableRandom untarDraws;
    /** The unpacked archives not removed yet (this cycle's, and earlier cycles' the model found), oldest first. */
    private final List<String> tarDirs;
    /** How often a step is followed by an untar or its removal. */
    static final double P_UNTAR = 0.03;
    /** Whether an emptied data group of a discard=async cycle is written into again at once (stop 33): its own stream. */
    private final SplittableRandom refillDraws;
    /** How often, in a discard=async cycle, the emptied groups are synced and written into again. */
    static final double P_REFILL = 0.5;
    /**
     * Whether a write into an existing file (or through a held handle) overwrites bytes inside it with pwrite instead of
     * appending, where, and how much: a stream of its own (stop 37), so the lane's other choices stay what they were.
     */
    private final SplittableRandom overwriteDraws;
    /** How often a write into an existing file is an overwrite. */
    static final double P_OVERWRITE = 0.5;
    /**
     * Whether a write into an existing file (or through a held handle) is a truncate or a write beyond its end instead,
     * and their sizes: a stream of its own (stop 38), so the lane's other choices stay what they were.
     */
    private final SplittableRandom truncateDraws;
    /** How often a write into an existing file is a truncate (shrinking, to 0, or growing with a hole). */
    static final double P_TRUNCATE = 0.2;
    /** How often it is a pwrite beyond the end (the file expands with a hole first). */
    static final double P_PAST_END = 0.1;
    /**
     * Whether a step is followed by a sparse file written in scattered blocks, and how many: a stream of its own (stop
     * 55), so the lane's other choices stay what they were.
     */
    private final SplittableRandom scatterDraws;
    /** How often a step is followed by a scattered write. */
    static final double P_SCATTER = 0.04;

    FileLane(LaneContext cx, List<String> files, List<String> tarDirs, long cycle) {
        super(LaneKind.FILE, cx, 0.22, 0.34, 0.44, 0.56, 0.62, 0.72, 0.84, 0.92, 1.0);
        this.files = new ArrayList<>(files);
        this.tarDirs = new ArrayList<>(tarDirs);
        this.prefix = "f" + cycle + "x";
        this.syncAfterWrite = Seeds.stream(cx.cycleSeed, "lane:file:sync");
        this.untarDraws = Seeds.stream(cx.cycleSeed, "lane:file:untar");
        this.refillDraws = Seeds.stream(cx.cycleSeed, "lane:file:refill");
        this.overwriteDraws = Seeds.stream(cx.cycleSeed, "lane:file:overwrite");
        this.truncateDraws = Seeds.stream(cx.cycleSeed, "lane:file:truncate");
        this.scatterDraws = Seeds.stream(cx.cycleSeed, "lane:file:scatter");
    }

    @Override
    void step(Btrfs fs, double u) {
        choose(fs, u);
        if (untarDraws.nextDouble() < P_UNTAR) {
            untarOrRemove(fs);
        }
        if (scatterDraws.nextDouble() < P_SCATTER) {
            scatter(fs);
        }
    }

    /** A sparse file written in 8 to 32 blocks ({@link SteppingLane#scatter}), kept in the lane's files. */
    private void scatter(Btrfs fs) {
        String f = prefix + next++;
        if (scatter(fs, f, scatterDraws)) {
            files.add(f);
        }
    }

    /**
     * {@code tar x} of a new directory ({@link #untar}), or, with one unpacked, {@code rm -r} of it (a queued deletion
     * and an inode item per file).
     */
    private void untarOrRemove(Btrfs fs) {
        if (tarDirs.isEmpty()) {
            String d = "tar" + prefix.substring(1) + next++;
            if (run("mkdir", () -> fs.mkdir(d))) {
                tarDirs.add(d);
                untar(fs, d, untarDraws);
            }
            return;
        }
        String d = tarDirs.get(0);
        List<String> entries = op("rm -r: readdir", () -> fs.list(d));
        if (entries == null) {
            return;
        }
        for (String e : entries) {
            if (!going() || !run("rm -r: unlink", () -> fs.unlink(d + "/" + e))) {
                return;
            }
        }
        if (run("rm -r: rmdir", () -> fs.rmdir(d))) {
            tarDirs.remove(0);
        }
    }

    /** The lane's operation for the draw {@code u}. */
    private void choose(Btrfs fs, double u) {
        if (u < 0.22) {
            String f = prefix + next++;
            if (run("create", () -> fs.createFile(f))) {
                files.add(f);
                byte[] data = Payload.bytes(512 + r.nextInt(8192));
                write(fs, f, data);
            }
        } else if (u < 0.34 && !files.isEmpty()) {
            String f = pick(files);
            byte[] data = Payload.bytes(1 + r.nextInt(4096));
            double t = truncateDraws.nextDouble();
            if (t < P_TRUNCATE) {
                run("truncate", () -> {
                    try (FileHandle h = fs.open(f)) {
                        h.truncate(newLength(h.size()));
                    }
                });
            } else if (t < P_TRUNCATE + P_PAST_END) {
                long gap = 1 + truncateDraws.nextInt(8192);
                run("pwrite past end", () -> {
                    try (FileHandle h = fs.open(f)) {
                        h.pwrite(h.size() + gap, data);
                    }
                });
            } else if (overwriteDraws.nextDouble() < P_OVERWRITE) {
                overwrite(fs, f, data);
            } else {
                write(fs, f, data);
            }
        } else if (u < 0.44 && !files.isEmpty()) {
            String f = files.remove(r.nextInt(files.size()));
            run("unlink", () -> fs.unlink(f));
        } else if (u < 0.56 && !files.isEmpty() && held.size() < 3) {
            String f = pick(files);
            OpenMode mode = heldMode();
            FileHandle h = op("open", () -> fs.open(f, mode));
            if (h != null) {
                held.add(h);
            }
        } else if (u < 0.62 && !held.isEmpty()) {
            syncHeld(held.get(r.nextInt(held.size())));
        } else if (u < 0.72 && !held.isEmpty()) {
            close(held.remove(r.nextInt(held.size())));
        } else if (u < 0.84) {
            unlinkedDelayedIput(fs);
        } else if (u < 0.92) {
            fillAndEmptyBlockGroup(fs);
        } else if (!held.isEmpty()) {
            // unlink a file that is held open: it gets an orphan item until its last close
            String f = held.get(r.nextInt(held.size())).path();
            if (files.remove(f)) {
                run("unlink open file", () -> fs.unlink(f));
            }
        }
    }

    /**
     * A write, then a third of the time {@code sync FILE} as coreutils' sync(1) does it — open O_RDONLY, fsync, close
     * — as scripts do after copying a file: an fsync of a dirty inode that holds no write access, so an RO remount
     * neither refuses nor waits for it.
     */
    private void write(Btrfs fs, String f, byte[] data) {
        if (run("write", () -> fs.writeFile(f, data)) && syncAfterWrite.nextDouble() < 1.0 / 3) {
            run("sync file", () -> {
                try (FileHandle h = fs.open(f, OpenMode.READ_ONLY)) {
                    h.fsync();
                }
            });
        }
    }

    /**
     * A write over bytes inside the file ({@code dd conv=notrunc seek=N}): open, pwrite at a drawn offset up to the
     * file's size, close — the write's ordered extent trims or splits the file extent items under it.
     */
    private void overwrite(Btrfs fs, String f, byte[] data) {
        double at = overwriteDraws.nextDouble();
        run("pwrite", () -> {
            try (FileHandle h = fs.open(f)) {
                h.pwrite((long) (at * h.size()), data);
            }
        });
    }

    /**
     * A process with the file open: fsync (a read-only handle too — fsync takes no write access, so it runs beside
     * any remount, an RO one's commit included), after a write when the handle writes.
     */
    private void syncHeld(FileHandle h) {
        if (h.mode().writes() && r.nextBoolean()) {
            byte[] data = Payload.bytes(1 + r.nextInt(4096));
            double t = truncateDraws.nextDouble();
            if (t < P_TRUNCATE) {
                run("truncate", () -> h.truncate(newLength(h.size())));
            } else if (t < P_TRUNCATE + P_PAST_END) {
                long gap = 1 + truncateDraws.nextInt(8192);
                run("pwrite past end", () -> h.pwrite(h.size() + gap, data));
            } else if (overwriteDraws.nextDouble() < P_OVERWRITE) {
                double at = overwriteDraws.nextDouble();
                run("pwrite", () -> h.pwrite((long) (at * h.size()), data));
            } else {
                run("write", () -> h.write(data));
            }
        }
        run("fsync", h::fsync);
    }

    /**
     * The length a truncate sets, drawn from the file's {@code size}: a tenth of the time 0 (the next close then starts
     * writeback: FLUSH_ON_CLOSE), four tenths a shrink to a drawn point, half the time a growth by up to 16 KiB (a hole).
     */
    private long newLength(long size) {
        double s = truncateDraws.nextDouble();
        if (s < 0.1) {
            return 0;
        }
        if (s < 0.5) {
            return (long) ((s - 0.1) / 0.4 * size);
        }
        return size + 1 + truncateDraws.nextInt(16384);
    }

    /** A file unlinked while open, its last reference dropped by a worker: a delayed iput for the cleaner. */
    private void unlinkedDelayedIput(Btrfs fs) {
        if (!fs.isMounted() || fs.isReadOnly()) {
            return;
        }
        String f = prefix + next++;
        if (!run("create", () -> fs.createFile(f))) {
            return;
        }
        run("write", () -> fs.writeFile(f, Payload.bytes(1 + r.nextInt(4096))));
        FileHandle h = op("open", () -> fs.open(f));
        run("unlink", () -> fs.unlink(f));
        if (h != null) {
            closeFromWorker(h);
        }
    }

    /**
     * Past one data chunk with 1 MiB files, each fsynced, then unlink them: once the unlinks' delayed refs
     * run (the next commit — often the RO remount's own sync_filesystem) the second block group is unused,
     * and whichever delete_unused_bgs comes next removes it in a transaction of its own: the cleaner's is
     * patch 3/5's third window. The data must reach the disk: written and unlinked before writeback, it
     * would never be allocated, the lane would never leave the first data block group (the last of its
     * type, which btrfs_delete_unused_bgs keeps) and the window would stay out of the lanes' reach.
     */
    void fillAndEmptyBlockGroup(Btrfs fs) {
        int n = (int) (Mkfs.dataChunkSize(cx.device.size()) >> 20) + 1;
        byte[] mib = new byte[1 << 20];
        List<String> bigs = new ArrayList<>();
        run("fill block group", () -> {
            for (int i = 0; i < n; i++) {
                String b = prefix + "big" + next++;
                fs.createFile(b);
                bigs.add(b);
                try (FileHandle h = fs.open(b)) { // open for writing until closed: an RO remount meanwhile is EBUSY
                    h.write(Payload.stamp(mib));
                    h.fsync();
                }
            }
        });
        run("empty block group", () -> bigs.forEach(fs::unlink));
        if (cx.plan.discard() && refillDraws.nextDouble() < P_REFILL) {
            refill(fs);
        }
    }

    /**
     * Under discard=async (stop 33): the unlinks committed — the emptied data groups go on the unused discard list,
     * eligible 10 s (here 10 ms) later — then a new file written and fsynced at once lands in the first of them, as a
     * user's next copy after a cleanup does: a group on the unused list with used bytes again, which the discard work
     * moves to a filtered list when it looks (peek_discard_list).
     */
    private void refill(Btrfs fs) {
        if (!run("sync", fs::sync)) {
            return;
        }
        String f = prefix + "re" + next++;
        if (run("create", () -> fs.createFile(f))) {
            files.add(f);
            run("write", () -> {
                try (FileHandle h = fs.open(f)) {
                    h.write(Payload.bytes(64 << 10));
                    h.fsync();
                }
            });
        }
    }

    private String pick(List<String> l) { return l.get(r.nextInt(l.size())); }
}
