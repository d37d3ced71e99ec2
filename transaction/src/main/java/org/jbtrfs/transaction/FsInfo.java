package org.jbtrfs.transaction;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.kernel.AtomicVar;
import org.jbtrfs.core.kernel.FlagWord;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.core.kernel.RwSemaphore;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.space.SpaceManager;
import org.jbtrfs.workqueue.FsWorkqueues;

/**
 * struct btrfs_fs_info: the state of one mounted filesystem that the transaction layer and the
 * layers above it share. Subsystems above (cleaner, qgroup, fs) keep their own state objects and
 * install small callbacks here where the kernel calls "up" (commit_super running delayed iputs).
 *
 * <h2>Who touches what</h2>
 * Four kinds of thread work on one filesystem at once, as in the kernel: user tasks (mount, remount,
 * umount, sync, file and subvolume operations — serialised against each other only by the VFS's
 * s_umount in {@code Btrfs}), the cleaner kthread, the transaction kthread, and kworkers (the rescan
 * worker, async checksumming, ordered-extent completion).
 * <ul>
 *   <li>{@link #flags} and {@link #fsState} are atomic bit words (set_bit / test_bit): any thread, no
 *       lock. Their sequentially consistent ordering is what patch 3/5 relies on (remount sets STATE_RO
 *       then tests CLEANER_RUNNING; the cleaner sets CLEANER_RUNNING then tests STATE_RO).</li>
 *   <li>{@link #sbRdonly} is the VFS's plain SB_RDONLY: written by mount / remount / forced RO under
 *       s_umount, read without ordering by the pre-patch-3/5 cleaner — on purpose.</li>
 *   <li>{@link #transLock} (trans_lock, a spinlock in the kernel) guards the running transaction,
 *       trans_list, the generation and dead_roots. The commit takes it only for state changes; the tree
 *       work runs outside it.</li>
 *   <li>{@link #cleanerMutex}: the cleaner trylocks it for delayed iputs and one dead root;
 *       btrfs_commit_super locks it first — which is why the first two variants of patch 3/5 are closed by
 *       the kernel's own locking, and the block-group step, run after the mutex is dropped, is not.</li>
 *   <li>{@link #transactionKthreadMutex}, {@link #deleteUnusedBgsMutex}, {@link #qgroupRescanLock},
 *       {@link #cleanupWorkSem} (orphan cleanup shared; commit_super exclusive as a barrier) and
 *       {@link #commitRootSem} (commit-root readers vs the commit's root switch) are the kernel's.</li>
 *   <li>The kthread and workqueue fields are written by open_ctree before anything else can see them and
 *       read (volatile) by every thread after; close_ctree stops the kthreads before it destroys the
 *       workqueues, and the workqueue fields keep their dead queues, so a late queue_work is the detected
 *       use-after-free of the seed rather than a NullPointerException.</li>
 * </ul>
 *
 * <h2>Who writes what</h2>
 * Public fields are final (the structure: kernel, device, flag words, locks, space, btree inode, fs_roots_radix).
 * Everything that changes after mount is private and written only through a named method whose Javadoc names the
 * kernel step and the module that calls it: SB_RDONLY ({@link #setSbRdonly()}, {@link #clearSbRdonly()},
 * {@link #setSbRdonlyFlag}), the commit interval, the workqueues, the roots (tree, extent, fs, quota, free space),
 * the two kthreads and the seven upcalls ({@link #installDelayedIputRunner}, {@link #installQgroupHooks},
 * {@link #installOrderedExtentsDestroyer}, {@link #installDelallocInodesDestroyer}, {@link #installDefragRunner},
 * {@link #installDelallocShrinker}, {@link #installDelayedIputsWaiter}); the async reclaim work is made with the
 * workqueues ({@link #setWorkqueues}). The
 * transaction state (running transaction, trans_list, generation, last committed, dead_roots, super_copy) is
 * package-private to transaction and changes only under {@link #transLock}. docs/api.md lists the change.
 */
