package org.jbtrfs.fs;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;

/**
 * A read-only snapshot of one filesystem's lifecycle state, for tests and the stress verdict. Every type it holds is
 * API (this record's nested types, core's FsFlag/FsState, the JDK's): it copies what the internals hold.
 *
 * @param openTransactions  trans_list: every transaction not yet taken off it, with who opened handles on it — one
 *                          COMPLETED while its committer is still in the tail of its commit, too
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
 * @param committedReadOnly the transactions committed while the filesystem was settled read-only (its RO remount or
 *                          RO mount had returned, no RW remount had begun), with who opened handles on them: writes to
 *                          a read-only filesystem, which has none (port instrumentation, no kernel counterpart; at most
 *                          16, oldest first)
 * @param needlessUuidRescan whether this mount's open_ctree started a UUID tree rescan the fixed test would not have
 *                          started (the tree was current: {@code FixSwitch.UUID_RESCAN_GENERATION_CHECK} reverted; port
 *                          instrumentation)
 * @param asyncDiscardOff   whether a remount of this mount left it writable with discard=async asked for and its discard
 *                          work stopped ({@code FixSwitch.DISCARD_RESUME_RO_TO_RW} reverted; port instrumentation)
 *
 * <p>Once unmounted, {@code rootOrphans} and {@code rootItems} are read from the device (what the last
 * commit wrote); the in-memory parts describe what the umount left.
 */
public record Inspection(List<TransactionInfo> openTransactions, List<Long> delayedIputs, List<Long> deadRoots,
                         List<Long> rootOrphans, Map<Long, Integer> rootItems, boolean cleanerRunning,
                         Set<FsFlag> flags, Set<FsState> state, boolean sbRdonly, long generation,
                         List<BlockGroup> blockGroups, Map<BlockGroupType, SpaceCounters> spaceInfos,
                         List<DelayedIput> delayedIputInodes, List<KthreadInfo> kthreads, Map<String, String> blockedOn,
                         List<TransactionInfo> committedReadOnly, boolean needlessUuidRescan, boolean asyncDiscardOff) {

    /** The inspection without the async discard instrumentation (the record's shape before stop 33; false). */
    public Inspection(List<TransactionInfo> openTransactions, List<Long> delayedIputs, List<Long> deadRoots,
                      List<Long> rootOrphans, Map<Long, Integer> rootItems, boolean cleanerRunning,
                      Set<FsFlag> flags, Set<FsState> state, boolean sbRdonly, long generation,
                      List<BlockGroup> blockGroups, Map<BlockGroupType, SpaceCounters> spaceInfos,
                      List<DelayedIput> delayedIputInodes, List<KthreadInfo> kthreads, Map<String, String> blockedOn,
                      List<TransactionInfo> committedReadOnly, boolean needlessUuidRescan) {
        this(openTransactions, delayedIputs, deadRoots, rootOrphans, rootItems, cleanerRunning, flags, state, sbRdonly,
            generation, blockGroups, spaceInfos, delayedIputInodes, kthreads, blockedOn, committedReadOnly, needlessUuidRescan,
            false);
    }

    /** The inspection without the UUID rescan instrumentation (the record's shape before it; false). */
    public Inspection(List<TransactionInfo> openTransactions, List<Long> delayedIputs, List<Long> deadRoots,
                      List<Long> rootOrphans, Map<Long, Integer> rootItems, boolean cleanerRunning,
                      Set<FsFlag> flags, Set<FsState> state, boolean sbRdonly, long generation,
                      List<BlockGroup> blockGroups, Map<BlockGroupType, SpaceCounters> spaceInfos,
                      List<DelayedIput> delayedIputInodes, List<KthreadInfo> kthreads, Map<String, String> blockedOn,
                      List<TransactionInfo> committedReadOnly) {
        this(openTransactions, delayedIputs, deadRoots, rootOrphans, rootItems, cleanerRunning, flags, state, sbRdonly,
            generation, blockGroups, spaceInfos, delayedIputInodes, kthreads, blockedOn, committedReadOnly, false, false);
    }

    /** One queued delayed iput: the inode and its subvolume. */
    public record DelayedIput(long root, long ino) { }

    /** One kthread of the filesystem. */
    public record KthreadInfo(String name, TaskState state, long sleeps) { }

    /** A kthread's task state, as {@code ps} shows it: R, S, parked, dead. */
    public enum TaskState { RUNNING, INTERRUPTIBLE, PARKED, DEAD }

    /** The block groups on unused_bgs, by start. */
    public List<Long> unusedBlockGroups() {
        return blockGroups.stream().filter(BlockGroup::unused).map(BlockGroup::start).toList();
    }

    /** One open transaction and the kernel functions that used it. */
    public record TransactionInfo(long transid, String state, List<Handle> handles) {
        /** The functions (btrfs_find_orphan_roots, btrfs_evict_inode, ...) that opened handles on it. */
        public List<String> functions() { return handles.stream().map(Handle::function).toList(); }

        /**
         * Committed, its committer not yet past taking it off trans_list (the tail of btrfs_commit_transaction: the
         * waiters are woken first): nothing of it is left open.
         */
        public boolean completed() { return state.equals("COMPLETED"); }
    }

    /**
     * One transaction handle opened on a transaction: the thread, the kernel function that opened it, and how
     * (START, JOIN, ATTACH, ... : the btrfs_trans_type names without the TRANS_ prefix).
     */
    public record Handle(String thread, String function, String type) {
        @Override
        public String toString() { return function + " [" + type + "] in " + thread; }
    }

    /** Block group / space_info types ("space_info 4" is METADATA in btrfs_dump_space_info). */
    public enum BlockGroupType { DATA, SYSTEM, METADATA }

    /** One block group: its range and type, the bytes used, reserved and pinned, read-only, on unused_bgs. */
    public record BlockGroup(long start, long length, BlockGroupType type, long used, long reserved, long pinned,
                             boolean readOnly, boolean unused) { }

    /** One space_info's counters, as btrfs_dump_space_info prints them. */
    public record SpaceCounters(long total, long used, long pinned, long reserved, long mayUse, long readonly) { }
}
