package org.jbtrfs.qgroup;

import org.jbtrfs.core.kernel.Mutex;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * The qgroup part of struct btrfs_fs_info (fs/btrfs/ctree.h, v5.11), with the kernel's three locks:
 *
 * <table>
 *   <caption>what guards what</caption>
 *   <tr><th>lock</th><th>kernel</th><th>guards</th></tr>
 *   <tr><td>{@link #ioctlLock}</td><td>qgroup_ioctl_lock (mutex)</td><td>the ioctl paths: quota enable /
 *       disable and btrfs_qgroup_inherit serialise on it; {@code fs.quotaRoot()} is changed only with it held</td></tr>
 *   <tr><td>{@link #rescanLock}</td><td>qgroup_rescan_lock (mutex)</td><td>{@link #rescanProgress},
 *       {@link #rescanRunning}, the RESCAN / INCONSISTENT decisions of the worker and of rescan init;
 *       the worker holds it only around its leaf search and its final status section</td></tr>
 *   <tr><td>{@link #lock}</td><td>qgroup_lock (spinlock)</td><td>the qgroup tree and every counter in it
 *       ({@link #qgroups}, {@link Qgroup}); publishing quota_root with QUOTA_ENABLED; the ON bit at commit.
 *       Nothing sleeps under it</td></tr>
 * </table>
 *
 * <p>{@code qgroup_flags} is read and written in the kernel under whichever of these the path holds,
 * and in a few places under none (btrfs_qgroup_rescan's error path, update_qgroup_status_item from
 * btrfs_run_qgroups). Here each access is one atomic operation on {@link #flags}: the same
 * interleavings as the kernel's, with Java visibility, and no torn read-modify-write the kernel's
 * unlocked paths could in theory produce (not a behaviour the port needs).
 */
final class QgroupFsInfo {
    final FsInfo fs;
    /** fs_info->qgroup_ioctl_lock */
    final Mutex ioctlLock;
    /** fs_info->qgroup_rescan_lock */
    final Mutex rescanLock;
    /** fs_info->qgroup_lock */
    final SpinLock lock = new SpinLock("qgroup_lock");

    /** fs_info->qgroup_tree: qgroupid → qgroup. Guarded by {@link #lock}. */
    final Map<Long, Qgroup> qgroups = new TreeMap<>();
    /** fs_info->qgroup_flags: the status item's ON / RESCAN / INCONSISTENT bits. */
    private final AtomicLong flags = new AtomicLong();
    /**
     * fs_info->qgroup_rescan_progress (the objectid; type and offset are always 0). Written under
     * {@link #rescanLock}; volatile for btrfs_run_qgroups, which writes it into the status item without
     * that lock, as the kernel does.
     */
    volatile long rescanProgress;
    /**
     * fs_info->qgroup_rescan_running. Guarded by {@link #rescanLock}, except that btrfs_quota_enable sets
     * it without the lock; volatile for that write.
     */
    volatile boolean rescanRunning;
    /** fs_info->qgroup_rescan_completion: re-armed by qgroup_rescan_init only, completed by the worker. */
    final Completion rescanCompletion;
    /**
     * fs_info->qgroup_rescan_work: initialised by qgroup_rescan_init (btrfs_init_work) and queued by
     * whoever starts the worker. Null until the first init, as in a freshly allocated fs_info.
     * Written under {@link #rescanLock}; volatile for btrfs_quota_enable, which queues it without.
     */
    volatile BtrfsWork rescanWork;
    /**
     * The kworker running btrfs_qgroup_rescan_worker right now, null between runs: who will complete
     * {@link #rescanCompletion} (a run re-queued meanwhile completes it in the next run, which waits for this one).
     */
    volatile Thread rescanWorkerTask;

    QgroupFsInfo(FsInfo fs) {
        this.fs = fs;
        this.ioctlLock = new Mutex("qgroup_ioctl_lock", fs.kernel.lockdep(), "&fs_info->qgroup_ioctl_lock");
        this.rescanLock = new Mutex("qgroup_rescan_lock", fs.kernel.lockdep(), "&fs_info->qgroup_rescan_lock");
        // a panic ends an uninterruptible wait; the worker running now is the one that completes it
        this.rescanCompletion = new Completion(fs.kernel.sched(), () -> rescanWorkerTask);
    }

    long flags() { return flags.get(); }

    void setFlags(long f) { flags.set(f); }

    void setFlag(long bit) { flags.getAndUpdate(v -> v | bit); }

    void clearFlag(long bit) { flags.getAndUpdate(v -> v & ~bit); }

    boolean testFlag(long bit) { return (flags.get() & bit) != 0; }

    /** kernel: mutex_lock() on one of the qgroup mutexes — might_sleep(): never under {@link #lock}. */
    void mutexLock(ReentrantLock m, String name) {
        lock.mightSleep("mutex_lock(" + name + ")");
        m.lock();
    }
}
