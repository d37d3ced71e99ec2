package org.jbtrfs.fs;

/**
 * The result of a dev-replace start or cancel as the ioctl reports it in args->result (BTRFS_IOCTL_DEV_REPLACE_RESULT_*);
 * errors are a {@link org.jbtrfs.core.BtrfsException} instead.
 */
public enum DevReplaceResult {
    /** BTRFS_IOCTL_DEV_REPLACE_RESULT_NO_ERROR: started and finished (or suspended by an umount), or cancelled. */
    NO_ERROR,
    /** BTRFS_IOCTL_DEV_REPLACE_RESULT_NOT_STARTED: nothing to cancel. */
    NOT_STARTED,
    /** BTRFS_IOCTL_DEV_REPLACE_RESULT_ALREADY_STARTED. */
    ALREADY_STARTED,
    /** BTRFS_IOCTL_DEV_REPLACE_RESULT_SCRUB_INPROGRESS: a scrub of the device runs. */
    SCRUB_INPROGRESS
}
