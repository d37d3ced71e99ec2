package org.jbtrfs.fs;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.transaction.Transaction;

/**
 * A read-only snapshot of one filesystem's lifecycle state, for tests and the stress verdict.
 *
 * @param openTransactions  trans_list: every transaction not yet completed, with who opened handles on it
 * @param delayedIputs      inode numbers queued on delayed_iputs
 * @param deadRoots         subvolume ids on dead_roots
 * @param rootOrphans       orphan items of the tree root (subvolume ids whose deletion is pending)
 * @param rootItems         subvolume id → refs of its root item (0: deleted, not yet dropped)
 * @param cleanerRunning    BTRFS_FS_CLEANER_RUNNING
 * @param flags             fs_info->flags bits set
 * @param state             fs_info->fs_state bits set
 * @param sbRdonly          SB_RDONLY
 * @param generation        last committed generation
 */
public record Inspection(List<TransactionInfo> openTransactions, List<Long> delayedIputs, List<Long> deadRoots,
                         List<Long> rootOrphans, Map<Long, Integer> rootItems, boolean cleanerRunning,
                         Set<FsFlag> flags, Set<FsState> state, boolean sbRdonly, long generation) {

    /** One open transaction and the kernel functions that used it. */
    public record TransactionInfo(long transid, String state, List<Transaction.HandleRecord> handles) {
        /** The functions (btrfs_find_orphan_roots, btrfs_evict_inode, ...) that opened handles on it. */
        public List<String> functions() { return handles.stream().map(Transaction.HandleRecord::function).toList(); }
    }
}
