package org.jbtrfs.qgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
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

/**
 * Quota groups of one filesystem (fs/btrfs/qgroup.c, v5.11): the configuration read at mount and freed
 * at umount, quota enable and disable, the qgroup of a new subvolume, and the accounting the commit
 * calls up into (btrfs_qgroup_account_extent, btrfs_run_qgroups). The rescan is {@link QgroupRescan};
 * the state and its three locks are {@link QgroupFsInfo}.
 *
 * <p>Lock order, as in the kernel: qgroup_ioctl_lock, then a transaction handle is started only
 * with it dropped (quota enable and disable unlock, start, relock), then qgroup_rescan_lock, then the
 * qgroup_lock spinlock, under which nothing sleeps. The ioctl paths themselves (enable, disable)
 * are serialised by the caller against subvolume creation and deletion through fs_info->subvol_sem,
 * as btrfs_ioctl_quota_ctl does: v5.11's quota enable commits with qgroup_ioctl_lock held, and a
 * subvolume creation holding a handle takes that lock (btrfs_qgroup_inherit).
 */
public final class Qgroups implements QgroupHooks {
    private final QgroupFsInfo q;
    private final FsInfo fs;
    private final QgroupRescan rescan;

    public Qgroups(FsInfo fs) {
        this.fs = fs;
        this.q = new QgroupFsInfo(fs);
        this.rescan = new QgroupRescan(q, this);
    }

    // ---- configuration ----------------------------------------------------------------------------

    /**
     * kernel: btrfs_read_qgroup_config() — called by open_ctree for every mount (single-threaded: the
     * kernel takes no lock). With a quota tree (btrfs_read_roots found it and set QUOTA_ENABLED): load
     * the status item and the info items. A status item of another version disables quotas ("old qgroup
     * version, quota disabled"); one whose generation is not the superblock's was not written by the
     * last commit, so its numbers are suspect: INCONSISTENT. Status not ON: QUOTA_ENABLED is cleared.
     * RESCAN: qgroup_rescan_init(fs_info, rescan_progress, 0) — re-arm the completion and continue from
     * the saved progress; the worker is queued later by {@link #rescanResume()} on an RW mount. A failed
     * init clears RESCAN.
     */
    public void readConfig() {
        fs.installQgroupHooks(this); // the commit calls btrfs_run_qgroups whether quotas are on or not
        if (fs.quotaRoot() == null) {
            return;
        }
        fs.flags.set(FsFlag.QUOTA_ENABLED); // btrfs_read_roots(): the quota root exists
        long flags = 0;
        long savedProgress = 0;
        List<Qgroup> found = new ArrayList<>();
        for (TreeItem it : Trees.range(fs, fs.quotaRoot(), Key.MIN, Key.MAX)) {
            if (it.key().type() == ItemType.QGROUP_STATUS) {
                QgroupStatusItem st = QgroupStatusItem.decode(it.data());
                if (st.version() != QgroupItems.STATUS_VERSION) {
                    fs.log().error(fs.sbId(), "old qgroup version, quota disabled");
                    found.clear();
                    break;
                }
                if (st.generation() != fs.superCopy().generation) {
                    flags |= QgroupStatusItem.FLAG_INCONSISTENT;
                    fs.log().error(fs.sbId(), "qgroup generation mismatch, marked as inconsistent");
                }
                q.setFlags(st.flags());
                savedProgress = st.rescan();
            } else if (it.key().type() == ItemType.QGROUP_INFO) {
                QgroupInfoItem info = QgroupInfoItem.decode(it.data());
                Qgroup g = new Qgroup(it.key().offset());
                g.rfer = info.rfer();
                g.excl = info.excl();
                found.add(g);
            }
        }
        // add_qgroup_rb(): the kernel needs no lock here; the spinlock gives the qgroup tree Java visibility
        q.lock.lock();
        try {
            for (Qgroup g : found) {
                q.qgroups.put(g.id, g);
            }
        } finally {
            q.lock.unlock();
        }
        q.setFlag(flags);
        if (!q.testFlag(QgroupStatusItem.FLAG_ON)) {
            fs.flags.clear(FsFlag.QUOTA_ENABLED);
            if (fs.applied(FixSwitch.QGROUP_STATUS_RESCAN_WITHOUT_ON)) {
                // proposed fix: quotas are off, there is no rescan to resume (btrfs_qgroup_rescan_resume would
                // queue a work qgroup_rescan_init never initialised)
                q.clearFlag(QgroupStatusItem.FLAG_RESCAN);
            }
        } else if (q.testFlag(QgroupStatusItem.FLAG_RESCAN)) {
            try {
                rescan.init(false, savedProgress);
            } catch (BtrfsException e) {
                q.clearFlag(QgroupStatusItem.FLAG_RESCAN);
            }
        }
    }

