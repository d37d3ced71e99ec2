package org.jbtrfs.fs;

/**
 * {@code btrfs replace status}: BTRFS_IOCTL_DEV_REPLACE_CMD_STATUS's struct btrfs_ioctl_dev_replace_status_params —
 * the state, the progress in per mille of the source device copied, the start and stop times (seconds since the
 * epoch, 0 if never), and the error counters.
 */
public record DevReplaceStatus(State state, long progress1000, long timeStarted, long timeStopped, long numWriteErrors,
                               long numUncorrectableReadErrors) {
    /** BTRFS_IOCTL_DEV_REPLACE_STATE_*. */
    public enum State { NEVER_STARTED, STARTED, FINISHED, CANCELED, SUSPENDED }
}
