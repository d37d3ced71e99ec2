package org.jbtrfs.stress.workload;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.fs.Btrfs;

/**
 * What the workload knows about the filesystem's contents, re-read at every mount so a cycle that
 * failed half-way cannot make the next one act on names that do not exist. Names say what they are:
 * "fN" small files, "svN" subvolumes (each with a file "x"), "tarN" unpacked archives (directories of empty files),
 * "ext" the file of many one-byte extents
 * (qgroup rescans need several extent-tree leaves).
 */
public final class FsModel {
    public final List<String> files = new ArrayList<>();
    /**
     * The epoch's filesystem's fsid (its mkfs), which a mount resolves its device by — {@code mount UUID=}: after a
     * replace the filesystem is on the spare disk (stop 65).
     */
    public volatile String fsid;
    public final List<String> subvolumes = new ArrayList<>();
    /** "tarN" directories: an archive the file lane unpacked and has not removed yet. */
    public final List<String> tarDirs = new ArrayList<>();
    public long extents;
    public boolean quota;
    long nextId;
    /**
     * The errors the faults armed in this filesystem's cycles so far returned ({@code --faults}): an abort stops
     * the commits at an arbitrary point, and a later mount of the same filesystem meets what that left (a
     * qgroup status item older than the superblock: "qgroup generation mismatch") — an outcome, as after a crash.
     */
    public final java.util.Set<org.jbtrfs.core.Errno> injectedSinceMkfs = java.util.EnumSet.noneOf(org.jbtrfs.core.Errno.class);

    /** A new filesystem (mkfs): nothing known, nothing injected yet. */
    /** A power cut ended one of this filesystem's cycles since its mkfs (stop 35). */
    public boolean powerCutSinceMkfs;
    /** A replace finished on this filesystem since its mkfs (stop 72: {@code Observation#replaceFinishedSinceMkfs}). */
    public boolean replaceFinishedSinceMkfs;
    /** A replace's source failed a write since the mkfs (stop 73: {@code Observation#sourceMissedWritesSinceMkfs}). */
    public boolean sourceMissedWritesSinceMkfs;
    /** The replace lines of this filesystem's earlier cycles since the mkfs, the last {@link #REPLACE_HISTORY} (stop 73). */
    public final java.util.Deque<String> replaceHistory = new java.util.ArrayDeque<>();
    /** How many replace lines {@link #replaceHistory} keeps. */
    public static final int REPLACE_HISTORY = 16;

    /** Keeps {@code line} of cycle {@code cycle} in {@link #replaceHistory}, dropping the oldest past the limit. */
    public void rememberReplaceLine(long cycle, String line) {
        String first = line.lines().findFirst().orElse(""); // a WARNING's first line, not its call trace
        replaceHistory.addLast("cycle " + cycle + ": " + first);
        while (replaceHistory.size() > REPLACE_HISTORY) {
            replaceHistory.removeFirst();
        }
    }

    /**
     * The data sectors (logical addresses) a scrub or a replace's copy could not read on any copy since the mkfs — their
     * "unable to fixup (regular) error at logical L" (stop 77): for a replace, 5.11 writes zeros for such a block to the
     * target (scrub_write_page_to_dev_replace of an io_error page) and the replace finishes, so the new disk holds zeros
     * where the data was — the failing disk's loss, which the sums catch. A plain scrub writes nothing. Lines of a copy's
     * bios that complete after its "suspending dev_replace" count too: those bios still write.
     */
    public final java.util.Set<Long> unreadableInReplaceCopy = new java.util.HashSet<>();

    /** Notes the sector of a line of this filesystem's kernel log that is an "unable to fixup" ({@link #unreadableInReplaceCopy}). */
    public void noteReplaceLine(String message) {
        long at = org.jbtrfs.stress.classify.Classifier.unfixedAt(message);
        if (at >= 0) {
            unreadableInReplaceCopy.add(at);
        }
    }

    /**
     * The after-umount data check (stop 76): the device it last read every data sector of, and the superblock
     * generation it checked there — data extents of that generation or older were verified on that device already.
     */
    public String dataCheckedDevice;
    public long dataCheckedGeneration;

    public void newFilesystem() {
        reset();
        dataCheckedDevice = null;
        dataCheckedGeneration = 0;
        injectedSinceMkfs.clear();
        powerCutSinceMkfs = false;
        replaceFinishedSinceMkfs = false;
        sourceMissedWritesSinceMkfs = false;
        replaceHistory.clear();
        unreadableInReplaceCopy.clear();
    }

    public void reset() {
        files.clear();
        subvolumes.clear();
        tarDirs.clear();
        extents = 0;
        quota = false;
    }

    public void refresh(Btrfs fs) {
        reset();
        for (String n : fs.list("")) {
            if (n.startsWith("sv")) {
                subvolumes.add(n);
                nextId = Math.max(nextId, Long.parseLong(n.substring(2)) + 1);
            } else if (n.startsWith("tar")) {
                tarDirs.add(n);
            } else if (n.equals("ext")) {
                extents = fs.fileSize("ext");
            } else if (n.startsWith("f")) {
                files.add(n);
            }
        }
        // oldest first: names carry their creation order, which is also the subvolume id order
        subvolumes.sort((a, b) -> Long.compare(Long.parseLong(a.substring(2)), Long.parseLong(b.substring(2))));
        quota = (fs.qgroupStatusFlags() & 1) != 0;
    }

    String newName(String prefix) { return prefix + (nextId++); }
}
