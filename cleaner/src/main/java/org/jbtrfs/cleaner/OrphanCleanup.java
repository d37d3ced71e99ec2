package org.jbtrfs.cleaner;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
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
     * kernel: btrfs_orphan_cleanup() — once per root, walk its orphan items from the highest key down.
     * In the tree root an orphan item names a subvolume: if fs_roots_radix holds it with refs 0 it is a
     * dead root waiting for the cleaner and is skipped; otherwise the item is considered stale and
     * deleted ("find_dead_roots already ran before us" — the March 2021 bug is that it had not).
     * In a subvolume an orphan item names an unlinked inode, which is evicted now.
     */
    public void orphanCleanup(Root root) {
        if (!root.orphanCleanupDone.compareAndSet(false, true)) {
            return;
        }
        if (fs.kernel.faults().shouldFail(Fault.ORPHAN_CLEANUP_ENOMEM)) {
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
            if (root == fs.treeRoot) {
                Root dead = fs.fsRootsRadix.get(ino);
                if (dead != null && dead.refs() == 0) {
                    continue; // a dead root find_orphan_roots loaded: the cleaner will drop it
                }
                deleteStale(root, ino);
                continue;
            }
            Inode inode;
            try {
                inode = inodes.iget(root, ino);
            } catch (BtrfsException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
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
    }

    private void deleteStale(Root root, long ino) {
        fs.kernel.hooks().arrive(Hook.ORPHAN_CLEANUP_BEFORE_DELETE);
        TransHandle h = Transactions.start(fs, root, 1, "btrfs_orphan_cleanup");
        try {
            fs.log().info(fs.sbId(), "auto deleting " + Long.toUnsignedString(ino));
            Trees.delete(h, root, OrphanItems.key(ino));
        } finally {
            Transactions.end(h);
        }
    }
}