public final class FsInfo {
    /** BTRFS_DEFAULT_COMMIT_INTERVAL, seconds. */
    public static final int DEFAULT_COMMIT_INTERVAL = 30;

    public final Kernel kernel;
    /**
     * The filesystem's device as btrfs_map_block sees it: the device, and while a dev-replace runs its target, to which
     * every write is duplicated ({@link MappedDevice}); the replace's end swaps the target in.
     */
    public final MappedDevice device;
    public final FlagWord<FsFlag> flags;
    public final FlagWord<FsState> fsState;
    /** fs_info->mount_opt: the free space cache options (btrfs_parse_options sets them). */
    public final FlagWord<MountOpt> mountOpt = new FlagWord<>();
    /**
     * The VFS superblock's SB_RDONLY, deliberately a plain field updated with a plain
     * read-modify-write, as {@code sb->s_flags |= SB_RDONLY} is: before patch 3/5 the cleaner read
     * this, with no ordering against CLEANER_RUNNING.
     */
    private boolean sbRdonly;
    /** fs_info->commit_interval, seconds: btrfs_parse_options sets it (commit=N), the transaction kthread reads it. */
    private volatile int commitInterval = DEFAULT_COMMIT_INTERVAL;
    /** fs_info->compress_type, by name ("zlib", "lzo", "zstd"); meaningful while {@link MountOpt#COMPRESS} is set. */
    private volatile String compressType = "zlib";
    /**
     * fs_info->thread_pool_size: open_ctree's default, btrfs_parse_options' thread_pool=N; a remount's
     * btrfs_resize_thread_pool applies a new one to the workqueues, scrub_workers_get reads it with no lock.
     */
    private volatile int threadPoolSize;
    /** sb->s_writers: the freeze levels (sb_start_write, sb_start_intwrite) and sb->s_writers.frozen. */
    public final SbWriters sbWriters;

    /** super_copy: the in-memory superblock the next commit writes. Guarded by {@link #transLock}. */
    SuperBlock superCopy;
    private volatile FsWorkqueues workqueues;
    public final SpaceManager space;
    public final BtreeInode btreeInode;
    /** fs_info->discard_ctl: async discard (discard=async); its work exists once the workqueues do. */
    public final Discard discard = new Discard(this);

    // ---- transactions (trans_lock) ------------------------------------------------------------
    /** fs_info->trans_lock: running_transaction, trans_list, dead_roots. */
    public final Object transLock = new Object();
    Transaction runningTransaction;
    final ArrayDeque<Transaction> transList = new ArrayDeque<>();
    long generation;
    long lastTransCommitted;
    final List<Root> deadRoots = new ArrayList<>();

    // ---- locks -------------------------------------------------------------------------------
    public final Mutex cleanerMutex;
    public final Mutex transactionKthreadMutex;
    public final Mutex deleteUnusedBgsMutex;
    /** fs_info->ro_block_group_mutex: btrfs_inc_block_group_ro against the commit's dirty block group writeout. */
    public final Mutex roBlockGroupMutex;
    /**
     * fs_info->tree_log_mutex: btrfs_commit_transaction holds it from commit_fs_roots until write_all_supers has written
     * the superblocks (the tree log, its other user, is not ported); the proposed
     * {@code DEV_REPLACE_SWAP_BEFORE_SUPERS} makes btrfs_dev_replace_finishing take it too.
     */
    public final Mutex treeLogMutex;
    /**
     * fs_devices->device_list_mutex: write_all_supers walks the devices under it; btrfs_dev_replace_finishing holds it
     * across the replace's state change and the swap ("Prevent write_all_supers() during the finishing procedure").
     */
    public final Mutex deviceListMutex;
    /** The scrub state: scrub_lock, pause and cancel requests, the scrub workqueues. */
    public final ScrubControl scrub;
    /** The balance state: balance_mutex, balance_ctl, the pause and cancel requests, the exclusive operation. */
    public final BalanceControl balance;
    /** fs_info->exclusive_operation: balance or dev-replace. */
    public final ExclusiveOperation exclop = new ExclusiveOperation();
    /** fs_info->dev_replace: the replace state, its locks, its item's writeback. */
    public final DevReplaceControl devReplace;
    /**
     * fs_info->subvol_sem: subvolume creation takes it shared (btrfs_mksubvol), deletion and the quota
     * ioctl (enable / disable) exclusive. (The qgroup locks live with the qgroup state.)
     */
    public final RwSemaphore subvolSem;
    /** cleanup_work_sem: orphan cleanup takes it shared; commit_super takes it exclusively as a barrier. */
    public final RwSemaphore cleanupWorkSem;
    /** commit_root_sem: commit-root readers (qgroup rescan) vs the commit switching roots and unpinning. */
    public final RwSemaphore commitRootSem;

