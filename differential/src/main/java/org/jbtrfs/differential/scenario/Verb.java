package org.jbtrfs.differential.scenario;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The steps of the scenario language, one per line: the words that name the step, then its arguments.
 * See differential/README.md for what each does on the kernel and on the port.
 */
public enum Verb {
    /** {@code mkfs SIZE}: a fresh device of SIZE bytes (K/M/G suffixes) formatted with btrfs. */
    MKFS("mkfs", 1, 1, "SIZE"),
    /** {@code mount [OPTIONS]}: mount(2) with OPTIONS (ro, rw, commit=N), comma-separated. */
    MOUNT("mount", 0, 1, "[OPTIONS]"),
    /** {@code remount OPTIONS}: mount(2) with MS_REMOUNT. */
    REMOUNT("remount", 1, 1, "OPTIONS"),
    /** {@code umount}: umount2(2). */
    UMOUNT("umount", 0, 0, ""),
    SUBVOLUME_CREATE("subvolume create", 1, 1, "NAME"),
    SUBVOLUME_DELETE("subvolume delete", 1, 1, "NAME"),
    /** {@code subvolume sync}: wait until every deleted subvolume is dropped (btrfs subvolume sync). */
    SUBVOLUME_SYNC("subvolume sync", 0, 0, ""),
    /** {@code create PATH}: an empty file ("name" or "subvolume/name"). */
    CREATE("create", 1, 1, "PATH"),
    UNLINK("unlink", 1, 1, "PATH"),
    /** {@code write PATH BYTES}: append BYTES bytes (one data extent). */
    WRITE("write", 2, 2, "PATH BYTES"),
    /** {@code extents PATH COUNT}: COUNT separate 4 KiB data extents in the file PATH (created if missing). */
    EXTENTS("extents", 2, 2, "PATH COUNT"),
    /** {@code files DIR COUNT}: COUNT empty files in the subvolume DIR. */
    FILES("files", 2, 2, "DIR COUNT"),
    /** {@code open HANDLE PATH}: open(2) PATH and keep it open as HANDLE. */
    OPEN("open", 2, 2, "HANDLE PATH"),
    CLOSE("close", 1, 1, "HANDLE"),
    QUOTA_ENABLE("quota enable", 0, 0, ""),
    /** {@code quota rescan}: start a rescan and return (btrfs quota rescan). */
    QUOTA_RESCAN("quota rescan", 0, 0, ""),
    /** {@code quota rescan-wait}: wait for a running rescan (btrfs quota rescan -W). */
    QUOTA_RESCAN_WAIT("quota rescan-wait", 0, 0, ""),
    /** {@code sync}: syncfs(2) — commit the running transaction. */
    SYNC("sync", 0, 0, ""),
    /** {@code fs-sync}: btrfs filesystem sync — commit, then wake the transaction kthread, which wakes the cleaner. */
    FS_SYNC("fs-sync", 0, 0, ""),
    /** {@code freeze}: fsfreeze -f (FIFREEZE): writes block, the running transaction is committed, until {@code thaw}. */
    FREEZE("freeze", 0, 0, ""),
    /** {@code thaw}: fsfreeze -u (FITHAW). */
    THAW("thaw", 0, 0, ""),
    /** {@code crash}: from here on nothing written reaches the device (dm-flakey drop_writes; kernel: an image copy). */
    CRASH("crash", 0, 0, ""),
    /** {@code recover}: the device is back as it was at the crash, and writes reach it again (needs no mount). */
    RECOVER("recover", 0, 0, ""),
    /** {@code repeat N} ... {@code end}: the steps between, N times; observations inside are tallied. */
    REPEAT("repeat", 1, 1, "N"),
    END("end", 0, 0, ""),
    /** {@code lifecycle-latency N}: N times mount RW, remount RO, umount; the median of each (measured). */
    LIFECYCLE_LATENCY("lifecycle-latency", 1, 1, "N"),
    /** {@code minimal-cycles N}: N times mount RW, create + unlink a file, remount RO, umount; the median cycle (measured). */
    MINIMAL_CYCLES("minimal-cycles", 1, 1, "N"),
    /** {@code observe KIND [ARG] [as LABEL...]}: record normalised observation lines (see {@link ObservationKind}). */
    OBSERVE("observe", 1, Integer.MAX_VALUE, "KIND [ARG] [as LABEL]");

    private final String words;
    private final int minArgs;
    private final int maxArgs;
    private final String usage;

    Verb(String words, int minArgs, int maxArgs, String usage) {
        this.words = words;
        this.minArgs = minArgs;
        this.maxArgs = maxArgs;
        this.usage = usage;
    }

    public String words() { return words; }

    int minArgs() { return minArgs; }

    int maxArgs() { return maxArgs; }

    public String usage() { return (words + " " + usage).trim(); }

    /** The verb whose words start {@code tokens}, longest first ("subvolume create" before a one-word verb), or null. */
    static Verb match(List<String> tokens) {
        Verb best = null;
        int bestLen = 0;
        for (Verb v : values()) {
            String[] w = v.words.split(" ");
            if (w.length <= tokens.size() && w.length > bestLen
                && Arrays.equals(w, tokens.subList(0, w.length).toArray(new String[0]))) {
                best = v;
                bestLen = w.length;
            }
        }
        return best;
    }

    int wordCount() { return words.split(" ").length; }

    /** Every step as its usage line, for error messages and `list --steps`. */
    public static String all() {
        return Arrays.stream(values()).map(Verb::usage).collect(Collectors.joining(", "));
    }

    @Override public String toString() { return words.toUpperCase(Locale.ROOT); }
}
