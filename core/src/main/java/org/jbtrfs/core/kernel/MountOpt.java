package org.jbtrfs.core.kernel;

/** Bits of {@code fs_info->mount_opt} (BTRFS_MOUNT_*) that the port models: the free space cache choice, compression, autodefrag, the UUID tree rescan, discard. */
public enum MountOpt {
    /** space_cache / space_cache=v1: the v1 free space cache (cache inodes in the root tree). */
    SPACE_CACHE,
    /** space_cache=v2: the free space tree. */
    FREE_SPACE_TREE,
    /** clear_cache: rebuild the caches (a one-shot option). */
    CLEAR_CACHE,
    /** compress, compress=TYPE: data writeback goes through async chunks on the delalloc workqueue. */
    COMPRESS,
    /** compress-force, compress-force=TYPE: compress even what the heuristics would not (not modelled apart). */
    FORCE_COMPRESS,
    /**
     * autodefrag: small writes queue their inode (btrfs_add_inode_defrag), the cleaner re-dirties its small recent
     * extents so writeback rewrites them as one (btrfs_run_defrag_inodes). Appended last: the raw word's other bits
     * keep their values.
     */
    AUTO_DEFRAG,
    /** rescan_uuid_tree: open_ctree checks and rebuilds the UUID tree whatever its generation says (no message). */
    RESCAN_UUID_TREE,
    /**
     * discard=async: freed space is discarded later by the btrfs_discard delayed work (discard.c), one region per run,
     * and an emptied block group reaches unused_bgs only once it is fully trimmed.
     */
    DISCARD_ASYNC,
    /** discard, discard=sync: discards at transaction commit; accepted, no discard issued (the port's devices have none). */
    DISCARD_SYNC,
    /** skip_balance: a paused balance stays paused at a read-write mount ("balance: resume skipped"). */
    SKIP_BALANCE,
    /**
     * flushoncommit: every transaction commit starts writeback of the filesystem's dirty inodes before it waits for its
     * writers (btrfs_start_delalloc_flush) and waits for the ordered extents before it blocks joins
     * (btrfs_wait_delalloc_flush): the data written before a commit is in it.
     */
    FLUSHONCOMMIT
}