    /**
     * kernel: btrfs_free_qgroup_config() — close_ctree, a failed mount, quota disable: drop the
     * in-memory qgroups (the kernel takes no lock: its callers are single-threaded or have already
     * unpublished quota_root).
     */
    public void freeConfig() {
        q.lock.lock();
        try {
            q.qgroups.clear();
        } finally {
            q.lock.unlock();
        }
    }

    /**
     * kernel: btrfs_quota_enable() (v5.11) — under qgroup_ioctl_lock, dropped around the transaction
     * start: create the quota tree, its status item (ON and INCONSISTENT, set in memory too) and a qgroup
     * with its info item per existing subvolume; commit, still holding the lock; only then publish
     * quota_root and set QUOTA_ENABLED (under the qgroup spinlock), and start a rescan to fill in the
     * numbers. Quotas already on: nothing. A rescan init that fails after the commit (a rescan ioctl won
     * the race: ON was set in memory before the commit; -EINPROGRESS) is, as 5.11 has it, returned to the caller
     * after putting the quota root it has published — quotas stay enabled on a freed root (a use-after-free at its
     * next use); with {@link FixSwitch#QUOTA_ENABLE_RESCAN_EINPROGRESS} (331cd9461412, v6.1) it is ignored.
     */
    public void quotaEnable() {
        q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
        boolean locked = true;
        TransHandle h = null;
        try {
            if (fs.quotaRoot() != null) {
                return;
            }
            // "Unlock qgroup_ioctl_lock before starting the transaction": lock order against sb_internal
            q.ioctlLock.unlock();
            locked = false;
            h = Transactions.start(fs, fs.treeRoot(), 2, "btrfs_quota_enable");
            q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
            locked = true;
            if (fs.quotaRoot() != null) {
                return; // someone else enabled quotas meanwhile: release the handle
            }
            Root quota = createQuotaTree(h);
            TransHandle committing = h;
            h = null;
            fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.QGROUP_ENABLE_BEFORE_COMMIT);
            if (fs.applied(FixSwitch.QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK)) {
                // 232796df8c14: commit with qgroup_ioctl_lock dropped — every other qgroup operation takes it after
                // joining a transaction; a concurrent enable is kept out by subvol_sem
                q.ioctlLock.unlock();
                locked = false;
                Transactions.commit(committing);
                q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
                locked = true;
            } else {
                Transactions.commit(committing); // v5.11: under qgroup_ioctl_lock
            }
            // "Set quota enabled flag after committing the transaction"
            q.lock.lock();
            try {
                fs.setQuotaRoot(quota);
                fs.flags.set(FsFlag.QUOTA_ENABLED);
            } finally {
                q.lock.unlock();
            }
            fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);
            try {
                rescan.init(true, 0);
            } catch (BtrfsException e) {
                // ON and QUOTA_ENABLED are set: only a rescan ioctl that passed its own init meanwhile gets here
                // (-EINPROGRESS; 6.1 asserts it)
                if (e.errno() != Errno.EINPROGRESS) {
                    throw e;
                }
                if (fs.applied(FixSwitch.QUOTA_ENABLE_RESCAN_EINPROGRESS)) {
                    return; // 331cd9461412: ignored — the ioctl's rescan fills the numbers in
                }
                // 5.11's error path: out_free_root puts the quota root it has already published
                quota.putLast(fs.log());
                throw e;
            }
            rescan.zeroTracking();
            if (fs.applied(FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED)) {
                // proposed fix: running, the completion and the queueing one step under qgroup_rescan_lock
                q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
                try {
                    q.rescanRunning = true;
                    rescan.armQueuedRescan();
                    rescan.queue();
                } finally {
                    q.rescanLock.unlock();
                }
            } else {
                // the failed-init fix: the fresh init did not re-arm, the queueing does — before running is published,
                // as 5.11's qgroup_rescan_init re-arms it before: a `quota rescan -w` that sees running must not find
                // the previous rescan's completion done
                rescan.armAtQueueIfFixed();
                q.rescanRunning = true; // set without qgroup_rescan_lock, as v5.11 does here
                rescan.queue();
            }
        } finally {
            if (locked) {
                q.ioctlLock.unlock();
            }
            if (h != null) {
                Transactions.end(h);
            }
        }
    }

    /**
     * The transaction part of btrfs_quota_enable: btrfs_create_tree, the status item, a qgroup and an
     * info item per subvolume (the port finds them by their root items; the kernel walks ROOT_REF
     * items, plus the top subvolume). An error aborts the transaction, as the kernel does.
     */
    private Root createQuotaTree(TransHandle h) {
        try {
            var leaf = Extents.allocRootLeaf(h, ItemType.QUOTA_TREE_OBJECTID);
            Key rootKey = new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0);
            RootItem item = new RootItem(h.transid(), 0, leaf.bytenr(), 0, 0, 0, 1, Key.MIN, 0, 0);
            Trees.insert(h, fs.treeRoot(), rootKey, item.encode());
            Root quota = new Root(ItemType.QUOTA_TREE_OBJECTID, leaf, item);
            q.setFlags(QgroupStatusItem.FLAG_ON | QgroupStatusItem.FLAG_INCONSISTENT);
            Trees.insert(h, quota, QgroupItems.statusKey(), new QgroupStatusItem(QgroupItems.STATUS_VERSION, h.transid(),
                q.flags(), 0).encode());
            for (TreeItem it : Trees.range(fs, fs.treeRoot(), new Key(ItemType.FS_TREE_OBJECTID, ItemType.ROOT_ITEM, 0),
                new Key(ItemType.LAST_FREE_OBJECTID, ItemType.ROOT_ITEM, -1L))) {
                long id = it.key().objectid();
                if (it.key().type() == ItemType.ROOT_ITEM && RootItem.decode(it.data()).refs() > 0
                    && (id == ItemType.FS_TREE_OBJECTID || id >= ItemType.FIRST_FREE_OBJECTID)) {
                    QgroupItems.addQgroupItem(q, h, quota, id);
                    q.lock.lock();
                    try {
                        q.qgroups.computeIfAbsent(id, Qgroup::new); // add_qgroup_rb()
                    } finally {
                        q.lock.unlock();
                    }
                }
            }
            // quota_root is published only after the commit, so the port's commit does not know this root
            // yet; the kernel's insert_new_root put it on dirty_cowonly_roots and commit_cowonly_roots would
            // rewrite its root item if the items above grew the tree: do that here
            RootItem cur = quota.rootItem();
            if (cur.bytenr() != quota.node().bytenr() || cur.level() != quota.node().level()) {
                RootItem updated = cur.withNode(quota.node().bytenr(), quota.node().level(), h.transid());
                quota.setRootItem(updated);
                Trees.update(h, fs.treeRoot(), rootKey, updated.encode());
            }
            return quota;
        } catch (BtrfsException e) {
            Transactions.abort(h, "btrfs_quota_enable", e);
            throw e;
        }
    }

    /**
     * kernel: btrfs_quota_disable() — two orders, {@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK}:
     *
     * <p>Reverted (v5.11 and every kernel before v5.17): qgroup_ioctl_lock; quota_root set?; unlock;
     * start a transaction (tree_root, 1); relock; then clear QUOTA_ENABLED and wait for the rescan worker
     * <em>while holding the handle</em> and the lock. If the worker's next btrfs_start_transaction meets
     * a commit that is waiting in COMMIT_START for that very handle, none of the three ever moves
     * (see the switch).
     *
     * <p>Applied (e804861bd4e6, v5.17): clear QUOTA_ENABLED and wait for the worker first, under the
     * lock and without a handle — with {@link FixSwitch#QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK} (d4aef1e122d8) the lock
     * dropped before; then unlock, start the transaction and relock; a failed start sets QUOTA_ENABLED again.
     *
     * <p>Both: unpublish quota_root and clear ON (spinlock), free the in-memory config, delete every item
     * of the quota tree, its root item and its root block, and <em>end</em> the transaction — the
     * deletion is committed by whoever commits next. An error in the tree operations aborts.
     */
    public void quotaDisable() {
        boolean waitFirst = fs.applied(FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK);
        q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
        boolean locked = true;
        TransHandle h = null;
        try {
            if (fs.quotaRoot() == null) {
                return;
            }
            if (waitFirst) {
                if (fs.applied(FixSwitch.QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK)) {
                    // d4aef1e122d8: unlock before the wait — a qgroup create or remove takes the mutex holding a
                    // handle, and the worker needs that transaction committed
                    q.ioctlLock.unlock();
                    locked = false;
                }
                // "This wait must be done before transaction start for quota disable since it may deadlock
                // with transaction by the qgroup rescan worker."
                fs.flags.clear(FsFlag.QUOTA_ENABLED);
                rescan.waitForCompletion(false);
            }
            if (locked) {
                q.ioctlLock.unlock();
                locked = false;
            }
            try {
                h = Transactions.start(fs, fs.treeRoot(), 1, "btrfs_quota_disable");
            } finally {
                q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
                locked = true;
                if (h == null && waitFirst) {
                    fs.flags.set(FsFlag.QUOTA_ENABLED);
                }
            }
            if (fs.quotaRoot() == null) {
                return;
            }
            if (!waitFirst) {
                fs.flags.clear(FsFlag.QUOTA_ENABLED);
                rescan.waitForCompletion(false); // holding the handle and qgroup_ioctl_lock
            }
            Root quota;
            q.lock.lock();
            try {
                quota = fs.quotaRoot();
                fs.setQuotaRoot(null);
                q.clearFlag(QgroupStatusItem.FLAG_ON);
            } finally {
                q.lock.unlock();
            }
            freeConfig();
            try {
                // btrfs_clean_quota_tree(), btrfs_del_root(), then the root block itself
                for (TreeItem it : Trees.range(fs, quota, Key.MIN, Key.MAX)) {
                    Trees.delete(h, quota, it.key());
                }
                Trees.delete(h, fs.treeRoot(), new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0));
                Extents.freeTreeBlock(h, quota.node());
            } catch (BtrfsException e) {
                Transactions.abort(h, "btrfs_quota_disable", e);
                throw e;
            }
        } finally {
            if (locked) {
                q.ioctlLock.unlock();
            }
            if (h != null) {
                Transactions.end(h); // end, not commit
            }
        }
    }

    /**
     * kernel: btrfs_qgroup_inherit(trans, 0, objectid, NULL) from create_subvol — with quotas on, the
     * new subvolume's qgroup and its info item, under qgroup_ioctl_lock (the caller holds a handle).
     * Quotas off: nothing; QUOTA_ENABLED without a quota root: EINVAL.
     */
    public void createQgroup(TransHandle h, long subvolId) {
        q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
        try {
            // the test and the insertion are one step under qgroup_ioctl_lock, which quota disable holds while
            // it tears the quota tree down (the explorer's lanes found the port once testing outside it)
            fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.QGROUP_CREATE_BEFORE_ITEM);
            if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                return;
            }
            Root quota = fs.quotaRoot();
            if (quota == null) {
                throw new BtrfsException(Errno.EINVAL, "qgroup inherit: quota enabled without a quota root");
            }
            QgroupItems.addQgroupItem(q, h, quota, subvolId);
            q.lock.lock();
            try {
                q.qgroups.computeIfAbsent(subvolId, Qgroup::new); // add_qgroup_rb() keeps an existing one
            } finally {
                q.lock.unlock();
            }
        } finally {
            q.ioctlLock.unlock();
        }
    }

    /**
     * kernel: btrfs_ioctl_qgroup_create()'s transaction — btrfs_join_transaction on the fs tree, then with
     * {@code create} {@link #btrfsCreateQgroup btrfs_create_qgroup}, without it {@link #btrfsRemoveQgroup
     * btrfs_remove_qgroup} (`btrfs qgroup destroy`), btrfs_end_transaction (also on an error).
     */
    public void qgroupCreateIoctl(long qgroupid, boolean create) {
        TransHandle h = Transactions.join(fs, fs.fsRoot(), "btrfs_ioctl_qgroup_create");
        try {
            fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.QGROUP_CREATE_IOCTL_JOINED);
            if (create) {
                btrfsCreateQgroup(h, qgroupid);
            } else {
                btrfsRemoveQgroup(h, qgroupid);
            }
        } finally {
            Transactions.end(h);
        }
    }

    /**
     * kernel: btrfs_create_qgroup() (v5.11) — the caller has joined a transaction; under qgroup_ioctl_lock: ENOTCONN
     * without a quota root, EEXIST for a qgroup already there, else its items (add_qgroup_item) and the in-memory
     * qgroup.
     */
    private void btrfsCreateQgroup(TransHandle h, long qgroupid) {
        q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
        try {
            Root quota = quotaRootForIoctl();
            if (qgroupExists(qgroupid)) {
                throw new BtrfsException(Errno.EEXIST, "qgroup 0/" + qgroupid + " already exists");
            }
            QgroupItems.addQgroupItem(q, h, quota, qgroupid);
            q.lock.lock();
            try {
                q.qgroups.computeIfAbsent(qgroupid, Qgroup::new);
            } finally {
                q.lock.unlock();
            }
        } finally {
            q.ioctlLock.unlock();
        }
    }

    /**
     * kernel: btrfs_remove_qgroup() (v5.11) — the caller has joined a transaction; under qgroup_ioctl_lock: ENOTCONN
     * without a quota root, ENOENT for a qgroup not there (a level-0 qgroup has no members, so no EBUSY, and no parent
     * relations to delete), then del_qgroup_item — the info item (its absence tolerated, as ENOENT is) and the limit item
     * (the port writes none: the search's ENOENT, tolerated) — and the in-memory qgroup, off the dirty list with it
     * (del_qgroup_rb under the qgroup spinlock). A live subvolume's qgroup may go: 5.11 allows it, and its extents are
     * no longer accounted (btrfs_qgroup_account_extent finds no qgroup).
     */
    private void btrfsRemoveQgroup(TransHandle h, long qgroupid) {
        q.mutexLock(q.ioctlLock, "qgroup_ioctl_lock");
        try {
            Root quota = quotaRootForIoctl();
            if (!qgroupExists(qgroupid)) {
                throw new BtrfsException(Errno.ENOENT, "qgroup 0/" + qgroupid + " does not exist");
            }
            QgroupItems.delQgroupItem(q, h, quota, qgroupid);
            q.lock.lock();
            try {
                q.qgroups.remove(qgroupid);
            } finally {
                q.lock.unlock();
            }
        } finally {
            q.ioctlLock.unlock();
        }
    }

    /** The qgroup ioctls' first test, under qgroup_ioctl_lock: "if (!fs_info->quota_root) return -ENOTCONN". */
    private Root quotaRootForIoctl() {
        Root quota = fs.quotaRoot();
        if (quota == null) {
            throw new BtrfsException(Errno.ENOTCONN, "quotas are not enabled");
        }
        return quota;
    }

    /** find_qgroup_rb() under the qgroup spinlock: whether {@code qgroupid} is in the in-memory tree. */
    private boolean qgroupExists(long qgroupid) {
        q.lock.lock();
        try {
            return q.qgroups.containsKey(qgroupid);
        } finally {
            q.lock.unlock();
        }
    }

    // ---- accounting (the commit calls up) ------------------------------------------------------------

    /**
     * kernel: btrfs_qgroup_account_extent() — from the commit (btrfs_qgroup_account_extents, with the roots that
     * referenced the extent at the last commit and those that reference it now) and from the rescan worker (no old
     * roots). Quotas off, or a root list whose first root is no subvolume (maybe_fs_roots): nothing. While a rescan
     * is in progress, an extent at or beyond its progress is left to it (tested under qgroup_rescan_lock); otherwise,
     * under the qgroup spinlock, qgroup_update_refcnt counts each qgroup's old and new roots and
     * qgroup_update_counters moves referenced and exclusive bytes (the port's qgroups are level 0: a root's qgroup
     * is its own, with no parents to visit).
     */
    @Override
    public void accountExtent(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) {
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED)) {
            return; // "If quotas get disabled meanwhile, the resources need to be freed"
        }
        if (!maybeFsRoots(newRoots) || !maybeFsRoots(oldRoots)) {
            return;
        }
        int nrOld = oldRoots.size();
        int nrNew = newRoots.size();
        if (nrOld == 0 && nrNew == 0) {
            return;
        }
        if (fs.quotaRoot() == null) {
            throw fs.log().bug("qgroup.c", 2536, "btrfs_qgroup_account_extent: BUG_ON(!fs_info->quota_root)");
        }
        q.mutexLock(q.rescanLock, "qgroup_rescan_lock");
        try {
            if (q.testFlag(QgroupStatusItem.FLAG_RESCAN) && Long.compareUnsigned(q.rescanProgress, bytenr) <= 0) {
                return;
            }
        } finally {
            q.rescanLock.unlock();
        }
        q.lock.lock();
        try {
            java.util.Map<Qgroup, int[]> counts = new java.util.LinkedHashMap<>(); // qgroup -> {old refcnt, new refcnt}
            for (long root : oldRoots) {
                Qgroup g = q.qgroups.get(root);
                if (g != null) {
                    counts.computeIfAbsent(g, k -> new int[2])[0]++;
                }
            }
            for (long root : newRoots) {
                Qgroup g = q.qgroups.get(root);
                if (g != null) {
                    counts.computeIfAbsent(g, k -> new int[2])[1]++;
                }
            }
            counts.forEach((g, c) -> updateCounters(g, c[0], c[1], nrOld, nrNew, numBytes));
        } finally {
            q.lock.unlock();
        }
    }

    /** kernel: maybe_fs_roots() — no roots, or the first one a subvolume (a non-fs tree is never shared with one). */
    private static boolean maybeFsRoots(List<Long> roots) {
        return roots.isEmpty() || ItemType.isFsTree(roots.get(0));
    }

    /**
     * kernel: qgroup_update_counters() for one qgroup — referenced bytes follow whether any of its roots referenced
     * the extent before and after; exclusive bytes whether all of the extent's roots were (are) the qgroup's.
     */
    private static void updateCounters(Qgroup g, int curOld, int curNew, int nrOld, int nrNew, long numBytes) {
        boolean dirty = false;
        if (curOld == 0 && curNew > 0) {
            g.rfer += numBytes;
            dirty = true;
        }
        if (curOld > 0 && curNew == 0) {
            g.rfer -= numBytes;
            dirty = true;
        }
        if (curOld == nrOld && curNew < nrNew && curOld != 0) {
            g.excl -= numBytes; // exclusive -> shared
            dirty = true;
        }
        if (curOld < nrOld && curNew == nrNew && curNew != 0) {
            g.excl += numBytes; // shared -> exclusive
            dirty = true;
        }
        if (curOld == nrOld && curNew == nrNew) {
            if (curOld == 0 && curNew != 0) {
                g.excl += numBytes; // none -> exclusive
                dirty = true;
            } else if (curOld != 0 && curNew == 0) {
                g.excl -= numBytes; // exclusive -> none
                dirty = true;
            }
        }
        if (dirty) {
            g.dirty = true;
        }
    }

    /**
     * The failure of btrfs_qgroup_trace_extent_post's walk: the numbers can no longer be trusted — INCONSISTENT, and the
     * kernel's warning.
     */
    @Override
    public void traceExtentFailed(BtrfsException e) {
        q.setFlag(QgroupStatusItem.FLAG_INCONSISTENT);
        fs.log().warn(fs.sbId(), "error accounting new delayed refs extent (err code: " + e.errno().ret() + "), quota inconsistent");
    }

    /**
     * kernel: btrfs_run_qgroups() — for each dirty qgroup: take it off the dirty list under the spinlock,
     * then write its info item with the lock dropped (a failure marks INCONSISTENT); then, under the
     * spinlock, set or clear ON from QUOTA_ENABLED; then write the status item (flags, this generation,
     * the rescan progress) — in every committing transaction, which is what lets a later mount trust the
     * numbers (its generation check). Quota root unpublished: nothing. The port's commit calls this until
     * nothing changes; only info items count as a change (a rewritten status item in an already COWed leaf
     * changes nothing more).
     */
    @Override
    public boolean runQgroups(TransHandle h) {
        Root quota = fs.quotaRoot();
        if (quota == null) {
            return false;
        }
        boolean changed = false;
        while (true) {
            long id;
            long rfer;
            long excl;
            q.lock.lock();
            try {
                Qgroup g = firstDirty();
                if (g == null) {
                    break;
                }
                g.dirty = false;
                id = g.id;
                rfer = g.rfer;
                excl = g.excl;
            } finally {
                q.lock.unlock();
            }
            try {
                QgroupItems.updateInfoItem(q, h, quota, id, rfer, excl);
            } catch (BtrfsException e) {
                q.setFlag(QgroupStatusItem.FLAG_INCONSISTENT);
            }
            changed = true;
        }
        q.lock.lock();
        try {
            if (fs.flags.test(FsFlag.QUOTA_ENABLED)) {
                q.setFlag(QgroupStatusItem.FLAG_ON);
            } else {
                q.clearFlag(QgroupStatusItem.FLAG_ON);
            }
        } finally {
            q.lock.unlock();
        }
        try {
            QgroupItems.updateStatusItem(q, h, quota);
        } catch (BtrfsException e) {
            q.setFlag(QgroupStatusItem.FLAG_INCONSISTENT);
        }
        return changed;
    }


    /** The first qgroup on the dirty list (the port keeps a dirty bit per qgroup). Caller holds the spinlock. */
    private Qgroup firstDirty() {
        for (Qgroup g : q.qgroups.values()) {
            if (g.dirty) {
                return g;
            }
        }
        return null;
    }

    // ---- the rescan (see QgroupRescan) ----------------------------------------------------------------

    /** fs_info->qgroup_rescan_work, for the qgroup tests (null until the first qgroup_rescan_init). */
    public org.jbtrfs.workqueue.BtrfsWork rescanWork() { return q.rescanWork; }

    /**
     * For a hang report (no lock taken: a hung task may hold one): the status flags, qgroup_rescan_running, the
     * completion (done, waiters), whether the rescan work is queued, how many queued runs have not returned, and
     * whether quota_root is set — what tells a wait for the rescan nobody will end from one that is merely slow.
     */
    @Override
    public String debugState() {
        return rescan.debugState();
    }

    /** kernel: btrfs_qgroup_rescan() — the BTRFS_IOC_QUOTA_RESCAN ioctl. */
    public void rescan() { rescan.rescan(); }

    /** kernel: btrfs_qgroup_rescan_resume() — see {@link QgroupRescan#resume()}. */
    public void rescanResume() { rescan.resume(); }

    /** kernel: btrfs_qgroup_wait_for_completion(); interruptible waits return false when interrupted. */
    public boolean waitForCompletion(boolean interruptible) { return rescan.waitForCompletion(interruptible); }

    /** Waits up to {@code timeout} for a running rescan; true if none runs now (or its completion is done). */
    public boolean waitForCompletion(long timeout, TimeUnit unit) throws InterruptedException {
        return rescan.waitForCompletion(timeout, unit);
    }

    /**
     * Threads blocked on qgroup_rescan_completion right now: a reproducer's proof that remount RO, close_ctree
     * or quota disable really waits for the worker.
     */
    public int rescanWaiters() { return q.rescanCompletion.waiters(); }

    // ---- inspection -------------------------------------------------------------------------------

    /** Current usage of every qgroup, in id order. */
    public List<Qgroup.Usage> usage() {
        q.lock.lock();
        try {
            List<Qgroup.Usage> l = new ArrayList<>();
            q.qgroups.values().forEach(g -> l.add(new Qgroup.Usage(g.id, g.rfer, g.excl)));
            return l;
        } finally {
            q.lock.unlock();
        }
    }

    /** The status flags (ON, RESCAN, INCONSISTENT) as held in memory. */
    public long statusFlags() { return q.flags(); }

    /** qgroup_rescan_progress.objectid: where the worker continues (-1 after the last leaf). */
    public long rescanProgress() { return q.rescanProgress; }

    /** qgroup_rescan_running */
    public boolean rescanRunning() { return rescan.running(); }

    /** What btrfs quota rescan -s reports, with the worker's state: see {@link RescanStatus}. */
    public RescanStatus rescanStatus() { return rescan.status(); }

    /**
     * Waits at most {@code nanos} until no run of the rescan worker is queued or executing (its function
     * returned); true if so. Not the kernel's wait: btrfs_qgroup_wait_for_completion returns at once for a
     * rescan resumed by an RO→RW remount (its completion is not re-armed); this one waits for the worker.
     */
    public boolean awaitRescanIdle(long nanos) { return rescan.awaitIdle(nanos); }

    /** The qgroup part of fs_info, for this package's tests. */
    QgroupFsInfo state() { return q; }

    /** The rescan, for this package's tests. */
    QgroupRescan rescanner() { return rescan; }

    /** True while some thread holds qgroup_ioctl_lock (a reproducer's view of quota disable's wait). */
    public boolean ioctlLockHeld() { return q.ioctlLock.isLocked(); }
}
