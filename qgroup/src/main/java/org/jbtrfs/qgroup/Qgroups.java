package org.jbtrfs.qgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
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
 * <p>Everything below is guarded by {@code fs_info->qgroup_rescan_lock} ({@link FsInfo#qgroupRescanLock});
 * the completion is re-armed only by {@link #rescanInit}, as in the kernel.
 */
public final class Qgroups implements QgroupHooks {
    private final FsInfo fs;
    private final Map<Long, Qgroup> qgroups = new TreeMap<>();
    private long statusFlags;
    private boolean statusDirty;
    /** qgroup_rescan_progress (objectid part) */
    private long rescanProgress;
    private boolean rescanRunning;
    private CountDownLatch rescanCompletion = new CountDownLatch(0);

    public Qgroups(FsInfo fs) { this.fs = fs; }

    private void lock() { fs.qgroupRescanLock.lock(); }

    private void unlock() { fs.qgroupRescanLock.unlock(); }

    // ---- configuration ----------------------------------------------------------------------------

    /**
     * kernel: btrfs_read_qgroup_config() — with a quota tree: load the status item and every info item,
     * install accounting; if the status says a rescan was in progress, remember where it stopped.
     */
    public void readConfig() {
        if (fs.quotaRoot == null) {
            return;
        }
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        lock();
        try {
            for (TreeItem it : Trees.range(fs, fs.quotaRoot, Key.MIN, Key.MAX)) {
                if (it.key().type() == ItemType.QGROUP_STATUS) {
                    QgroupStatusItem st = QgroupStatusItem.decode(it.data());
                    statusFlags = st.flags();
                    rescanProgress = st.rescan();
                } else if (it.key().type() == ItemType.QGROUP_INFO) {
                    QgroupInfoItem info = QgroupInfoItem.decode(it.data());
                    Qgroup q = new Qgroup(it.key().offset());
                    q.rfer = info.rfer();
                    q.excl = info.excl();
                    qgroups.put(q.id, q);
                }
            }
        } finally {
            unlock();
        }
        fs.qgroupHooks = this;
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
        if (fs.flags.test(FsFlag.QUOTA_ENABLED)) {
            return;
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
        fs.qgroupHooks = this;
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        rescanInit(true);
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
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
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
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED) || fs.quotaRoot == null) {
            return;
        }
        lock();
        try {
            Qgroup q = new Qgroup(subvolId);
            qgroups.put(subvolId, q);
            Trees.insert(h, fs.quotaRoot, infoKey(subvolId), new QgroupInfoItem(h.transid(), 0, 0, 0, 0).encode());
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

    /** kernel: btrfs_run_qgroups() — write dirty info items and the status item in the committing transaction. */
    @Override
    public boolean runQgroups(TransHandle h) {
        Root quota = fs.quotaRoot;
        if (quota == null || !fs.flags.test(FsFlag.QUOTA_ENABLED)) {
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
            if (statusDirty) {
                statusDirty = false;
                Trees.update(h, quota, statusKey(), status(h.transid()).encode());
                changed = true;
            }
        } finally {
            unlock();
        }
        return changed;
    }

    // ---- rescan ---------------------------------------------------------------------------------

    /**
     * kernel: qgroup_rescan_init() — {@code fresh}: a new rescan (EINPROGRESS if one is in progress,
     * EINVAL if quotas are off), setting the RESCAN status flag; else a resume, which requires RESCAN and
     * ON. Zeroes the progress and re-arms the completion.
     */
    void rescanInit(boolean fresh) {
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
                statusDirty = true;
            }
            rescanProgress = 0;
            rescanCompletion = new CountDownLatch(1);
        } finally {
            unlock();
        }
    }

    /**
     * kernel: btrfs_qgroup_rescan() (the BTRFS_IOC_QUOTA_RESCAN ioctl) — init, join and commit a
     * transaction so the delayed refs are in the extent tree, zero every qgroup, queue the worker.
     */
    public void rescan() {
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
            throw new BtrfsException(Errno.EINVAL, "quotas are not enabled");
        }
        rescanInit(true);
        TransHandle h = Transactions.join(fs, fs.fsRoot, "btrfs_qgroup_rescan");
        Transactions.commit(h);
        lock();
        try {
            zeroTracking();
            queueRescan();
        } finally {
            unlock();
        }
    }

    /** kernel: btrfs_qgroup_rescan_resume() — start_pre_rw_mount: requeue a rescan the status says was in progress. */
    public void rescanResume() {
        lock();
        try {
            if ((statusFlags & QgroupStatusItem.FLAG_RESCAN) != 0 && fs.flags.test(FsFlag.QUOTA_ENABLED)) {
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
        CountDownLatch c;
        lock();
        try {
            if (!rescanRunning) {
                return true;
            }
            c = rescanCompletion;
        } finally {
            unlock();
        }
        boolean interrupted = false;
        while (true) {
            try {
                c.await();
                break;
            } catch (InterruptedException e) {
                if (interruptible) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /** Waits up to {@code timeout} for a running rescan; true if none runs now. */
    public boolean waitForCompletion(long timeout, TimeUnit unit) throws InterruptedException {
        CountDownLatch c;
        lock();
        try {
            if (!rescanRunning) {
                return true;
            }
            c = rescanCompletion;
        } finally {
            unlock();
        }
        return c.await(timeout, unit);
    }

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
     */
    private void rescanWorker() {
        int err = 0;
        boolean stopped = false;
        boolean p1 = fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT);
        while (err == 0 && !(stopped = rescanShouldStop())) {
            fs.kernel.hooks().arrive(Hook.QGROUP_RESCAN_BEFORE_LEAF);
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
                Transactions.commit(h);
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
        TransHandle h = null;
        try {
            h = Transactions.start(fs, fs.quotaRoot, 1, "btrfs_qgroup_rescan_worker");
        } catch (BtrfsException e) {
            fs.log().error(fs.sbId(), "fail to start transaction for status update: " + e.errno().ret());
        }
        lock();
        try {
            boolean keepRescanFlag = p1 ? stopped : fs.fsClosing() != 0;
            if (!keepRescanFlag) {
                statusFlags &= ~QgroupStatusItem.FLAG_RESCAN;
            }
            if (h != null) {
                try {
                    Trees.update(h, fs.quotaRoot, statusKey(), status(h.transid()).encode());
                } catch (BtrfsException e) {
                    fs.log().info(fs.sbId(), "fail to update qgroup status: " + e.errno().ret());
                }
            }
            rescanRunning = false;
            rescanCompletion.countDown(); // complete_all()
        } finally {
            unlock();
        }
        if (h == null) {
            return;
        }
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
            statusDirty = true;
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

    public boolean rescanRunning() {
        lock();
        try {
            return rescanRunning;
        } finally {
            unlock();
        }
    }
}