    // ---- roots -------------------------------------------------------------------------------
    private volatile Root treeRoot;
    private volatile Root extentRoot;
    private volatile Root fsRoot;
    /** fs_info->quota_root: the quota tree while quotas are on, else null. */
    private volatile Root quotaRoot;
    /** fs_info->free_space_root: the free space tree (space_cache=v2), or null. */
    private volatile Root freeSpaceRoot;
    /** fs_info->uuid_root: the UUID tree, or null until btrfs_create_uuid_tree made it (or on a fresh RO mount). */
    private volatile Root uuidRoot;
    /** fs_info->dev_root: the device tree (the port keeps only the dev-replace item in it). */
    private volatile Root devRoot;
    private volatile Root csumRoot;
    /** fs_roots_radix: subvolume id → root (holding a reference). */
    public final Map<Long, Root> fsRootsRadix = new ConcurrentHashMap<>();

    // ---- kthreads and upcalls ------------------------------------------------------------------
    private volatile Kthread cleanerKthread;
    private volatile Kthread transactionKthread;
    /** btrfs_run_delayed_iputs(), installed by the cleaner layer (commit_super calls it). */
    private volatile Runnable delayedIputRunner = () -> { };
    /** btrfs_run_defrag_inodes(), installed by the fs layer (the cleaner's pass calls it). */
    private volatile Runnable defragRunner = () -> { };
    /** qgroup accounting at commit; null while quotas are off. */
    private volatile QgroupHooks qgroupHooks;
    /** btrfs_destroy_all_ordered_extents(), installed by the fs layer (btrfs_cleanup_transaction calls it). */
    private volatile Runnable orderedExtentsDestroyer = () -> { };
    /** btrfs_destroy_all_delalloc_inodes(), installed by the fs layer (btrfs_cleanup_transaction calls it). */
    private volatile Runnable delallocInodesDestroyer = () -> { };

    private final byte[] fsid;

