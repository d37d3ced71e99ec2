package org.jbtrfs.transaction;

/** Bits of {@code root->state} (BTRFS_ROOT_*) the port uses. */
public enum RootState {
    /** The root is in fs_roots_radix (holding a reference). */
    IN_RADIX,
    /** The root tree has an orphan item for this root (deletion pending). */
    ORPHAN_ITEM_INSERTED,
    /** The subvolume was deleted (refs 0) and its tree must be dropped. */
    DEAD_TREE,
    /** drop_snapshot is working on it. */
    DELETING,
    /** Modified in the running transaction: its root item must be updated at commit. */
    DIRTY,
    /**
     * On a transaction's dropped_roots (btrfs_add_dropped_root): its radix tag (BTRFS_ROOT_TRANS_TAG) cleared, so no
     * commit updates its root item, which btrfs_drop_snapshot deleted.
     */
    DROPPED
}
