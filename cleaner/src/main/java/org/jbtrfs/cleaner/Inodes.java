package org.jbtrfs.cleaner;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
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
    /** SB_ACTIVE: cleared by generic_shutdown_super; from then on iput_final keeps nothing on the LRU. */
    private volatile boolean sbActive = true;

    public Inodes(FsInfo fs) { this.fs = fs; }

    /**
     * kernel: btrfs_iget() — a referenced in-memory inode (i_count + 1), read from its inode item on
     * first use; -ENOENT if the item does not exist. An inode cached with i_count 0 (on the LRU) is
     * reused; one being freed is waited out.
     */
    public Inode iget(Root root, long ino) {
        while (true) {
            InodeKey k = new InodeKey(root.objectid(), ino);
            Inode in = cache.get(k);
            if (in != null) {
                if (grab(in)) {
                    return in;
                }
                Thread.onSpinWait(); // I_FREEING: it leaves the cache shortly; look again
                continue;
            }
            byte[] item = fs.delayedInodes.readInodeItem(root, ino);
            if (item == null) {
                throw new BtrfsException(Errno.ENOENT, "inode " + ino + " not found in root " + root.objectid());
            }
            Inode fresh = new Inode(root, ino, InodeItem.decode(item).nlink(), fs.kernel.slabs().cache("btrfs_inode").alloc());
            fresh.slabObj.tag(new LeakState(fresh, k));
            if (cache.putIfAbsent(k, fresh) == null) {
                root.openInodes.incrementAndGet();
                return fresh;
            }
            fresh.slabObj.free();
        }
    }

    /**
     * kernel: igrab() — a new reference on an inode already held or cached, or false if it is being
     * freed (I_FREEING).
     */
    public boolean igrab(Inode in) { return grab(in); }

    private static boolean grab(Inode in) {
        synchronized (in) {
            if (in.freeing) {
                return false;
            }
            in.count.incrementAndGet();
            return true;
        }
    }

    /** The cached inode, without taking a reference (null if not in memory). */
    public Inode cached(Root root, long ino) { return cache.get(new InodeKey(root.objectid(), ino)); }

    /**
     * kernel: iput() — drop a reference. The last one (iput_final) evicts an unlinked inode
     * (btrfs_evict_inode: a transaction that truncates it and deletes its inode and orphan items); a
     * linked one whose page cache still pins it stays cached at i_count 0 (the LRU) while the superblock is
     * SB_ACTIVE; otherwise it is released (truncate_inode_pages_final waits for its writeback and drops its
     * dirty pages).
     */
    public void iput(Inode inode) {
        int c = inode.count.decrementAndGet();
        if (c > 0) {
            return;
        }
        if (c < 0) {
            throw fs.log().bug("inode.c", 5400, "iput of a freed " + inode);
        }
        synchronized (inode) {
            // an igrab may have revived it from i_count 0, or a racing iput_final already decided
            if (inode.count.get() != 0 || inode.freeing || sbActive && inode.keepOnLru()) {
                return;
            }
            inode.freeing = true;
        }
        release(inode, true);
    }

    /** iput_final's eviction (unlinked: btrfs_evict_inode's transaction) and destroy_inode. */
    private void release(Inode inode, boolean evictUnlinked) {
        try {
            Inode.Mapping m = inode.mapping();
            if (m != null) {
                m.truncateFinal();
            }
            if (evictUnlinked && inode.nlink() == 0) {
                evict(inode);
            }
        } finally {
            cache.remove(new InodeKey(inode.root.objectid(), inode.ino), inode);
            inode.slabObj.free();
            inodeTreeDel(inode.root);
        }
    }

    /**
     * generic_shutdown_super() clears SB_ACTIVE (after sync_filesystem, before evict_inodes): a final iput from
     * now on — a delayed iput close_ctree runs, an ordered extent's last put — evicts the inode at once instead
     * of leaving it on the LRU, where nothing would free it.
     */
    public void deactivate() { sbActive = false; }

    /** SB_ACTIVE (sb->s_flags): true until generic_shutdown_super clears it (btrfs_defrag_file stops then). */
    public boolean sbActive() { return sbActive; }

    /**
     * kernel: evict_inodes() in fs/inode.c — generic_shutdown_super, after sync_filesystem: every cached
     * inode nobody references (the LRU) is evicted; busy ones stay (and are reported after put_super).
     */
    public void evictInodes() {
        for (Inode in : List.copyOf(cache.values())) {
            synchronized (in) {
                if (in.count.get() != 0 || in.freeing) {
                    continue;
                }
                in.freeing = true;
            }
            release(in, true);
        }
    }

    /**
     * kernel: btrfs_prune_dentries() after a subvolume deletion — every unreferenced inode of {@code root}
     * still cached (on the LRU) is dropped now: with the root's refs at 0 btrfs_drop_inode says drop.
     */
    public void pruneRoot(Root root) {
        for (Inode in : List.copyOf(cache.values())) {
            if (in.root == root && grab(in)) {
                iput(in);
            }
        }
    }

    /** What a leak report says of a btrfs_inode object still allocated: its state and whether its cache holds it. */
    private final class LeakState {
        private final Inode inode;
        private final InodeKey key;

        LeakState(Inode inode, InodeKey key) {
            this.inode = inode;
            this.key = key;
        }

        @Override
        public String toString() {
            synchronized (inode) {
                return inode + " of " + fs.device.name() + ": i_count " + inode.count.get() + ", nlink " + inode.nlink
                    + (inode.freeing ? ", I_FREEING" : "") + (cache.get(key) == inode ? ", in the inode cache" : ", not in the inode cache")
                    + (sbActive ? ", superblock active" : ", superblock shut down");
            }
        }
    }

    /** The inodes in the cache now (a snapshot), each with or without references. */
    public List<Inode> cachedInodes() { return List.copyOf(cache.values()); }

    /** Inodes still in the cache (umount's "Busy inodes after unmount" check). */
    public int cachedCount() { return cache.size(); }

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
     * kernel: btrfs_evict_inode() in fs/btrfs/inode.c — btrfs_commit_inode_delayed_inode writes the inode item still
     * queued in its delayed node (joining a transaction of its own); evict_refill_and_join joins a transaction (no RO
     * check: this runs from the cleaner's delayed iputs too), btrfs_truncate_inode_items with min_type 0 drops every
     * extent and the inode item, and the handle ends without a commit; then a second evict_refill_and_join deletes the
     * orphan item (btrfs_orphan_del) in a handle of its own — a commit between the two (the refill may flush and
     * sleep) leaves an orphan item whose inode is gone, which a crash keeps for the next mount's orphan cleanup to
     * delete ("Errors here aren't a big deal"). Every error goes to free_rsv / no_delete: a filesystem in error (the
     * join fails with -EROFS) or a failed truncate leaves the items — the orphan item makes the next mount's orphan
     * cleanup finish the job — and the inode is freed all the same (clear_inode); nothing reaches the iput's caller.
     * (Before stop 35 the port did both in one handle: that orphan cleanup path was out of every run's reach.)
     */
    void evict(Inode inode) {
        TransHandle h;
        try {
            // btrfs_commit_inode_delayed_inode: the inode item still queued is written first (its own transaction)
            fs.delayedInodes.commitInodeDelayedInode(inode.root, inode.ino);
        } catch (BtrfsException e) {
            return; // goto no_delete
        }
        try {
            h = Transactions.join(fs, inode.root, "btrfs_evict_inode");
        } catch (BtrfsException e) {
            return; // evict_refill_and_join failed: goto free_rsv
        }
        try {
            truncate(h, inode);
            Trees.delete(h, inode.root, new Key(inode.ino, ItemType.INODE_ITEM, 0));
        } catch (BtrfsException e) {
            // btrfs_truncate_inode_items failed: it aborts the transaction (logged, the filesystem goes
            // read-only, so the explorer still sees it); the handle is ended below, the orphan item stays
            if (h.aborted() == null) { // once per handle
                Transactions.abort(h, "btrfs_truncate_inode_items", e);
            }
            return;
        } finally {
            Transactions.end(h);
            fs.delayedInodes.balance(); // btrfs_btree_balance_dirty (5.11: with the delayed items)
        }
        fs.kernel.hooks().arrive(Hook.EVICT_BEFORE_ORPHAN_DEL);
        TransHandle del;
        try {
            del = Transactions.join(fs, inode.root, "btrfs_evict_inode");
        } catch (BtrfsException e) {
            return; // the orphan item stays for the next mount
        }
        try {
            orphanDel(del, inode.root, inode.ino);
        } catch (BtrfsException e) {
            // btrfs_orphan_del's error is ignored: the orphan item stays for the next mount's cleanup
        } finally {
            Transactions.end(del);
        }
    }

    /** kernel: btrfs_truncate_inode_items() to size 0 — drop every file extent and its data ref (a hole has none). */
    private void truncate(TransHandle h, Inode inode) {
        List<TreeItem> extents = Trees.range(fs, inode.root, new Key(inode.ino, ItemType.EXTENT_DATA, 0),
            new Key(inode.ino, ItemType.EXTENT_DATA, -1L));
        for (TreeItem it : extents) {
            FileExtentItem fe = FileExtentItem.decode(it.data());
            Trees.delete(h, inode.root, it.key());
            if (!fe.isHole()) {
                Extents.freeDataExtent(h, inode.root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
            }
        }
    }

    /** kernel: btrfs_orphan_add() — an unlinked inode that is still open gets an orphan item. */
    public void orphanAdd(TransHandle h, Root root, long ino) {
        try {
            Trees.insert(h, root, OrphanItems.key(ino), new byte[0]);
        } catch (BtrfsException e) {
            // btrfs_orphan_add: an error other than -EEXIST aborts (stop 69, port bug: it went up unaborted, and the
            // commit wrote an unlinked inode with no orphan item — a leak no mount's orphan cleanup finds)
            if (e.errno() != Errno.EEXIST && h.aborted() == null) {
                Transactions.abort(h, "btrfs_orphan_add", e);
            }
            throw e;
        }
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
