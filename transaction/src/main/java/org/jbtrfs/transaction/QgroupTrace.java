package org.jbtrfs.transaction;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.disk.ItemType;

/**
 * The qgroup extent records (fs/btrfs/qgroup.c's tracing half and btrfs_qgroup_account_extents): with quotas on, every
 * reference change of a subvolume's extent leaves a record in its transaction; the task that queued it looks up who
 * referenced the extent at the last commit (the commit roots' backref walk), and the commit — once every writer has left
 * and every delayed ref has run — looks up who references it now (the current roots') and accounts the difference.
 * Before stop 51 the port charged the extent item's owner when its delayed ref ran: no walks, no records, and the
 * enable / disable / rescan races saw a different moment.
 */
final class QgroupTrace {
    private QgroupTrace() { }

    /**
     * The record btrfs_add_delayed_tree_ref / btrfs_add_delayed_data_ref allocate before taking the delayed refs' lock:
     * only with QUOTA_ENABLED set and a subvolume's reference (is_fstree of the ref's root); null otherwise.
     */
    static QgroupRecord record(FsInfo fs, long root, long bytenr, long numBytes) {
        if (!fs.flags.test(FsFlag.QUOTA_ENABLED) || !ItemType.isFsTree(root)) {
            return null;
        }
        return new QgroupRecord(bytenr, numBytes);
    }

    /**
     * kernel: btrfs_qgroup_trace_extent_post() — the inserted record's old roots, from the commit roots (under
     * commit_root_sem, in the task that queued the reference: a writer holding its transaction handle). A failed walk
     * marks the qgroups inconsistent and warns; the record stays without old roots and nothing reaches the caller.
     */
    static void post(FsInfo fs, QgroupRecord rec) {
        try {
            rec.oldRoots = Backref.findAllRoots(fs, rec.bytenr);
        } catch (BtrfsException e) {
            QgroupHooks qg = fs.qgroupHooks();
            if (qg != null) {
                qg.traceExtentFailed(e);
            }
        }
    }

    /**
     * kernel: btrfs_qgroup_account_extents() — from btrfs_commit_transaction after commit_fs_roots, before
     * commit_cowonly_roots: each record, lowest bytenr first, taken off the transaction; a record without old roots is
     * a WARN and gets them from the commit roots now; the new roots come from the current roots (SEQ_LAST) and
     * btrfs_qgroup_account_extent applies both. After an error the remaining records are only freed, and the error
     * fails the commit.
     */
    static void accountExtents(TransHandle h) {
        FsInfo fs = h.fsInfo;
        QgroupHooks qg = fs.qgroupHooks();
        BtrfsException failed = null;
        QgroupRecord rec;
        while ((rec = h.transaction.delayedRefs.pollRecord()) != null) {
            if (failed != null || qg == null) {
                continue; // cleanup: ulist_free, rb_erase, kfree
            }
            try {
                List<Long> old = rec.oldRoots;
                if (fs.log().warnOn(old == null, "qgroup.c", 2619, "btrfs_qgroup_account_extents")) {
                    old = Backref.findAllRoots(fs, rec.bytenr);
                }
                qg.accountExtent(rec.bytenr, rec.numBytes, old, Backref.findAllRootsSeqLast(fs, rec.bytenr));
            } catch (BtrfsException e) {
                failed = e;
            }
        }
        if (failed != null) {
            throw failed;
        }
    }
}
