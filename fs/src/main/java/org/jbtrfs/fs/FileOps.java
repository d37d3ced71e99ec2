package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.OrphanItems;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
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
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * Files, directories entries and subvolumes (the parts of inode.c and ioctl.c the workloads need).
 * A path is "name" in the default subvolume's top directory or "subvolume/name".
 */
final class FileOps {
    private static final long ROOT_DIR = ItemType.FIRST_FREE_OBJECTID;

    private final FsContext ctx;
    private final FsInfo fs;

    FileOps(FsContext ctx) {
        this.ctx = ctx;
        this.fs = ctx.fs;
    }

    /** Where a path lives: the subvolume root and the name in its top directory. */
    private record Target(Root root, String name) { }

    /**
     * Path walk: resolves {@code path} and runs {@code op} on it. Inside a subvolume the walk holds the
     * parent directory's i_rwsem shared while it looks the subvolume up, then the subvolume directory's
     * shared for the whole operation, and refuses a directory a subvolume delete marked S_DEAD
     * (ENOENT) — the VFS rules that keep a deleted subvolume's inode tree empty once its last inode went.
     */
    private <T> T walk(String path, java.util.function.Function<Target, T> op) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.endsWith("/")) {
            throw new BtrfsException(Errno.EINVAL, "bad path '" + path + "'");
        }
        int slash = path.indexOf('/');
        if (slash < 0) {
            return op.apply(new Target(fs.fsRoot, path));
        }
        if (path.indexOf('/', slash + 1) >= 0) {
            throw new BtrfsException(Errno.EINVAL, "nested directories are not supported: '" + path + "'");
        }
        Root sub;
        fs.fsRoot.dirRwsem.readLock().lock();
        try {
            sub = subvolume(path.substring(0, slash));
            sub.dirRwsem.readLock().lock();
        } finally {
            fs.fsRoot.dirRwsem.readLock().unlock();
        }
        try {
            if (sub.deadDir) {
                throw new BtrfsException(Errno.ENOENT, "subvolume " + sub.objectid() + " is being deleted");
            }
            return op.apply(new Target(sub, path.substring(slash + 1)));
        } finally {
            sub.dirRwsem.readLock().unlock();
        }
    }

    private void walkVoid(String path, java.util.function.Consumer<Target> op) {
        walk(path, t -> {
            op.accept(t);
            return null;
        });
    }

    private Root subvolume(String name) {
        DirItem d = lookupDir(fs.fsRoot, name);
        if (d == null || d.location().type() != ItemType.ROOT_ITEM) {
            throw new BtrfsException(Errno.ENOENT, "no subvolume '" + name + "'");
        }
        return FsRoots.getFsRoot(fs, d.location().objectid(), true);
    }

    private DirItem lookupDir(Root root, String name) {
        byte[] b = Trees.lookup(fs, root, dirKey(name));
        return b == null ? null : DirItem.decode(b);
    }

    private static Key dirKey(String name) { return new Key(ROOT_DIR, ItemType.DIR_ITEM, DirItem.nameHash(name)); }

    private long inoOf(Target t) {
        DirItem d = lookupDir(t.root, t.name);
        if (d == null || d.location().type() != ItemType.INODE_ITEM) {
            throw new BtrfsException(Errno.ENOENT, "no such file '" + t.name + "' in subvolume " + t.root.objectid());
        }
        return d.location().objectid();
    }

    /** kernel: btrfs_find_free_objectid() — the next inode number of a subvolume. */
    private long nextIno(Root root) {
        synchronized (root.highestObjectid) {
            if (root.highestObjectid.get() < 0) {
                FsRoots.initRootFreeObjectid(fs, root); // btrfs_init_fs_root does it when the root is read
            }
            return FsRoots.getFreeObjectid(root);
        }
    }

    /** kernel: btrfs_create() — inode item and directory entry in one transaction. */
    void create(String path) { walkVoid(path, this::create); }

    private void create(Target t) {
        String path = t.name;
        if (lookupDir(t.root, t.name) != null) {
            throw new BtrfsException(Errno.EEXIST, "'" + path + "' exists");
        }
        TransHandle h = Transactions.start(fs, t.root, 5, "btrfs_create");
        try {
            long ino = nextIno(t.root);
            Trees.insert(h, t.root, new Key(ino, ItemType.INODE_ITEM, 0),
                new InodeItem(h.transid(), h.transid(), 0, 0, 1, InodeItem.S_IFREG | 0644).encode());
            Trees.insert(h, t.root, dirKey(t.name), new DirItem(new Key(ino, ItemType.INODE_ITEM, 0), DirItem.FT_REG_FILE, t.name).encode());
        } finally {
            Transactions.end(h);
        }
    }

    /** A buffered write made durable as one new data extent appended to the file. */
    void write(String path, byte[] data) {
        if (data.length == 0) {
            return;
        }
        walkVoid(path, t -> write(t, data));
    }

    private void write(Target t, byte[] data) {
        long ino = inoOf(t);
        TransHandle h = Transactions.start(fs, t.root, 3, "btrfs_file_write");
        try {
            InodeItem ii = InodeItem.decode(Trees.lookup(fs, t.root, new Key(ino, ItemType.INODE_ITEM, 0)));
            long bytenr = Extents.allocDataExtent(h, t.root.objectid(), data.length);
            fs.device.write(bytenr, data, 0, data.length);
            long disk = ((data.length + 4095L) / 4096) * 4096;
            Trees.insert(h, t.root, new Key(ino, ItemType.EXTENT_DATA, ii.size()),
                new FileExtentItem(bytenr, disk, data.length, h.transid()).encode());
            Trees.update(h, t.root, new Key(ino, ItemType.INODE_ITEM, 0),
                new InodeItem(ii.generation(), h.transid(), ii.size() + data.length, ii.nbytes() + disk, ii.nlink(), ii.mode()).encode());
        } finally {
            Transactions.end(h);
        }
    }

    /**
     * kernel: btrfs_unlink() — remove the entry, drop the link count and, at zero, add an orphan item;
     * then the dentry's iput: if nobody holds the file open that is the final iput, which evicts it.
     */
    void unlink(String path) { walkVoid(path, this::unlink); }

    private void unlink(Target t) {
        long ino = inoOf(t);
        Inode inode = ctx.cleaner.inodes().iget(t.root, ino);
        try {
            TransHandle h = Transactions.start(fs, t.root, 5, "btrfs_unlink");
            try {
                Trees.delete(h, t.root, dirKey(t.name));
                InodeItem ii = InodeItem.decode(Trees.lookup(fs, t.root, new Key(ino, ItemType.INODE_ITEM, 0)));
                int nlink = ii.nlink() - 1;
                Trees.update(h, t.root, new Key(ino, ItemType.INODE_ITEM, 0),
                    new InodeItem(ii.generation(), h.transid(), ii.size(), ii.nbytes(), nlink, ii.mode()).encode());
                ctx.cleaner.inodes().setNlink(inode, nlink);
                if (nlink == 0) {
                    ctx.cleaner.inodes().orphanAdd(h, t.root, ino);
                }
            } finally {
                Transactions.end(h);
            }
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    Inode open(String path) {
        return walk(path, t -> ctx.cleaner.inodes().iget(t.root, inoOf(t)));
    }

    long size(String path) {
        return walk(path, t -> InodeItem.decode(Trees.lookup(fs, t.root, new Key(inoOf(t), ItemType.INODE_ITEM, 0))).size());
    }

    List<String> list(String subvolume) {
        if (subvolume == null || subvolume.isEmpty()) {
            return list(fs.fsRoot);
        }
        // a name in the subvolume's top directory: walk there ("sv/.")
        return walk(subvolume + "/.", t -> list(t.root));
    }

    private List<String> list(Root root) {
        List<String> names = new ArrayList<>();
        for (TreeItem it : Trees.range(fs, root, new Key(ROOT_DIR, ItemType.DIR_ITEM, 0), new Key(ROOT_DIR, ItemType.DIR_ITEM, -1L))) {
            names.add(DirItem.decode(it.data()).name());
        }
        names.sort(null);
        return names;
    }

    /**
     * kernel: create_subvol() in fs/btrfs/ioctl.c — a new tree with its top directory, its root item
     * (refs 1) and a directory entry in the default subvolume; committed.
     */
    long createSubvolume(String name) {
        // btrfs_mksubvol(): the parent directory's i_rwsem, exclusively
        fs.fsRoot.dirRwsem.writeLock().lock();
        try {
            return createSubvol(name);
        } finally {
            fs.fsRoot.dirRwsem.writeLock().unlock();
        }
    }

    private long createSubvol(String name) {
        if (name.contains("/") || lookupDir(fs.fsRoot, name) != null) {
            throw new BtrfsException(lookupDir(fs.fsRoot, name) != null ? Errno.EEXIST : Errno.EINVAL, "cannot create subvolume '" + name + "'");
        }
        TransHandle h = Transactions.start(fs, fs.fsRoot, 8, "create_subvol");
        long id;
        try {
            id = nextSubvolId();
            var leaf = Extents.allocRootLeaf(h, id);
            RootItem item = Mkfs.newRootItem(leaf.bytenr(), ROOT_DIR, 1);
            Trees.insert(h, fs.treeRoot, new Key(id, ItemType.ROOT_ITEM, 0), item.encode());
            Root root = new Root(id, leaf, item);
            Trees.insert(h, root, new Key(ROOT_DIR, ItemType.INODE_ITEM, 0),
                new InodeItem(h.transid(), h.transid(), 0, 0, 1, InodeItem.S_IFDIR | 0755).encode());
            Trees.insert(h, fs.fsRoot, dirKey(name), new DirItem(new Key(id, ItemType.ROOT_ITEM, -1L), DirItem.FT_DIR, name).encode());
            // btrfs_get_root_ref(): a stray orphan item of an earlier subvolume with this id is adopted
            if (Trees.lookup(fs, fs.treeRoot, OrphanItems.key(id)) != null) {
                root.state.set(RootState.ORPHAN_ITEM_INSERTED);
            }
            fs.fsRootsRadix.put(id, root);
            root.state.set(RootState.IN_RADIX);
            ctx.qgroups.createQgroup(h, id);
        } catch (RuntimeException e) {
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
        return id;
    }

    /** kernel: btrfs_get_free_objectid(fs_info->tree_root) — open_ctree found the tree root's highest id. */
    private long nextSubvolId() {
        return FsRoots.getFreeObjectid(fs.treeRoot);
    }

    /**
     * kernel: btrfs_ioctl_snap_destroy() in fs/btrfs/ioctl.c and btrfs_delete_subvolume() in
     * fs/btrfs/inode.c — under the parent directory's i_rwsem the subvolume is looked up (its dentry
     * references the subvolume's top directory inode), then under that inode's i_rwsem the entry is
     * removed, the root item's refs set to 0 and an orphan item inserted for it in the tree root (so a
     * later mount resumes the drop), the transaction ended and the directory marked S_DEAD. Then the
     * dentry goes (d_delete) and with it the directory inode's reference: when that was the last inode
     * of the subvolume in memory, inode_tree_del() puts the root on dead_roots — there and only there
     * (btrfs_add_dead_root is not called by the delete itself), so a file of the subvolume still open
     * defers the drop to its last close, and the root is added once.
     */
    void deleteSubvolume(String name) {
        Root root;
        Inode dir;
        fs.fsRoot.dirRwsem.writeLock().lock();
        try {
            root = subvolume(name);
            dir = ctx.cleaner.inodes().iget(root, ROOT_DIR); // the dentry's inode
            root.dirRwsem.writeLock().lock();
            try {
                deleteLocked(name, root);
            } finally {
                root.dirRwsem.writeLock().unlock();
            }
        } catch (RuntimeException e) {
            fs.fsRoot.dirRwsem.writeLock().unlock();
            throw e;
        }
        fs.fsRoot.dirRwsem.writeLock().unlock();
        fs.kernel.hooks().arrive(org.jbtrfs.core.Hook.SUBVOLUME_DELETE_BEFORE_DPUT);
        // d_delete(dentry) → dput → iput(dir): inode_tree_del adds the root to dead_roots if it was the last
        ctx.cleaner.inodes().iput(dir);
    }

    private void deleteLocked(String name, Root root) {
        TransHandle h = Transactions.start(fs, fs.fsRoot, 5, "btrfs_delete_subvolume");
        try {
            Trees.delete(h, fs.fsRoot, dirKey(name));
            RootItem dead = root.rootItem().withRefs(0);
            root.setRootItem(dead);
            Trees.update(h, fs.treeRoot, new Key(root.objectid(), ItemType.ROOT_ITEM, 0), dead.encode());
            if (!root.state.testAndSet(RootState.ORPHAN_ITEM_INSERTED)) {
                Trees.insert(h, fs.treeRoot, OrphanItems.key(root.objectid()), new byte[0]);
            }
        } finally {
            Transactions.end(h);
        }
        root.deadDir = true; // inode->i_flags |= S_DEAD
    }
}
