package org.jbtrfs.core;

/** Bits of {@code fs_info->flags} (BTRFS_FS_*), the ones the port models. */
public enum FsFlag {
    BARRIER, CLOSING_START, CLOSING_DONE, LOG_RECOVERING, OPEN, QUOTA_ENABLED, UPDATE_UUID_TREE_GEN,
    BTREE_ERR, QUOTA_OVERRIDE, FROZEN, BALANCE_RUNNING, CLEANER_RUNNING, CSUM_IMPL_FAST, DISCARD_RUNNING,
    /** BTRFS_FS_CREATING_FREE_SPACE_TREE: btrfs_create_free_space_tree is populating the tree. */
    CREATING_FREE_SPACE_TREE,
    /** BTRFS_FS_CLEANUP_SPACE_CACHE_V1 (5.11): the commit zeroes super cache_generation. */
    CLEANUP_SPACE_CACHE_V1,
    /**
     * BTRFS_FS_COMMIT_TRANS (v5.17, fdfbf020664b): the transaction kthread is to commit at once, whatever the
     * transaction's age — set by the async commit of BTRFS_IOC_START_SYNC once {@link FixSwitch#ASYNC_COMMIT_TRANSACTION_KTHREAD}
     * is applied.
     */
    COMMIT_TRANS
}
