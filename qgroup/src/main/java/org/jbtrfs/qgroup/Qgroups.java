package org.jbtrfs.qgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.QgroupHooks;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.Leaf;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * Quota groups of one filesystem (fs/btrfs/qgroup.c, v5.11 with patch 1/5): the quota tree with its
 * status and info items, accounting at commit, and the rescan worker on the single-threaded
 * qgroup_rescan_workers queue, which walks the extent tree's commit root one leaf per transaction.
 *
 * <p>Everything below is guarded by {@code fs_info->qgroup_rescan_lock} ({@link FsInfo#qgroupRescanLock})
 * — the kernel splits it with the qgroup_lock spinlock; one lock keeps the port simple. The completion
 * is re-armed only by {@link #rescanInit}, as in the kernel.
 *
 * <p>Why the rescan and the live accounting do not count an extent twice or never: the worker holds a
 * transaction handle while it reads a leaf of the extent tree's commit root and moves the progress
 * past it, and the commit accounts delayed refs only after every writer left, so the two never
 * interleave. An extent below the progress was either in the commit root the worker read (counted by
 * the worker) or committed later (counted live); an extent at or beyond it is left to the worker, which
 * will find it in a later commit root — or, if it is freed first, never sees it at all.
 */
public final class Qgroups implements QgroupHooks {
    private final FsInfo fs;
    private final Map<Long, Qgroup> qgroups = new TreeMap<>();
    private long statusFlags;
    /** qgroup_rescan_progress (objectid part; type and offset are always 0) */
    private long rescanProgress;
    private boolean rescanRunning;
    /** qgroup_rescan_completion: re-armed by {@link #rescanInit} only, completed by the worker. */
    private final Completion rescanCompletion;

    public Qgroups(FsInfo fs) {
        this.fs = fs;
        this.rescanCompletion = new Completion(fs.kernel.sched());
    }

    private void lock() { fs.qgroupRescanLock.lock(); }

    private void unlock() { fs.qgroupRescanLock.unlock(); }

    // ---- configuration ----------------------------------------------------------------------------

    /**
     * kernel: btrfs_read_qgroup_config() — with a quota tree (btrfs_read_roots found it and set
     * QUOTA_ENABLED): load the status item and every info item and install accounting. A status item
     * whose generation is not the superblock's was not updated by the last commit: the numbers are
     * suspect, mark them INCONSISTENT. Status not ON: quotas are off (QUOTA_ENABLED cleared). RESCAN set:
     * {@code qgroup_rescan_init(fs_info, rescan_progress, 0)} — re-arm the completion and continue from
     * the saved progress; the worker is queued later by {@link #rescanResume()} on an RW mount.
     */
    public void readConfig() {
        if (fs.quotaRoot == null) {
            return;
        }
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        long flags = 0;
        long savedProgress = 0;
        lock();
        try {
            for (TreeItem it : Trees.range(fs, fs.quotaRoot, Key.MIN, Key.MAX)) {
                if (it.key().type() == ItemType.QGROUP_STATUS) {
                    QgroupStatusItem st = QgroupStatusItem.decode(it.data());
                    if (st.generation() != fs.superCopy().generation) {
                        flags |= QgroupStatusItem.FLAG_INCONSISTENT;
                        fs.log().error(fs.sbId(), "qgroup generation mismatch, marked as inconsistent");
                    }
                    statusFlags = st.flags();
                    savedProgress = st.rescan();
                } else if (it.key().type() == ItemType.QGROUP_INFO) {
                    QgroupInfoItem info = QgroupInfoItem.decode(it.data());
                    Qgroup q = new Qgroup(it.key().offset());
                    q.rfer = info.rfer();
                    q.excl = info.excl();
                    qgroups.put(q.id, q);
                }
            }
            statusFlags |= flags;
        } finally {
            unlock();
        }
        fs.qgroupHooks = this;
        if ((statusFlags() & QgroupStatusItem.FLAG_ON) == 0) {
            fs.flags.clear(FsFlag.QUOTA_ENABLED);
        } else if ((statusFlags() & QgroupStatusItem.FLAG_RESCAN) != 0) {
            rescanInit(false, savedProgress);
        }
    }

    /** kernel: btrfs_free_qgroup_config() (close_ctree) */
    public void freeConfig() {
        lock();
        try {
            qgroups.clear();
        } finally {
            unlock();
        }
        fs.qgroupHooks = null;
    }

    /**
     * kernel: btrfs_quota_enable() — create the quota tree with a status item (ON, INCONSISTENT) and a
     * qgroup per existing subvolume, commit, set QUOTA_ENABLED, then start a rescan to fill in the numbers.
     */
    public void quotaEnable() {
        if (fs.quotaRoot != null) {
            return; // kernel: "if (fs_info->quota_root) goto out;"
        }
        TransHandle h = Transactions.start(fs, fs.treeRoot, 2, "btrfs_quota_enable");
        Root quota;
        try {
            var leaf = Extents.allocRootLeaf(h, ItemType.QUOTA_TREE_OBJECTID);
            RootItem item = new RootItem(h.transid(), 0, leaf.bytenr(), 0, 0, 0, 1, Key.MIN, 0, 0);
            Trees.insert(h, fs.treeRoot, new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), item.encode());
            quota = new Root(ItemType.QUOTA_TREE_OBJECTID, leaf, item);
            fs.quotaRoot = quota;
            lock();
            try {
                statusFlags = QgroupStatusItem.FLAG_ON | QgroupStatusItem.FLAG_INCONSISTENT;
                Trees.insert(h, quota, statusKey(), status(h.transid()).encode());
                for (TreeItem it : Trees.range(fs, fs.treeRoot, new Key(ItemType.FS_TREE_OBJECTID, ItemType.ROOT_ITEM, 0),
                    new Key(ItemType.LAST_FREE_OBJECTID, ItemType.ROOT_ITEM, -1L))) {
                    if (it.key().type() == ItemType.ROOT_ITEM && RootItem.decode(it.data()).refs() > 0
                        && (it.key().objectid() == ItemType.FS_TREE_OBJECTID || it.key().objectid() >= ItemType.FIRST_FREE_OBJECTID)) {
                        Qgroup q = new Qgroup(it.key().objectid());
                        qgroups.put(q.id, q);
                        Trees.insert(h, quota, infoKey(q.id), new QgroupInfoItem(h.transid(), 0, 0, 0, 0).encode());
                    }
                }
            } finally {
                unlock();
            }
        } catch (RuntimeException e) {
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
        // set QUOTA_ENABLED only after the commit, as the kernel does
        fs.qgroupHooks = this;
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        rescanInit(true, 0);
        lock();
        try {
            zeroTracking();
            queueRescan();
        } finally {
            unlock();
        }
    }

    /**
     * kernel: btrfs_quota_disable() — stop accounting, wait for a rescan, delete the quota tree's items
     * and its root item, commit.
     */
    public void quotaDisable() {
        if (fs.quotaRoot == null) {
            return;
        }
        fs.flags.clear(FsFlag.QUOTA_ENABLED);
        waitForCompletion(false);
        TransHandle h = Transactions.start(fs, fs.treeRoot, 1, "btrfs_quota_disable");
        try {
            lock();
            try {
                for (TreeItem it : Trees.range(fs, fs.quotaRoot, Key.MIN, Key.MAX)) {
                    Trees.delete(h, fs.quotaRoot, it.key());
                }
                qgroups.clear();
                statusFlags = 0;
            } finally {
                unlock();
            }
            Trees.delete(h, fs.treeRoot, new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0));
            Extents.freeTreeBlock(h, fs.quotaRoot.node());
            fs.quotaRoot = null;
            fs.qgroupHooks = null;
        } catch (RuntimeException e) {
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
    }

    /** kernel: btrfs_create_qgroup() for a new subvolume, when quotas are on. */
    public void createQgroup(TransHandle h, long subvolId) {
        // kernel: btrfs_qgroup_inherit / btrfs_create_qgroup test QUOTA_ENABLED and quota_root under
        // qgroup_ioctl_lock, which btrfs_quota_disable holds while it tears the quota tree down: the test and
        // the insertion are one step (the port's one qgroup lock stands for both)
        lock();
        try {
            fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.QGROUP_CREATE_BEFORE_ITEM);
            Root quota = fs.quotaRoot;
            if (!fs.flags.test(FsFlag.QUOTA_ENABLED) || quota == null) {
                return;
            }
            Qgroup q = new Qgroup(subvolId);
            qgroups.put(subvolId, q);
            // add_qgroup_item() tolerates -EEXIST: a stale item of a dropped subvolume with the same id is reset
            Trees.put(h, quota, infoKey(subvolId), new QgroupInfoItem(h.transid(), 0, 0, 0, 0).encode());
        } finally {
            unlock();
        }
    }

    // ---- accounting (called by the commit) ------------------------------------------------------

    /**
     * kernel: btrfs_qgroup_account_extent() — charge the owner's qgroup. While a rescan runs, extents at
     * or beyond its progress are left to the rescan, which will see them in a later commit root.
     */
    @Override
    public void accountExtent(long ownerRoot, long bytenr, long numBytes, boolean add) {
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
            return;
        }
        lock();
        try {
            if ((statusFlags & QgroupStatusItem.FLAG_RESCAN) != 0 && Long.compareUnsigned(bytenr, rescanProgress) >= 0) {
                return;
            }
            Qgroup q = qgroups.get(ownerRoot);
            if (q == null) {
                return;
            }
            long d = add ? numBytes : -numBytes;
            q.rfer += d;
            q.excl += d;
            q.dirty = true;
        } finally {
            unlock();
        }
    }

    /**
     * kernel: btrfs_run_qgroups() — write the dirty info items, set or clear the ON flag from
     * QUOTA_ENABLED, and write the status item (flags, this generation, the rescan progress) in every
     * committing transaction: that is what lets a later mount trust the numbers (its generation check).
     * The commit calls this until nothing changes; once the quota leaf is COWed in this transaction a
     * rewrite of the status item changes nothing more, so only info items count as a change.
     */
    @Override
    public boolean runQgroups(TransHandle h) {
        Root quota = fs.quotaRoot;
        if (quota == null) {
            return false;
        }
        boolean changed = false;
        lock();
        try {
            for (Qgroup q : qgroups.values()) {
                if (q.dirty) {
                    q.dirty = false;
                    Trees.put(h, quota, infoKey(q.id), new QgroupInfoItem(h.transid(), q.rfer, q.rfer, q.excl, q.excl).encode());
                    changed = true;
                }
            }
            if (fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                statusFlags |= QgroupStatusItem.FLAG_ON;
            } else {
                statusFlags &= ~QgroupStatusItem.FLAG_ON;
            }
            try {
                updateStatusItem(h);
            } catch (BtrfsException e) {
                statusFlags |= QgroupStatusItem.FLAG_INCONSISTENT;
            }
        } finally {
            unlock();
        }
        return changed;
    }

    /** kernel: update_qgroup_status_item() — caller holds the lock. */
    private void updateStatusItem(TransHandle h) {
        Trees.update(h, fs.quotaRoot, statusKey(), status(h.transid()).encode());
    }

    // ---- rescan ---------------------------------------------------------------------------------

    /**
     * kernel: qgroup_rescan_init(fs_info, progress_objectid, init_flags) — {@code fresh}: a new rescan
     * (EINPROGRESS if one is in progress, EINVAL if quotas are off), setting the RESCAN status flag;
     * else the resume at mount, which requires RESCAN and ON. Sets the progress to
     * {@code (progressObjectid, 0, 0)} and re-arms the completion (init_completion).
     */
    void rescanInit(boolean fresh, long progressObjectid) {
        lock();
        try {
            if (!fresh) {
                if ((statusFlags & QgroupStatusItem.FLAG_RESCAN) == 0) {
                    fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup rescan is not queued");
                    throw new BtrfsException(Errno.EINVAL, "qgroup rescan is not queued");
                }
                if ((statusFlags & QgroupStatusItem.FLAG_ON) == 0) {
                    fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup is not enabled");
                    throw new BtrfsException(Errno.EINVAL, "qgroup is not enabled");
                }
            } else {
                if ((statusFlags & QgroupStatusItem.FLAG_RESCAN) != 0) {
                    fs.log().warn(fs.sbId(), "qgroup rescan is already in progress");
                    throw new BtrfsException(Errno.EINPROGRESS, "qgroup rescan is already in progress");
                }
                if ((statusFlags & QgroupStatusItem.FLAG_ON) == 0) {
                    fs.log().warn(fs.sbId(), "qgroup rescan init failed, qgroup is not enabled");
                    throw new BtrfsException(Errno.EINVAL, "qgroup is not enabled");
                }
                statusFlags |= QgroupStatusItem.FLAG_RESCAN;
            }
            rescanProgress = progressObjectid;
            rescanCompletion.reinit();
        } finally {
            unlock();
        }
    }

    /**
     * kernel: btrfs_qgroup_rescan() (the BTRFS_IOC_QUOTA_RESCAN ioctl) — init (EINPROGRESS, or EINVAL
     * when quotas are off, each with the kernel's warning), join and commit a transaction so every
     * delayed ref already accounted is in the extent tree (on failure: clear RESCAN and return the
     * error), zero every qgroup, queue the worker.
     */
    public void rescan() {
        rescanInit(true, 0);
        try {
            TransHandle h = Transactions.join(fs, fs.fsRoot, "btrfs_qgroup_rescan");
            Transactions.commit(h);
        } catch (BtrfsException e) {
            lock();
            try {
                statusFlags &= ~QgroupStatusItem.FLAG_RESCAN;
            } finally {
                unlock();
            }
            throw e;
        }
        lock();
        try {
            zeroTracking();
            queueRescan();
        } finally {
            unlock();
        }
    }

    /**
     * kernel: btrfs_qgroup_rescan_resume() — btrfs_start_pre_rw_mount (RW mount, RO→RW remount): queue
     * the worker when the status says a rescan is in progress. Like the kernel it does not re-arm the
     * completion: after a rescan paused by an RO remount (complete_all) is resumed by an RO→RW
     * remount, a wait returns at once while the worker runs (reference §6.4; faithful on purpose), and
     * the next RO remount does not wait for it. Only a mount re-arms it, through {@link #readConfig()}.
     * The proposed fix {@link FixSwitch#QGROUP_RESCAN_RESUME_REARM} re-arms it here, under the lock,
     * before the worker is queued.
     */
    public void rescanResume() {
        lock();
        try {
            if ((statusFlags & QgroupStatusItem.FLAG_RESCAN) != 0 && fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                if (fs.applied(FixSwitch.QGROUP_RESCAN_RESUME_REARM)) {
                    rescanCompletion.reinit(); // proposed: init_completion(&fs_info->qgroup_rescan_completion)
                }
                queueRescan();
            }
        } finally {
            unlock();
        }
    }

    private void queueRescan() {
        rescanRunning = true;
        fs.workqueues.qgroupRescanWorkers.queueWork(new BtrfsWork(this::rescanWorker));
    }

    /** kernel: qgroup_rescan_zero_tracking() */
    private void zeroTracking() {
        for (Qgroup q : qgroups.values()) {
            q.rfer = 0;
            q.excl = 0;
            q.dirty = true;
        }
    }

    /**
     * kernel: btrfs_qgroup_wait_for_completion() — wait for a running rescan (close_ctree, and with
     * patch 1/5 remount RO). Interruptible waits return false when interrupted.
     */
    public boolean waitForCompletion(boolean interruptible) {
        return !rescanRunning() || rescanCompletion.await(interruptible);
    }

    /** Waits up to {@code timeout} for a running rescan; true if none runs now (or its completion is done). */
    public boolean waitForCompletion(long timeout, TimeUnit unit) throws InterruptedException {
        return !rescanRunning() || rescanCompletion.await(unit.toNanos(timeout));
    }

    /**
     * Threads blocked in {@link #waitForCompletion} right now: a reproducer's proof that remount RO (or
     * close_ctree) really waits for the worker.
     */
    public int rescanWaiters() { return rescanCompletion.waiters(); }

    /**
     * kernel: rescan_should_stop() (patch 1/5) — unmounting, or any remount in progress. Reverted: only
     * btrfs_fs_closing(), so an RO remount neither stops nor waits for the worker.
     */
    private boolean rescanShouldStop() {
        if (fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT)) {
            return fs.fsClosing() != 0 || fs.fsState.test(FsState.REMOUNTING);
        }
        return fs.fsClosing() != 0;
    }

    /**
     * kernel: btrfs_qgroup_rescan_worker() — one transaction per extent-tree leaf (committed on the last
     * leaf, else only ended) until done, an error, or {@link #rescanShouldStop()}; then update the status
     * item in a transaction that is ended, not committed, and complete_all. Patch 1/5 evaluates the stop
     * condition once per iteration into {@code stopped} and uses that same value for the RESCAN flag
     * decision and the final message (Sterba's remark and Filipe's answer in the thread).
     *
     * <p>Hooks: {@link Hook#QGROUP_RESCAN_BEFORE_LEAF} is reached before every stop check (so also by
     * the check that stops the loop; not after the last leaf, where err &gt; 0 ends it), and
     * {@link Hook#QGROUP_RESCAN_BEFORE_STATUS_UPDATE} after the loop.
     *
     * <p>A consequence of patch 1/5 the thread does not discuss, kept as the kernel has it: REMOUNTING is
     * set for the whole of every remount, and an RO→RW remount queues this worker
     * (btrfs_qgroup_rescan_resume from btrfs_start_pre_rw_mount) before it clears REMOUNTING — a
     * worker that makes its first check in between stops at once ("qgroup scan paused") and the rescan
     * stays paused until the next mount.
     */
    private void rescanWorker() {
        int err = 0;
        boolean stopped = false;
        boolean p1 = fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT);
        // kernel: while (!err && !(stopped = rescan_should_stop(fs_info))) — written out so that the
        // hook comes before the stop check: a worker parked there decides whether to go on only when
        // released, after whatever the test did meanwhile (a remount setting or clearing REMOUNTING)
        while (err == 0) {
            fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            if (stopped = rescanShouldStop()) {
                break;
            }
            TransHandle h;
            try {
                h = Transactions.start(fs, fs.fsRoot, 0, "btrfs_qgroup_rescan_worker");
            } catch (BtrfsException e) {
                err = e.errno().ret();
                break;
            }
            if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                err = Errno.EINTR.ret();
            } else {
                try {
                    err = rescanLeaf();
                } catch (BtrfsException e) {
                    err = e.errno().ret();
                }
            }
            if (err > 0) {
                try {
                    Transactions.commit(h);
                } catch (BtrfsException e) {
                    // the kernel ignores btrfs_commit_transaction()'s return here; an abort shows elsewhere
                }
            } else {
                Transactions.end(h);
            }
        }
        lock();
        try {
            if (err > 0 && (statusFlags & QgroupStatusItem.FLAG_INCONSISTENT) != 0) {
                statusFlags &= ~QgroupStatusItem.FLAG_INCONSISTENT;
            } else if (err < 0) {
                statusFlags |= QgroupStatusItem.FLAG_INCONSISTENT;
            }
        } finally {
            unlock();
        }
        fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE);
        // "only update status, since the previous part has already updated the qgroup info"
        TransHandle h = null;
        try {
            h = Transactions.start(fs, fs.quotaRoot, 1, "btrfs_qgroup_rescan_worker");
        } catch (BtrfsException e) {
            err = e.errno().ret();
            fs.log().error(fs.sbId(), "fail to start transaction for status update: " + err);
        }
        lock();
        try {
            boolean keepRescanFlag = p1 ? stopped : fs.fsClosing() != 0;
            if (!keepRescanFlag) {
                statusFlags &= ~QgroupStatusItem.FLAG_RESCAN;
            }
            if (h != null) {
                try {
                    updateStatusItem(h);
                } catch (BtrfsException e) {
                    err = e.errno().ret();
                    fs.log().error(fs.sbId(), "fail to update qgroup status: " + err);
                }
            }
            rescanRunning = false;
            rescanCompletion.completeAll();
        } finally {
            unlock();
        }
        if (h == null) {
            return;
        }
        // ended, not committed: whoever commits next (transaction kthread, sync, commit_super) writes it
        Transactions.end(h);
        boolean paused = p1 ? stopped : fs.fsClosing() != 0;
        if (paused) {
            fs.log().info(fs.sbId(), "qgroup scan paused");
        } else if (err >= 0) {
            fs.log().info(fs.sbId(), "qgroup scan completed" + (err > 0 ? " (inconsistency flag cleared)" : ""));
        } else {
            fs.log().error(fs.sbId(), "qgroup scan failed with " + err);
        }
    }

    /**
     * kernel: qgroup_rescan_leaf() — account the extents of one leaf of the extent tree's commit root from
     * the progress key; returns 1 after the last leaf.
     */
    private int rescanLeaf() {
        lock();
        try {
            Leaf leaf = Trees.commitRootLeaf(fs, fs.extentRoot, new Key(rescanProgress, 0, 0));
            if (leaf.items().isEmpty()) {
                rescanProgress = -1L;
                return 1;
            }
            for (var it : leaf.items()) {
                Key k = it.key();
                long len;
                if (k.type() == ItemType.EXTENT_ITEM) {
                    len = k.offset();
                } else if (k.type() == ItemType.METADATA_ITEM) {
                    len = fs.superCopy().nodesize;
                } else {
                    continue;
                }
                Qgroup q = qgroups.get(ExtentItem.decode(it.data()).ownerRoot());
                if (q != null) {
                    q.rfer += len;
                    q.excl += len;
                    q.dirty = true;
                }
            }
            Key last = leaf.items().get(leaf.items().size() - 1).key();
            rescanProgress = last.objectid() + 1;
            if (leaf.isLast()) {
                rescanProgress = -1L;
                return 1;
            }
            return 0;
        } finally {
            unlock();
        }
    }

    // ---- items ----------------------------------------------------------------------------------

    private QgroupStatusItem status(long generation) {
        return new QgroupStatusItem(1, generation, statusFlags, rescanProgress);
    }

    private static Key statusKey() { return new Key(0, ItemType.QGROUP_STATUS, 0); }

    private static Key infoKey(long id) { return new Key(0, ItemType.QGROUP_INFO, id); }

    // ---- inspection -------------------------------------------------------------------------------

    /** Current usage of every qgroup, in id order. */
    public List<Qgroup.Usage> usage() {
        lock();
        try {
            List<Qgroup.Usage> l = new ArrayList<>();
            qgroups.values().forEach(q -> l.add(new Qgroup.Usage(q.id, q.rfer, q.excl)));
            return l;
        } finally {
            unlock();
        }
    }

    /** The status item flags (ON, RESCAN, INCONSISTENT). */
    public long statusFlags() {
        lock();
        try {
            return statusFlags;
        } finally {
            unlock();
        }
    }

    /** qgroup_rescan_progress.objectid: where the worker continues (-1 after the last leaf). */
    public long rescanProgress() {
        lock();
        try {
            return rescanProgress;
        } finally {
            unlock();
        }
    }

    public boolean rescanRunning() {
        lock();
        try {
            return rescanRunning;
        } finally {
            unlock();
        }
    }
}
