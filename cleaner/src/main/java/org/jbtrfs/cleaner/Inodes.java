package org.jbtrfs.cleaner;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * The inode side of fs/btrfs/inode.c and the VFS inode cache: iget, iput and the final iput's
 * eviction, orphan items of unlinked-but-open inodes.
 */
public final class Inodes {
    private final FsInfo fs;
    private final Map<InodeKey, Inode> cache = new ConcurrentHashMap<>();

    public Inodes(FsInfo fs) { this.fs = fs; }

    /**
     * kernel: btrfs_iget() — a referenced in-memory inode (i_count + 1), read from its inode item on
     * first use; -ENOENT if the item does not exist.
     */
    public Inode iget(Root root, long ino) {
        while (true) {
            InodeKey k = new InodeKey(root.objectid(), ino);
            Inode in = cache.get(k);
            if (in != null) {
                int c = in.count.get();
                if (c > 0 && in.count.compareAndSet(c, c + 1)) {
                    return in;
                }
                continue; // being evicted: look again
            }
            byte[] item = Trees.lookup(fs, root, new Key(ino, ItemType.INODE_ITEM, 0));
            if (item == null) {
                throw new BtrfsException(Errno.ENOENT, "inode " + ino + " not found in root " + root.objectid());
            }
            Inode fresh = new Inode(root, ino, InodeItem.decode(item).nlink(), fs.kernel.slabs().cache("btrfs_inode").alloc());
            if (cache.putIfAbsent(k, fresh) == null) {
                root.openInodes.incrementAndGet();
                return fresh;
            }
            fresh.slabObj.free();
        }
    }

    /** The cached inode, without taking a reference (null if not in memory). */
    public Inode cached(Root root, long ino) { return cache.get(new InodeKey(root.objectid(), ino)); }

    /**
     * kernel: iput() — drop a reference; the last one of an unlinked inode evicts it (btrfs_evict_inode:
     * a transaction that truncates it and deletes its inode and orphan items).
     */
    public void iput(Inode inode) {
        int c = inode.count.decrementAndGet();
        if (c > 0) {
            return;
        }
        if (c < 0) {
            throw fs.log().bug("inode.c", 5400, "iput of a freed " + inode);
        }
        try {
            if (inode.nlink() == 0) {
                evict(inode);
            }
        } finally {
            cache.remove(new InodeKey(inode.root.objectid(), inode.ino), inode);
            inode.slabObj.free();
            inodeTreeDel(inode.root);
        }
    }

    /**
     * kernel: inode_tree_del() — the last in-memory inode of a deleted subvolume is gone: now its tree
     * can be dropped (btrfs_add_dead_root).
     */
    private void inodeTreeDel(Root root) {
        if (root.openInodes.decrementAndGet() == 0 && root.refs() == 0 && root.objectid() != ItemType.FS_TREE_OBJECTID) {
            FsRoots.addDeadRoot(fs, root);
        }
    }

    /**
     * kernel: btrfs_evict_inode() in fs/btrfs/inode.c — evict_refill_and_join joins a transaction (no RO
     * check: this runs from the cleaner's delayed iputs too), truncates every extent, deletes the inode
     * item and the orphan item, and ends the transaction without committing it.
     */
    void evict(Inode inode) {
        TransHandle h = Transactions.join(fs, inode.root, "btrfs_evict_inode");
        try {
            truncate(h, inode);
            Trees.delete(h, inode.root, new Key(inode.ino, ItemType.INODE_ITEM, 0));
            orphanDel(h, inode.root, inode.ino);
        } finally {
            Transactions.end(h);
        }
    }

    /** kernel: btrfs_truncate_inode_items() to size 0 — drop every file extent and its data ref. */
    private void truncate(TransHandle h, Inode inode) {
        List<TreeItem> extents = Trees.range(fs, inode.root, new Key(inode.ino, ItemType.EXTENT_DATA, 0),
            new Key(inode.ino, ItemType.EXTENT_DATA, -1L));
        for (TreeItem it : extents) {
            FileExtentItem fe = FileExtentItem.decode(it.data());
            Trees.delete(h, inode.root, it.key());
            Extents.freeDataExtent(h, inode.root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
        }
    }

    /** kernel: btrfs_orphan_add() — an unlinked inode that is still open gets an orphan item. */
    public void orphanAdd(TransHandle h, Root root, long ino) {
        Trees.insert(h, root, OrphanItems.key(ino), new byte[0]);
    }

    /** kernel: btrfs_orphan_del() — ignore a missing item, as eviction does. */
    void orphanDel(TransHandle h, Root root, long ino) {
        if (Trees.lookup(fs, root, OrphanItems.key(ino)) != null) {
            Trees.delete(h, root, OrphanItems.key(ino));
        }
    }

    /** Sets the in-memory link count after unlink (the item is updated by the caller's transaction). */
    public void setNlink(Inode inode, int nlink) {
        synchronized (inode) {
            inode.nlink = nlink;
        }
    }

    /**
     * sb->s_remove_count: unlinked inodes not destroyed yet (open, queued for a delayed iput, or being
     * evicted). The VFS refuses a read-only remount while there are any.
     */
    public long removeCount() {
        return cache.values().stream().filter(i -> i.nlink() == 0).count();
    }
}