    public FsInfo(Kernel kernel, BlockDevice device, SuperBlock sb, SpaceManager space) {
        this.kernel = kernel;
        Lockdep ld = kernel.lockdep();
        this.cleanerMutex = new Mutex("cleaner_mutex", ld, "&fs_info->cleaner_mutex");
        this.transactionKthreadMutex = new Mutex("transaction_kthread_mutex", ld, "&fs_info->transaction_kthread_mutex");
        this.deleteUnusedBgsMutex = new Mutex("delete_unused_bgs_mutex", ld, "&fs_info->delete_unused_bgs_mutex");
        this.roBlockGroupMutex = new Mutex("ro_block_group_mutex", ld, "&fs_info->ro_block_group_mutex");
        this.treeLogMutex = new Mutex("tree_log_mutex", ld, "&fs_info->tree_log_mutex");
        this.deviceListMutex = new Mutex("device_list_mutex", ld, "&fs_devices->device_list_mutex");
        this.scrub = new ScrubControl(kernel.sched(), ld);
        this.balance = new BalanceControl(kernel.sched(), ld);
        this.devReplace = new DevReplaceControl(kernel.sched(), ld);
        this.subvolSem = new RwSemaphore("&fs_info->subvol_sem", ld);
        this.cleanupWorkSem = new RwSemaphore("&fs_info->cleanup_work_sem", ld);
        this.commitRootSem = new RwSemaphore("&fs_info->commit_root_sem", ld);
        this.flags = new FlagWord<>(kernel.sched());
        this.fsState = new FlagWord<>(kernel.sched());
        this.fsyncsInFlight = new AtomicVar(kernel.sched());
        this.fsid = sb.fsid.clone();
        this.device = new MappedDevice(device, kernel.sched(), kernel.faults(), kernel.log(),
            kernel.applied(FixSwitch.DEV_REPLACE_SOURCE_WRITE_ERRORS), !kernel.applied(FixSwitch.DEV_REPLACE_EXTRA_MIRROR),
            DevStats.of(kernel), fsid);
        this.device.onTargetWriteError(() -> {
            if (applied(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS)) {
                devReplace.numWriteErrors.incrementAndGet(); // proposed: btrfs_end_bio's btrfs_dev_replace_stats_inc
            }
        });
        this.superCopy = sb;
        this.space = space;
        this.generation = sb.generation;
        this.lastTransCommitted = sb.generation;
        this.threadPoolSize = FsWorkqueues.defaultThreadPoolSize();
        this.sbWriters = new SbWriters(kernel.sched(), ld);
        this.btreeInode = new BtreeInode(this);
        space.asyncDiscard(() -> mountOpt.test(MountOpt.DISCARD_ASYNC));
        space.log(kernel.log());
        // btrfs_fs_compat_ro() is an unlocked read of super_copy, as here (the space lock is held; transLock is not taken)
        space.freeSpaceTree(() -> (superCopy.compatRoFlags & SuperBlock.COMPAT_RO_FREE_SPACE_TREE) != 0);
        flags.set(FsFlag.BARRIER);
        if (kernel.crc32c().isFast()) {
            flags.set(FsFlag.CSUM_IMPL_FAST);
        }
    }

    // ---- state that changes after mount: read by anyone, written only through these named methods ----------------

    /** SB_RDONLY as the VFS holds it (a plain read, as the pre-patch-3/5 cleaner reads it). */
    public boolean sbRdonly() { return sbRdonly; }

    /**
     * {@code sb->s_flags} SB_RDONLY alone, without BTRFS_FS_STATE_RO: the flags a mount starts with
     * (mount_fs), and remount's restore label putting back the saved flags. Everything else goes through
     * {@link #setSbRdonly()} / {@link #clearSbRdonly()}. Owner: fs (mount, remount).
     */
    public void setSbRdonlyFlag(boolean ro) { sbRdonly = ro; }

    public int commitInterval() { return commitInterval; }

    /** fs_info->compress_type. */
    public String compressType() { return compressType; }

    public void setCompressType(String type) { compressType = type; }

    /** fs_info->thread_pool_size. */
    public int threadPoolSize() { return threadPoolSize; }

    /** kernel: btrfs_parse_options() "thread_pool=N", btrfs_resize_thread_pool's store. Owner: fs. */
    public void setThreadPoolSize(int size) { threadPoolSize = size; }

    /** kernel: btrfs_parse_options() "commit=N" (and remount's restore). Owner: fs. */
    public void setCommitInterval(int seconds) { commitInterval = seconds; }

    /** The per-fs workqueues; after close_ctree the dead ones stay (a late queue_work is the detected use-after-free). */
    public FsWorkqueues workqueues() { return workqueues; }

    /** kernel: btrfs_init_workqueues() in open_ctree. Owner: fs (and transaction's test filesystem). */
    public void setWorkqueues(FsWorkqueues wq) {
        workqueues = wq;
        discard.init();
        // btrfs_init_async_reclaim_work(): the work __reserve_bytes queues on system_unbound_wq
        asyncReclaim = new AsyncReclaim(this, wq.workers.pool());
        asyncDataReclaim = new AsyncDataReclaim(this, wq.workers.pool());
        // 5.12: preempt_reclaim_work, the preemptive flushing 5.11 left to the async reclaim work
        preemptReclaim = kernel.config().version() == KernelVersion.V5_12 ? new PreemptReclaim(this, wq.workers.pool()) : null;
    }

