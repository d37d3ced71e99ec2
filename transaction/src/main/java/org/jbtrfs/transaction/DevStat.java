package org.jbtrfs.transaction;

/**
 * kernel: enum btrfs_dev_stat_values (include/uapi/linux/btrfs.h) — a device's persistent error counters, in the order
 * btrfs_dev_stat_print_on_error prints them ("errs: wr, rd, flush, corrupt, gen").
 */
public enum DevStat {
    /** BTRFS_DEV_STAT_WRITE_ERRS: a write bio's EIO (btrfs_end_bio). */
    WRITE_ERRS,
    /** BTRFS_DEV_STAT_READ_ERRS: a read bio's EIO (btrfs_end_bio), or a block scrub could not read. */
    READ_ERRS,
    /** BTRFS_DEV_STAT_FLUSH_ERRS: a flush's EIO. */
    FLUSH_ERRS,
    /** BTRFS_DEV_STAT_CORRUPTION_ERRS: a checksum or header that did not match (check_data_csum, scrub). */
    CORRUPTION_ERRS,
    /** BTRFS_DEV_STAT_GENERATION_ERRS: a tree block or superblock scrub found of another generation. */
    GENERATION_ERRS
}
