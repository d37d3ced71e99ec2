package org.jbtrfs.core;

/** Bits of {@code fs_info->fs_state} (BTRFS_FS_STATE_*). RO is the bit patch 3/5 introduced. */
public enum FsState {
    ERROR, REMOUNTING, RO, TRANS_ABORTED, DEV_REPLACING, DUMMY_FS_INFO
}