    private volatile AsyncReclaim asyncReclaim;
    private volatile AsyncDataReclaim asyncDataReclaim;
    private volatile PreemptReclaim preemptReclaim;

    /** fs_info->async_reclaim_work (space-info.c); null before open_ctree's btrfs_init_workqueues. */
    public AsyncReclaim asyncReclaim() { return asyncReclaim; }

    /** fs_info->async_data_reclaim_work (space-info.c, stop 56); null before open_ctree's btrfs_init_workqueues. */
    public AsyncDataReclaim asyncDataReclaim() { return asyncDataReclaim; }

    /**
     * fs_info->preempt_reclaim_work (space-info.c, 5.12); null on 5.11's and 5.10's code paths, and before open_ctree's
     * btrfs_init_workqueues.
     */
    public PreemptReclaim preemptReclaim() { return preemptReclaim; }

    /**
     * shrink_delalloc() of the async reclaim works' FLUSH_DELALLOC states, and the percpu counters of delalloc and
     * ordered bytes the fs layer keeps (5.12's preemptive flushing reads them); the fs layer installs it.
     */
    public interface DelallocShrinker {
        /**
         * kernel: shrink_delalloc(fs_info, space_info, to_reclaim, wait_ordered) — {@code data}: the space_info is the
         * data one (its tickets end the loop early); {@code toReclaim} Long.MAX_VALUE is U64_MAX.
         */
        void shrink(long toReclaim, boolean waitOrdered, boolean data);

        /** percpu_counter_sum_positive(&fs_info->delalloc_bytes). */
        long delallocBytes();

        /** percpu_counter_sum_positive(&fs_info->ordered_bytes) (5.12; 5.11 counted dio_bytes). */
        long orderedBytes();
    }

    private volatile DelallocShrinker delallocShrinker = new DelallocShrinker() {
        @Override public void shrink(long toReclaim, boolean waitOrdered, boolean data) { }
        @Override public long delallocBytes() { return 0; }
        @Override public long orderedBytes() { return 0; }
    };
    private volatile Runnable delayedIputsWaiter = () -> { };

    public DelallocShrinker delallocShrinker() { return delallocShrinker; }

    /** Owner: fs (FsContext) — btrfs_start_delalloc_roots and btrfs_wait_ordered_roots live there. */
    public void installDelallocShrinker(DelallocShrinker s) { delallocShrinker = s; }

    /**
     * The -o flushoncommit steps of btrfs_commit_transaction, whose writeback and ordered extents the fs layer keeps;
     * it installs them.
     */
    public interface CommitFlush {
        /** kernel: btrfs_start_delalloc_flush() — with FLUSHONCOMMIT, start writeback of the dirty inodes. */
        void startDelallocFlush();

        /** kernel: btrfs_wait_delalloc_flush() — with FLUSHONCOMMIT, wait for every ordered extent. */
        void waitDelallocFlush();
    }

    private volatile CommitFlush commitFlush = new CommitFlush() {
        @Override public void startDelallocFlush() { }
        @Override public void waitDelallocFlush() { }
    };

    public CommitFlush commitFlush() { return commitFlush; }

    /** Owner: fs (FsContext) — writeback_inodes_sb and btrfs_wait_ordered_roots live there. */
    public void installCommitFlush(CommitFlush f) { commitFlush = f; }

    /** kernel: btrfs_wait_on_delayed_iputs() (the reclaim work's RUN_DELAYED_IPUTS state). */
    public Runnable delayedIputsWaiter() { return delayedIputsWaiter; }

    /** Owner: cleaner (the delayed iputs are its). */
    public void installDelayedIputsWaiter(Runnable r) { delayedIputsWaiter = r; }

    public Root treeRoot() { return treeRoot; }

    /** fs_info->tree_root: mkfs, or open_ctree reading the superblock's root. Owner: transaction (Mkfs), fs. */
    public void setTreeRoot(Root r) { treeRoot = r; }

