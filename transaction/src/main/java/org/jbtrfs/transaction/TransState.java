package org.jbtrfs.transaction;

/** enum btrfs_trans_state as in 5.10/5.11 (no SUPER_COMMITTED yet). */
public enum TransState {
    RUNNING, COMMIT_START, COMMIT_DOING, UNBLOCKED, COMPLETED
}
