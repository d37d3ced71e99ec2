package org.jbtrfs.cleaner;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/** kernel: btrfs_orphan_cleanup() in fs/btrfs/inode.c — finish deletions an unmount or crash interrupted. */
public final class OrphanCleanup {
    private final FsInfo fs;
    private final Inodes inodes;

    public OrphanCleanup(FsInfo fs, Inodes inodes) {
        this.fs = fs;
        this.inodes = inodes;
    }

    /**
     * kernel: btrfs_orphan_cleanup() — once per root, walk its orphan items from the highest key down and
     * btrfs_iget() each one first (5.11). In the tree root an orphan names either a deleted subvolume or a
     * v1 free space cache inode: no inode item and fs_roots_radix holds a root with refs 0 — a dead root
     * waiting for the cleaner, skipped; no inode item otherwise, or an inode still linked — the item is
     * considered stale and deleted ("find_dead_roots already ran before us": the March 2021 bug is that it
     * had not; and a free space inode whose clear_nlink never reached its inode item lands here too); an
     * unlinked inode is evicted now, by its final iput. At the end, a root with ORPHAN_ITEM_INSERTED joins and ends a
     * transaction.
     */
    public void orphanCleanup(Root root) {
        if (!root.orphanCleanupDone.compareAndSet(false, true)) {
            return;
        }
        if (fs.kernel.faults().shouldFail(Fault.ORPHAN_CLEANUP_ENOMEM, fs.sbId())) {
            fs.log().error(fs.sbId(), "could not do orphan cleanup -12");
            throw new BtrfsException(Errno.ENOMEM, "orphan cleanup of root " + root.objectid() + " failed (injected)");
        }
        List<TreeItem> orphans = Trees.range(fs, root, OrphanItems.key(0), OrphanItems.key(-1L));
        long last = -1;
        for (int i = orphans.size() - 1; i >= 0; i--) {
            long ino = orphans.get(i).key().offset();
            if (ino == last) {
                fs.log().error(fs.sbId(), "Error removing orphan entry, stopping orphan cleanup");
                throw new BtrfsException(Errno.EINVAL, "orphan cleanup of root " + root.objectid() + " looped on " + ino);
            }
            last = ino;
            Inode inode;
            try {
                inode = inodes.iget(root, ino);
            } catch (BtrfsException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
                if (root == fs.treeRoot()) {
                    Root dead = fs.fsRootsRadix.get(ino);
                    if (dead != null && dead.refs() == 0) {
                        continue; // a dead root find_orphan_roots loaded: the cleaner will drop it
                    }
                }
                deleteStale(root, ino);
                continue;
            }
            if (inode.nlink() > 0) {
                // the inode was linked again (or the item is stale): just drop the orphan item
                inodes.iput(inode);
                deleteStale(root, ino);
                continue;
            }
            inodes.iput(inode); // final iput of an unlinked inode: evict (deletes the orphan item)
        }
        if (root.state.test(RootState.ORPHAN_ITEM_INSERTED)) {
            // 5.11 ends with a join and an end at once for a root that has an orphan item of its own in the tree root
            // (a subvolume that adopted a stray one at creation: btrfs_get_root_ref): a running transaction is there
            // afterwards, for the transaction kthread to commit. An error (IS_ERR) is ignored.
            try {
                Transactions.end(Transactions.join(fs, root, "btrfs_orphan_cleanup"));
            } catch (BtrfsException e) {
                // nothing: "if (!IS_ERR(trans))"
            }
        }
    }

    private void deleteStale(Root root, long ino) {
        fs.kernel.hooks().arrive(Hook.ORPHAN_CLEANUP_BEFORE_DELETE);
        TransHandle h = Transactions.start(fs, root, 1, "btrfs_orphan_cleanup");
        try {
            fs.log().btrfs(org.jbtrfs.core.LogLevel.DEBUG, fs.sbId(), "auto deleting " + Long.toUnsignedString(ino)); // btrfs_debug
            Trees.delete(h, root, OrphanItems.key(ino));
        } finally {
            Transactions.end(h);
        }
    }
}