    public Root extentRoot() { return extentRoot; }

    /** fs_info->extent_root: mkfs, or btrfs_read_roots. */
    public void setExtentRoot(Root r) { extentRoot = r; }

    public Root fsRoot() { return fsRoot; }

    /** fs_info->fs_root: mkfs, or open_ctree's btrfs_get_fs_root(FS_TREE). */
    public void setFsRoot(Root r) { fsRoot = r; }

    public Root quotaRoot() { return quotaRoot; }

    /**
     * fs_info->quota_root: btrfs_read_roots at mount (fs), btrfs_quota_enable / btrfs_quota_disable (qgroup). Null
     * while quotas are off.
     */
    public void setQuotaRoot(Root r) { quotaRoot = r; }

    public Root freeSpaceRoot() { return freeSpaceRoot; }

    /** fs_info->free_space_root: btrfs_read_roots (fs), btrfs_create/delete_free_space_tree (transaction). */
    public void setFreeSpaceRoot(Root r) { freeSpaceRoot = r; }

    public Root uuidRoot() { return uuidRoot; }

    /** fs_info->uuid_root: btrfs_read_roots at mount, btrfs_create_uuid_tree (fs). */
    public void setUuidRoot(Root r) { uuidRoot = r; }

    /** fs_info->dev_root. */
    public Root devRoot() { return devRoot; }

    public void setDevRoot(Root r) { devRoot = r; }

    /** fs_info->csum_root: the data checksums (file-item.c), read by btrfs_read_roots, written by mkfs. */
    public Root csumRoot() { return csumRoot; }

    public void setCsumRoot(Root r) { csumRoot = r; }

    /**
     * fs_info->uuid_tree_rescan_sem (a semaphore of one): held by the btrfs-uuid kthread from before it is started
     * until its scan ends — the kthread releases what the mount took. An RO remount and close_ctree wait for the
     * scan by taking and giving it back. A plain counting semaphore, not a lock: the releasing thread is not the
     * acquiring one.
     */
    public final java.util.concurrent.Semaphore uuidTreeRescanSem = new java.util.concurrent.Semaphore(1);

    /**
     * Port instrumentation for {@link FixSwitch#UUID_RESCAN_GENERATION_CHECK}'s oracle: set when this mount's
     * open_ctree started a UUID tree rescan although BTRFS_FS_UPDATE_UUID_TREE_GEN was set early (the generations
     * matched when the superblock was read) and rescan_uuid_tree was not asked for — what the fixed kernel never does.
     */
    private volatile boolean needlessUuidRescan;

    public boolean needlessUuidRescan() { return needlessUuidRescan; }

    /** Records a needless UUID tree rescan (instrumentation, see {@link #needlessUuidRescan()}). Owner: fs. */
    public void markNeedlessUuidRescan() { needlessUuidRescan = true; }

    /**
     * Port instrumentation for {@link FixSwitch#DISCARD_RESUME_RO_TO_RW}'s oracle: set when a remount of this mount left
     * it writable with discard=async asked for and BTRFS_FS_DISCARD_RUNNING clear — async discard off until the next
     * mount, which the fixed kernel never leaves.
     */
    private volatile boolean asyncDiscardOff;

    public boolean asyncDiscardOff() { return asyncDiscardOff; }

    /** Records async discard left off by a remount (instrumentation, see {@link #asyncDiscardOff()}). Owner: fs. */
    public void markAsyncDiscardOff() { asyncDiscardOff = true; }

    public Kthread cleanerKthread() { return cleanerKthread; }

    /** fs_info->cleaner_kthread: kthread_run in open_ctree. Owner: cleaner (Cleaner.start). */
    public void setCleanerKthread(Kthread k) { cleanerKthread = k; }

    public Kthread transactionKthread() { return transactionKthread; }

    /** fs_info->transaction_kthread: kthread_run in open_ctree. Owner: fs. */
    public void setTransactionKthread(Kthread k) { transactionKthread = k; }

