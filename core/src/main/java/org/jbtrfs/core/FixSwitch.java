package org.jbtrfs.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The six fixes, one constant per patch, and the later upstream fixes the port's mechanisms need
 * (marked as such). Applied is the kernel after the patch; reverted is the kernel's code before it.
 */
public enum FixSwitch {
    /** 1/5 "btrfs: fix transaction leak and crash after RO remount caused by qgroup rescan": stop and wait for the rescan worker on RO remount. */
    QGROUP_RESCAN_RO_REMOUNT,
    /** 2/5 "btrfs: fix transaction leak and crash after cleaning up orphans on RO mount": btrfs_find_orphan_roots only from start_pre_rw_mount. */
    ORPHAN_ROOTS_RO_MOUNT,
    /** 3/5 "btrfs: fix race between RO remount and the cleaner task": wait on CLEANER_RUNNING, atomic FS_STATE_RO. */
    CLEANER_RO_REMOUNT_RACE,
    /** 4/5 "btrfs: add assertion for empty list of transactions at late stage of umount". */
    TRANS_LIST_ASSERT,
    /** 5/5 "btrfs: run delayed iputs when remounting RO to avoid leaking them". */
    DELAYED_IPUTS_RO_REMOUNT,
    /** March 2021 "btrfs: fix subvolume/snapshot deletion not triggered on mount": find_orphan_roots before orphan cleanup. */
    DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP,
    /**
     * Later upstream, not in 5.10/5.11 (close_ctree of v6.x; extended by cda76788f8b0 "btrfs: fix non-empty
     * delayed iputs list on unmount due to async workers"): after parking the cleaner, flush
     * endio_write_workers and endio_freespace_worker and run the delayed iputs. Without it, an ordered
     * extent whose completion drops its last reference after sync_filesystem's btrfs_wait_ordered_roots
     * returned (it waits for BTRFS_ORDERED_COMPLETE, which btrfs_finish_ordered_io sets before its puts)
     * leaves a delayed iput that nothing runs: the delayed_iputs assertion at umount, or, once the cleaner
     * is stopped, a leaked inode ("Busy inodes after unmount"). Reachable after an RO remount and at RW
     * umount, with every patch of the series applied.
     */
    ENDIO_WRITE_FLUSH_AT_UMOUNT;

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
