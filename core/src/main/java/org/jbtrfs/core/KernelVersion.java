package org.jbtrfs.core;

/**
 * The kernel version whose code paths the port follows where they differ without a fix switch.
 * The fix switches are independent of it: {@link KernelConfig#v5_10()} and friends pick both.
 */
public enum KernelVersion {
    /**
     * v5.10: the transaction kthread re-polls a young transaction every 5 s (with a clock-went-backwards
     * test) instead of sleeping until it reaches commit_interval; the RO→RW remount has no
     * btrfs_start_pre_rw_mount (Boris Burkov's lift is 5.11): it runs btrfs_cleanup_fs_roots and
     * btrfs_qgroup_rescan_resume and creates a missing UUID tree, but neither btrfs_find_orphan_roots nor the
     * orphan cleanup of the tree root; an RW mount runs btrfs_cleanup_fs_roots before it reads the default
     * subvolume.
     */
    V5_10("5.10"),
    /** v5.11: btrfs_start_pre_rw_mount for RW mounts and RO→RW remounts; the 5.11 transaction kthread. */
    V5_11("5.11"),
    /** v5.12: as 5.11 for everything the port models besides the switches. */
    V5_12("5.12");

    private final String label;

    KernelVersion(String label) { this.label = label; }

    /** "5.11" */
    public String label() { return label; }

    /** Parses "5.10", "5.11" or "5.12"; IllegalArgumentException naming the valid ones otherwise. */
    public static KernelVersion parse(String s) {
        for (KernelVersion v : values()) {
            if (v.label.equals(s == null ? null : s.trim())) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown kernel version '" + s + "'; valid: 5.10, 5.11, 5.12");
    }
}