    /** btrfs_run_delayed_iputs(), as the cleaner layer installed it (a no-op before). */
    public Runnable delayedIputRunner() { return delayedIputRunner; }

    /** The upcall commit_super makes into the cleaner layer. Owner: cleaner, at mount. */
    public void installDelayedIputRunner(Runnable r) { delayedIputRunner = r; }

    /** btrfs_run_defrag_inodes(), as the fs layer installed it (a no-op before). */
    public Runnable defragRunner() { return defragRunner; }

    /** The upcall the cleaner's pass makes into the fs layer's autodefrag (file.c). Owner: fs, at mount. */
    public void installDefragRunner(Runnable r) { defragRunner = r; }

    public QgroupHooks qgroupHooks() { return qgroupHooks; }

    /** The commit's upcall into qgroup accounting (btrfs_run_qgroups). Owner: qgroup, at mount. */
    public void installQgroupHooks(QgroupHooks h) { qgroupHooks = h; }

    /** btrfs_destroy_all_ordered_extents(), as the fs layer installed it (a no-op before). */
    public Runnable orderedExtentsDestroyer() { return orderedExtentsDestroyer; }

    /** btrfs_cleanup_transaction's upcall into the data write path. Owner: fs, at mount. */
    public void installOrderedExtentsDestroyer(Runnable r) { orderedExtentsDestroyer = r; }

    public Runnable delallocInodesDestroyer() { return delallocInodesDestroyer; }

    public void installDelallocInodesDestroyer(Runnable r) { delallocInodesDestroyer = r; }

    public KernelLog log() { return kernel.log(); }

    /** The filesystem id every tree block header carries. */
    byte[] superCopyFsid() { return fsid; }

    /** The filesystem's fsid (a copy). */
    public byte[] fsid() { return fsid.clone(); }

    /** The device name the kernel log uses ("sdc"). */
    public String sbId() { return device.name(); }

    public boolean applied(FixSwitch f) { return kernel.applied(f); }

    /** kernel: btrfs_fs_closing() — 0 open, 1 closing started, 2 closing done. */
    public int fsClosing() {
        if (!flags.test(FsFlag.CLOSING_START)) {
            return 0;
        }
        return flags.test(FsFlag.CLOSING_DONE) ? 2 : 1;
    }

    /**
     * kernel: btrfs_need_cleaner_sleep() — read-only or closing. Patch 3/5 made it test the atomic
     * BTRFS_FS_STATE_RO; before it, the superblock's plain SB_RDONLY.
     */
    public boolean needCleanerSleep() {
        return readOnlyState() || fsClosing() != 0;
    }

    /** The filesystem is read-only as a kthread tests it: BTRFS_FS_STATE_RO with patch 3/5, else SB_RDONLY. */
    public boolean readOnlyState() {
        return applied(FixSwitch.CLEANER_RO_REMOUNT_RACE) ? fsState.test(FsState.RO) : sbRdonly;
    }

    /**
     * fsyncs that may start a transaction ({@link FixSwitch#FSYNC_RO_REMOUNT_RACE}, proposed): raised by btrfs_sync_file
     * before it tests the read-only state, dropped when it is done; an RO remount waits for 0 after setting RO.
     */
    public final AtomicVar fsyncsInFlight;

    /** Port instrumentation: the transactions committed while the filesystem was settled read-only (the explorer's oracle). */
    public final ReadOnlyWrites readOnlyWrites = new ReadOnlyWrites();
    /** fs_info->delayed_root: inode items and directory indexes queued for the trees. */
    public final DelayedInodes delayedInodes = new DelayedInodes(this);

