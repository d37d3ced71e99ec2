package org.jbtrfs.differential.scenario;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What an {@code observe} step records (each becomes one or more normalised lines). */
public enum ObservationKind {
    /** Subvolume root items (refs, drop progress) and orphan items of the root tree, read from the device. */
    ROOT_TREE("root-tree", false),
    /** The quota tree read from the device: status flags, each level-0 qgroup's numbers, and whether they match a recount. */
    QGROUPS("qgroups", false),
    /** Whether a kernel log line since the scenario (or repeat iteration) began matches /REGEX/. */
    DMESG("dmesg", true),
    /** Whether a qgroup rescan is running now (btrfs quota rescan -s). */
    RESCAN("rescan", false),
    /** WARNINGs, BUGs, assertions, oopses and leaks in the kernel log since the scenario began. */
    HEALTH("health", false),
    /** Transactions still open (trans_list) — after umount, a leak. */
    TRANSACTIONS("transactions", false);

    private final String word;
    private final boolean needsArg;

    ObservationKind(String word, boolean needsArg) {
        this.word = word;
        this.needsArg = needsArg;
    }

    public String word() { return word; }

    public boolean needsArg() { return needsArg; }

    static ObservationKind parse(String s) {
        for (ObservationKind k : values()) {
            if (k.word.equals(s)) {
                return k;
            }
        }
        return null;
    }

    static String all() { return Arrays.stream(values()).map(ObservationKind::word).collect(Collectors.joining(", ")); }
}
