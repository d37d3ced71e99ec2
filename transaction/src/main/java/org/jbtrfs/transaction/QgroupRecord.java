package org.jbtrfs.transaction;

import java.util.List;

/**
 * struct btrfs_qgroup_extent_record: an extent whose references changed in this transaction while quotas were on,
 * kept in the transaction's delayed refs (dirty_extent_root) for the commit's btrfs_qgroup_account_extents. Its old
 * roots — who referenced the extent at the last commit — are looked up right after it is inserted, by the task that
 * queued the reference (btrfs_qgroup_trace_extent_post); null when that lookup failed.
 */
final class QgroupRecord {
    final long bytenr;
    final long numBytes;
    /** Written once by the task that inserted the record, read by the committer after every writer has left. */
    volatile List<Long> oldRoots;

    QgroupRecord(long bytenr, long numBytes) {
        this.bytenr = bytenr;
        this.numBytes = numBytes;
    }
}
