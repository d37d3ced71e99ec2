package org.jbtrfs.transaction;

/**
 * writeback_control's sync_mode (include/linux/writeback.h): how a writeback pass treats the pages it
 * finds.
 */
public enum WbSyncMode {
    /**
     * WB_SYNC_NONE — start writeback, do not wait for it (the flusher, writeback_inodes_sb,
     * filemap_flush, sync_file_range). btree_writepages skips the btree inode in this mode while less
     * than BTRFS_DIRTY_METADATA_THRESH of metadata is dirty.
     */
    NONE,
    /**
     * WB_SYNC_ALL — write every dirty page and wait for it (sync_inodes_sb, fsync, write_inode_now). The
     * bios carry REQ_SYNC, so btrfs_wq_submit_bio queues their async work high priority.
     */
    ALL
}
