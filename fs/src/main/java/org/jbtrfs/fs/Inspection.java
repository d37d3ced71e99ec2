package org.jbtrfs.fs;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.transaction.Transaction;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.jbtrfs.transaction.space.SpaceInfo;
import org.jbtrfs.transaction.space.SpaceManager;

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
 * @param blockGroups       every block group: used, reserved, pinned bytes, read-only, on unused_bgs
 * @param spaceInfos        every space_info's counters (what btrfs_dump_space_info prints)
 * @param delayedIputInodes the inodes queued on delayed_iputs, with their subvolume
 * @param kthreads          the filesystem's kthreads: task state and how often they slept
 * @param blockedOn         thread name → what it sleeps on in this module right now ("wait_on_bit(CLEANER_RUNNING)",
 *                          "kthread_park(btrfs-cleaner)", "wait_for_completion(qgroup_rescan_completion)",
 *                          "mutex_lock(cleaner_mutex) held by btrfs-cleaner", "schedule() in INTERRUPTIBLE")
 *
 * <p>Once unmounted, {@code rootOrphans} and {@code rootItems} are read from the device (what the last
 * commit wrote); the in-memory parts describe what the umount left.
 */
public record Inspection(List<TransactionInfo> openTransactions, List<Long> delayedIputs, List<Long> deadRoots,
                         List<Long> rootOrphans, Map<Long, Integer> rootItems, boolean cleanerRunning,
                         Set<FsFlag> flags, Set<FsState> state, boolean sbRdonly, long generation,
                         List<SpaceManager.BlockGroupState> blockGroups, Map<BlockGroupType, SpaceInfo.Counters> spaceInfos,
                         List<DelayedIput> delayedIputInodes, List<KthreadInfo> kthreads, Map<String, String> blockedOn) {

    /** One queued delayed iput: the inode and its subvolume. */
    public record DelayedIput(long root, long ino) { }

    /** One kthread of the filesystem. */
    public record KthreadInfo(String name, Kthread.TaskState state, long sleeps) { }

    /** The block groups on unused_bgs, by start. */
    public List<Long> unusedBlockGroups() {
        return blockGroups.stream().filter(SpaceManager.BlockGroupState::unused).map(SpaceManager.BlockGroupState::start).toList();
    }

    /** One open transaction and the kernel functions that used it. */
    public record TransactionInfo(long transid, String state, List<Transaction.HandleRecord> handles) {
        /** The functions (btrfs_find_orphan_roots, btrfs_evict_inode, ...) that opened handles on it. */
        public List<String> functions() { return handles.stream().map(Transaction.HandleRecord::function).toList(); }
    }
}
