package org.jbtrfs.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The six fixes, one constant per patch. Applied is the kernel after the patch; reverted is the
 * kernel's code before it.
 */
public enum FixSwitch {
    /** 1/5 "btrfs: fix race between RO remount and the qgroup rescan worker"... stop the rescan worker on RO remount. */
    QGROUP_RESCAN_RO_REMOUNT,
    /** 2/5 run btrfs_find_orphan_roots only on RW mounts (start_pre_rw_mount), not from open_ctree. */
    ORPHAN_ROOTS_RO_MOUNT,
    /** 3/5 remount RO waits for the cleaner (CLEANER_RUNNING, clear_and_wake_up_bit) and sets the atomic FS_STATE_RO. */
    CLEANER_RO_REMOUNT_RACE,
    /** 4/5 close_ctree asserts trans_list is empty after btrfs_stop_all_workers. */
    TRANS_LIST_ASSERT,
    /** 5/5 remount RO runs delayed iputs after waiting for the cleaner. */
    DELAYED_IPUTS_RO_REMOUNT,
    /** March 2021: start_pre_rw_mount calls find_orphan_roots before orphan cleanup of the tree root. */
    DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP;

    /** "qgroup-rescan-ro-remount" */
    public String kebab() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

    /** Parses the kebab-case (or enum) name; unknown names list the valid ones. */
    public static FixSwitch parse(String s) {
        String norm = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (FixSwitch f : values()) {
            if (f.name().equals(norm)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown fix switch '" + s + "'; valid: "
            + Arrays.stream(values()).map(FixSwitch::kebab).collect(Collectors.joining(", ")));
    }
}
