package org.jbtrfs.fs;

import java.util.concurrent.ThreadLocalRandom;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.OrphanItems;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Mkfs;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.UuidTree;

/**
 * Subvolume creation and deletion (fs/btrfs/ioctl.c, inode.c). A subvolume is a directory entry of its
 * parent directory — in any directory of any subvolume — whose location is the new tree's ROOT_ITEM key,
 * with ROOT_REF / ROOT_BACKREF items in the root tree naming that entry.
 *
 * <p>Lock order, as the kernel: the parent directory's i_rwsem, the subvolume's top directory's (deletion),
 * then fs_info->subvol_sem (shared to create, exclusive to delete).
 */
final class Subvolumes {
    private final FsContext ctx;
    private final FsInfo fs;
    private final Namei namei;
    private final DirEntries entries;

    Subvolumes(FsContext ctx, Namei namei, DirEntries entries) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.namei = namei;
        this.entries = entries;
    }

    /**
     * btrfs subvolume create PATH — kernel: btrfs_mksubvol() (the parent's i_rwsem, EEXIST, subvol_sem
     * shared) → create_subvol(): in one transaction the new tree with its top directory (inode 256, its
     * ".." INODE_REF to itself, btrfs_create_subvol_root), its root item (refs 1), the DIR_ITEM and
     * DIR_INDEX in the parent directory with its i_size, ROOT_REF and ROOT_BACKREF (btrfs_add_root_ref),
     * the qgroup (btrfs_qgroup_inherit); committed. Returns the new subvolume id.
     */
    long create(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EEXIST, "file exists: '" + path + "' (the mount's root)");
        }
        Dirs.Dir dir = p.dir();
        dir.lock(path);
        try {
            entries.checkFree(dir, p.name(), p.path());
            var subvolSem = fs.subvolSem.readLock();
            subvolSem.lock();
            try {
                return createSubvol(dir, p.name());
            } finally {
                subvolSem.unlock();
            }
        } finally {
            dir.unlock();
        }
    }

    private long createSubvol(Dirs.Dir dir, String name) {
        TransHandle h = Transactions.start(fs, dir.root, 8, "create_subvol");
        long id;
        try {
            id = FsRoots.getFreeObjectid(fs.treeRoot()); // btrfs_get_free_objectid(fs_info->tree_root)
            var leaf = Extents.allocRootLeaf(h, id);
            // generate_random_guid(root_item->uuid)
            byte[] uuid = new byte[RootItem.UUID_SIZE];
            ThreadLocalRandom.current().nextBytes(uuid);
            RootItem item = Mkfs.newRootItem(h.transid(), leaf.bytenr(), ItemType.FIRST_FREE_OBJECTID, 1).withUuid(uuid);
            try {
                Trees.insert(h, fs.treeRoot(), new Key(id, ItemType.ROOT_ITEM, 0), item.encode()); // btrfs_insert_root
            } catch (BtrfsException e) {
                // "goto fail" unaborted: nothing done yet that cannot be undone — but 5.11 leaves the leaf allocated, its
                // extent item to be written by the commit with no tree referring to it (67addf29004c frees it)
                if (fs.applied(FixSwitch.SUBVOL_CREATE_EXTENT_LEAK)) {
                    Extents.freeTreeBlock(h, leaf);
                }
                throw e;
            }
            Root root = new Root(id, leaf, item);
            try {
                // btrfs_create_subvol_root(): the top directory, its ".." reference to itself (index 0)
                Trees.insert(h, root, new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.INODE_ITEM, 0),
                    new InodeItem(h.transid(), h.transid(), 0, 0, 1, InodeItem.S_IFDIR | 0755).encode());
                Trees.insert(h, root, new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.INODE_REF, ItemType.FIRST_FREE_OBJECTID),
                    new InodeRef(0, "..").encode());
                // the entry in the parent directory (btrfs_insert_dir_item, btrfs_update_inode), then btrfs_add_root_ref()
                long index = entries.setInodeIndex(dir);
                entries.insertDirItem(h, dir, new Key(id, ItemType.ROOT_ITEM, -1L), DirItem.FT_DIR, name, index);
                entries.addRootRef(h, id, dir, index, name);
                // btrfs_uuid_tree_add(): a failure (no UUID tree: a 5.10 filesystem never mounted read-write before
                // this RO->RW remount) aborts the transaction
                UuidTree.add(h, uuid, ItemType.UUID_KEY_SUBVOL, id);
            } catch (BtrfsException e) {
                // every step after the root item aborts on error (stop 69, port bug: only the uuid tree's did; a failed
                // btrfs_create_subvol_root or btrfs_add_root_ref went up unaborted and the commit wrote half a subvolume)
                if (h.aborted() == null) {
                    Transactions.abort(h, "create_subvol", e);
                }
                throw e;
            }
            // btrfs_get_root_ref(): a stray orphan item of an earlier subvolume with this id is adopted
            if (Trees.lookup(fs, fs.treeRoot(), OrphanItems.key(id)) != null) {
                root.state.set(RootState.ORPHAN_ITEM_INSERTED);
            }
            fs.fsRootsRadix.put(id, root);
            root.state.set(RootState.IN_RADIX);
            ctx.qgroups.createQgroup(h, id);
        } catch (BtrfsException e) {
            // fail: create_subvol commits its transaction on the error path too, and returns the commit's error only
            // if it had none (stop 69: the port ended the handle, leaving what the failed steps did to a later commit)
            try {
                Transactions.commit(h);
            } catch (BtrfsException ignored) {
                // "if (err && !ret) ret = err": the first error wins
            }
            throw e;
        } catch (RuntimeException e) {
            Transactions.end(h); // not a kernel error path (a port invariant or a BUG): only the handle is let go
            throw e;
        }
        Transactions.commit(h);
        return id;
    }

    /**
     * btrfs subvolume delete PATH — kernel: btrfs_ioctl_snap_destroy(): the parent's i_rwsem, ENOENT for a
     * missing name, ENOTDIR for a file (btrfs_may_delete), EINVAL for a directory that is not a subvolume, then
     * the subvolume's top directory's i_rwsem and {@link #delete(Namei.Parent, DirItem, boolean)}.
     */
    void destroy(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EBUSY, "device or resource busy: '" + path + "' is the mount's root");
        }
        Dirs.Dir dir = p.dir();
        dir.lock(path);
        try {
            DirItem d = namei.existing(dir, p.name(), path);
            if (!Namei.isDir(d)) { // btrfs_may_delete(dir, dentry, isdir 1)
                throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
            }
            if (!Namei.isSubvolume(d)) { // btrfs_ino(inode) != BTRFS_FIRST_FREE_OBJECTID
                throw new BtrfsException(Errno.EINVAL, "not a subvolume: '" + path + "'");
            }
            delete(p, d, false);
        } finally {
            dir.unlock();
        }
    }

    /**
     * kernel: btrfs_delete_subvolume() in fs/btrfs/inode.c, with the parent's i_rwsem held by the caller
     * ({@code rmdir}: btrfs_rmdir's ENOTEMPTY test comes first). Under the top directory's i_rwsem and
     * subvol_sem exclusive: may_destroy_subvol (ENOTEMPTY while it has subvolumes of its own); one
     * transaction: btrfs_unlink_subvol (the entry, the root refs, the parent's i_size), the root item's refs to
     * 0 and an orphan item for it in the tree root (so a later mount resumes the drop); S_DEAD on the top
     * directory; then d_invalidate and btrfs_prune_dentries let go of the subvolume's cached inodes. The root
     * goes on dead_roots when its last in-memory inode goes (inode_tree_del) — at once if none is.
     */
    void delete(Namei.Parent p, DirItem d, boolean rmdir) {
        Root root = FsRoots.getFsRoot(fs, d.location().objectid(), true);
        // the looked-up dentry holds the subvolume's top directory inode until the dput below: while it is in
        // memory, the last close of a file of the subvolume does not queue the root (inode_tree_del)
        Inode dirInode = ctx.cleaner.inodes().iget(root, ItemType.FIRST_FREE_OBJECTID);
        try {
            Dirs.Dir top = ctx.dirs.top(root);
            top.lock(p.path());
            try {
                if (rmdir && entries.dirItem(top).size() > 0) {
                    throw new BtrfsException(Errno.ENOTEMPTY, "directory not empty: '" + p.path() + "'");
                }
                var subvolSem = fs.subvolSem.writeLock();
                subvolSem.lock();
                try {
                    if (entries.hasChildSubvolumes(root)) { // may_destroy_subvol()
                        throw new BtrfsException(Errno.ENOTEMPTY, "directory not empty: subvolume '" + p.path()
                            + "' (" + root.objectid() + ") has subvolumes of its own");
                    }
                    deleteSubvolume(p.dir(), p.name(), root);
                } finally {
                    subvolSem.unlock();
                }
                top.dead = true; // inode->i_flags |= S_DEAD
            } finally {
                top.unlock();
            }
            ctx.dirs.forgetRoot(root);
            ctx.dcache.dropRoot(root); // d_invalidate() of the subvolume's dentry: its inodes lose their dentries
            ctx.cleaner.inodes().pruneRoot(root); // btrfs_prune_dentries(): and the unused ones are dropped
            fs.kernel.hooks().arrive(Hook.SUBVOLUME_DELETE_BEFORE_DPUT);
        } finally {
            // d_delete + dput: the directory inode's last reference, unless a file of the subvolume is still
            // open — whichever inode goes last queues the root, once (btrfs_add_dead_root only there)
            ctx.cleaner.inodes().iput(dirInode);
        }
    }

    /** One btrfs_uuid_tree_remove of btrfs_delete_subvolume: ENOENT is fine (a stale tree), anything else aborts. */
    private void uuidRemove(TransHandle h, byte[] uuid, int type, long id) {
        try {
            UuidTree.remove(h, uuid, type, id);
        } catch (BtrfsException e) {
            if (e.errno() != Errno.ENOENT) {
                Transactions.abort(h, "btrfs_delete_subvolume", e);
                throw e;
            }
        }
    }

    private void deleteSubvolume(Dirs.Dir parent, String name, Root root) {
        TransHandle h = Transactions.start(fs, parent.root, 5, "btrfs_delete_subvolume");
        try {
            entries.unlinkSubvol(h, parent, name, root.objectid());
            RootItem dead = root.rootItem().withRefs(0);
            root.setRootItem(dead);
            try {
                // the kernel sets refs in memory and its commit writes the root item (btrfs_record_root_in_trans, then
                // commit_fs_roots' btrfs_update_root, whose failure aborts); the port writes it here, and aborts as
                // btrfs_delete_subvolume does when btrfs_insert_orphan_item fails (stop 74, port bug: the handle just
                // ended and the commit wrote refs 0 without the orphan item — a deletion never resumed, class 7d206994)
                Trees.update(h, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_ITEM, 0), dead.encode());
                fs.kernel.hooks().arrive(Hook.SUBVOLUME_DELETE_BEFORE_ORPHAN_ITEM);
                if (!root.state.testAndSet(RootState.ORPHAN_ITEM_INSERTED)) {
                    Trees.insert(h, fs.treeRoot(), OrphanItems.key(root.objectid()), new byte[0]);
                }
            } catch (BtrfsException e) {
                Transactions.abort(h, "btrfs_delete_subvolume", e);
                throw e;
            }
            // btrfs_uuid_tree_remove() of its uuid (and received_uuid): ENOENT is fine (a stale tree), anything else
            // aborts
            uuidRemove(h, dead.uuid(), ItemType.UUID_KEY_SUBVOL, root.objectid());
            if (dead.hasReceivedUuid()) {
                uuidRemove(h, dead.receivedUuid(), ItemType.UUID_KEY_RECEIVED_SUBVOL, root.objectid());
            }
        } finally {
            Transactions.end(h);
        }
    }
}
