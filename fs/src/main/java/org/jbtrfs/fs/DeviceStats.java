package org.jbtrfs.fs;

/**
 * A device's error counters (struct btrfs_ioctl_get_dev_stats' values, {@code btrfs device stats}): write, read and
 * flush errors of its bios, corruption errors (a checksum or header that did not match: a read's check_data_csum, a
 * scrub) and generation errors (a scrub's tree block or superblock of another generation). They persist in the device
 * tree across mounts ({@link Btrfs#deviceStats}).
 */
public record DeviceStats(long writeErrors, long readErrors, long flushErrors, long corruptionErrors,
                          long generationErrors) { }
