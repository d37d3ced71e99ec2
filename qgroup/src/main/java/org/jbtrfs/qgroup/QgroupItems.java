package org.jbtrfs.qgroup;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Trees;

/** The quota tree's items: the status item and one info item per qgroup (qgroup.c's item helpers). */
final class QgroupItems {
    private QgroupItems() { }

    /** BTRFS_QGROUP_STATUS_VERSION */
    static final long STATUS_VERSION = 1;

    /** (0, BTRFS_QGROUP_STATUS_KEY, 0) */
    static Key statusKey() { return new Key(0, ItemType.QGROUP_STATUS, 0); }

    /** (0, BTRFS_QGROUP_INFO_KEY, qgroupid) */
    static Key infoKey(long qgroupid) { return new Key(0, ItemType.QGROUP_INFO, qgroupid); }

    /** The status item as update_qgroup_status_item writes it: flags, this transaction, the progress. */
    static QgroupStatusItem status(QgroupFsInfo q, long generation) {
        return new QgroupStatusItem(STATUS_VERSION, generation, q.flags(), q.rescanProgress);
    }

    /**
     * kernel: update_qgroup_status_item() — rewrite the status item in {@code h}'s transaction;
     * ENOENT if the quota tree has none. Sleeps (tree locks): never under the qgroup spinlock.
     */
    static void updateStatusItem(QgroupFsInfo q, TransHandle h, Root quota) {
        q.lock.mightSleep("update_qgroup_status_item");
        Trees.update(h, quota, statusKey(), status(q, h.transid()).encode());
    }

    /**
     * kernel: add_qgroup_item() — a zeroed info item for {@code qgroupid}; an item already there (a
     * stale one of a dropped subvolume with the same id) is reset, as the kernel tolerates -EEXIST.
     */
    static void addQgroupItem(QgroupFsInfo q, TransHandle h, Root quota, long qgroupid) {
        q.lock.mightSleep("add_qgroup_item");
        Trees.put(h, quota, infoKey(qgroupid), new QgroupInfoItem(h.transid(), 0, 0, 0, 0).encode());
    }

    /**
     * kernel: del_qgroup_item() — delete {@code qgroupid}'s info item; one already gone is tolerated (the kernel's
     * caller ignores -ENOENT), as is the limit item the port never writes.
     */
    static void delQgroupItem(QgroupFsInfo q, TransHandle h, Root quota, long qgroupid) {
        q.lock.mightSleep("del_qgroup_item");
        try {
            Trees.delete(h, quota, infoKey(qgroupid));
        } catch (BtrfsException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
        }
    }

    /**
     * kernel: update_qgroup_info_item() — rewrite one qgroup's info item with the counters given
     * (read under the qgroup spinlock by the caller); ENOENT (a {@link BtrfsException}) if it has none.
     */
    static void updateInfoItem(QgroupFsInfo q, TransHandle h, Root quota, long qgroupid, long rfer, long excl) {
        q.lock.mightSleep("update_qgroup_info_item");
        Trees.update(h, quota, infoKey(qgroupid), new QgroupInfoItem(h.transid(), rfer, rfer, excl, excl).encode());
    }
}