    /** kernel: btrfs_set_sb_rdonly() (patch 3/5); before it, only {@code sb->s_flags |= SB_RDONLY}. */
    public void setSbRdonly() {
        sbRdonly = true;
        if (applied(FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            fsState.set(FsState.RO);
        }
    }

    /** kernel: btrfs_clear_sb_rdonly() (patch 3/5); before it, only {@code sb->s_flags &= ~SB_RDONLY}. */
    public void clearSbRdonly() {
        sbRdonly = false;
        if (applied(FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            fsState.clear(FsState.RO);
        }
    }

    /** A copy of the in-memory superblock. */
    public SuperBlock superCopy() {
        synchronized (transLock) {
            return superCopy.copy();
        }
    }

    /** kernel: btrfs_fs_compat_ro() — is {@code bit} set in the in-memory superblock's compat_ro_flags? */
    public boolean compatRo(long bit) {
        synchronized (transLock) {
            return (superCopy.compatRoFlags & bit) != 0;
        }
    }

    /** kernel: btrfs_super_cache_generation(fs_info->super_copy) */
    public long superCacheGeneration() {
        synchronized (transLock) {
            return superCopy.cacheGeneration;
        }
    }

    /** kernel: btrfs_free_space_cache_v1_active() (5.11) — a non-zero super cache_generation. */
    public boolean freeSpaceCacheV1Active() { return superCacheGeneration() != 0; }

    /**
     * kernel: btrfs_set_fs_compat_ro() / btrfs_clear_fs_compat_ro() — change a compat_ro bit of the
     * in-memory superblock (the next commit writes it) with the kernel's info line.
     */
    public void changeCompatRo(long bit, String name, boolean set) {
        synchronized (transLock) {
            boolean has = (superCopy.compatRoFlags & bit) != 0;
            if (has == set) {
                return;
            }
            superCopy.compatRoFlags = set ? superCopy.compatRoFlags | bit : superCopy.compatRoFlags & ~bit;
        }
        log().info(sbId(), (set ? "setting" : "clearing") + " compat-ro feature flag for " + name + " (0x"
            + Long.toHexString(bit) + ")");
    }

    /** btrfs_super_generation(fs_info->super_copy): the generation the last commit wrote (or is writing). */
    public long superGeneration() {
        synchronized (transLock) {
            return superCopy.generation;
        }
    }

    /** Generation of the last committed transaction. */
    public long lastTransCommitted() {
        synchronized (transLock) {
            return lastTransCommitted;
        }
    }

    /**
     * The tree whose blocks carry {@code owner} in their header: the root tree, the extent tree, the quota
     * tree, the free space tree or a subvolume in fs_roots_radix; null for a tree not (or no longer)
     * reachable. Metadata writeback takes that tree's lock, as lock_extent_buffer_for_io takes the buffer's,
     * for a block dirtied without a tree lock recorded (BtreeInode.markDirty).
     */
    Root rootOf(long owner) {
        if (owner == org.jbtrfs.core.disk.ItemType.ROOT_TREE_OBJECTID) {
            return treeRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.EXTENT_TREE_OBJECTID) {
            return extentRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.QUOTA_TREE_OBJECTID) {
            return quotaRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.FREE_SPACE_TREE_OBJECTID) {
            return freeSpaceRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.DEV_TREE_OBJECTID) {
            return devRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.CSUM_TREE_OBJECTID) {
            return csumRoot;
        }
        if (owner == org.jbtrfs.core.disk.ItemType.UUID_TREE_OBJECTID) {
            return uuidRoot;
        }
        return fsRootsRadix.get(owner);
    }

    // ---- inspection --------------------------------------------------------------------------

    /** The transactions not yet completed (trans_list), oldest first. */
    public List<Transaction> transList() {
        synchronized (transLock) {
            return new ArrayList<>(transList);
        }
    }

    public Transaction runningTransaction() {
        synchronized (transLock) {
            return runningTransaction;
        }
    }

    /** The mutexes of this filesystem, for inspection and hung-task reports. */
    public java.util.List<Mutex> mutexes() {
        return java.util.List.of(cleanerMutex, transactionKthreadMutex, deleteUnusedBgsMutex, balance.mutex, treeLogMutex,
            deviceListMutex);
    }

    /** The dead_roots list, as subvolume ids. */
    public List<Long> deadRootIds() {
        synchronized (transLock) {
            return deadRoots.stream().map(Root::objectid).toList();
        }
    }
}
