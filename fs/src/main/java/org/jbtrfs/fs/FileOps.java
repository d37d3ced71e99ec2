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
import org.jbtrfs.transaction.WbSyncMode;

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

    private Target resolve(String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.endsWith("/")) {
            throw new BtrfsException(Errno.EINVAL, "bad path '" + path + "'");
        }
        int slash = path.indexOf('/');
        if (slash < 0) {
            return new Target(fs.fsRoot, path);
        }
        if (path.indexOf('/', slash + 1) >= 0) {
            throw new BtrfsException(Errno.EINVAL, "nested directories are not supported: '" + path + "'");
        }
        return new Target(subvolume(path.substring(0, slash)), path.substring(slash + 1));
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
    void create(String path) {
        Target t = resolve(path);
        if (lookupDir(t.root, t.name) != null) {
            throw new BtrfsException(Errno.EEXIST, "'" + path + "' exists");
        }
        TransHandle h = Transactions.start(fs, t.root, 5, "btrfs_create");
        long ino;
        try {
            ino = nextIno(t.root);
            Trees.insert(h, t.root, new Key(ino, ItemType.INODE_ITEM, 0),
                new InodeItem(h.transid(), h.transid(), 0, 0, 1, InodeItem.S_IFREG | 0644).encode());
            Trees.insert(h, t.root, dirKey(t.name), new DirItem(new Key(ino, ItemType.INODE_ITEM, 0), DirItem.FT_REG_FILE, t.name).encode());
        } finally {
            Transactions.end(h);
        }
        ctx.dcache.instantiate(t.root, ino);
    }

    /**
     * write(2) of {@code data} at the end of the file through a descriptor opened for it and closed after
     * (open, write, close): the data goes to the page cache only; writeback writes it later.
     */
    void write(String path, byte[] data) {
        Target t = resolve(path);
        Inode inode = ctx.dcache.lookup(t.root, inoOf(t));
        try {
            append(inode, data);
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    /**
     * kernel: btrfs_file_write_iter() → btrfs_buffered_write() (v5.10) on an appending descriptor — the
     * times are updated in memory only (update_time_for_write: no transaction), the bytes are copied into
     * the page cache and marked delalloc, i_size grows (btrfs_dirty_pages). No extent, no transaction: the
     * extent is allocated at writeback (cow_file_range) and the file extent item inserted when its ordered
     * extent completes. The delalloc space reservation (btrfs_delalloc_reserve_space) is not modelled.
     */
    void append(Inode inode, byte[] data) {
        if (data.length == 0) {
            return;
        }
        InodeData d = InodeData.of(fs, inode);
        if (d.append(data)) {
            ctx.writeback.markInodeDirty(d);
        }
    }

    /**
     * kernel: btrfs_sync_file() in fs/btrfs/file.c — start_ordered_ops (writeback of the whole file with
     * sync_writers raised: its bios are checksummed inline, not through btrfs_wq_submit_bio), wait for the
     * writeback and for the ordered extents (btrfs_wait_ordered_range), report a writeback error; then,
     * unless the inode was last changed in a committed transaction (skip_inode_logging), log it — the tree
     * log is not modelled, so this is btrfs_sync_file's fallback: commit the transaction.
     */
    void fsync(Inode inode) {
        InodeData d = InodeData.of(fs, inode);
        d.syncWriters.incrementAndGet();
        try {
            ctx.writeback.writeInode(d, WbSyncMode.ALL, null);
        } finally {
            d.syncWriters.decrementAndGet();
        }
        d.waitWriteback();
        ctx.ordered.waitOrderedRange(d);
        Errno err = d.takeError();
        if (err != null) {
            throw new BtrfsException(err, "fsync of inode " + inode.ino() + ": writeback error");
        }
        if (d.lastTrans() <= fs.lastTransCommitted()) {
            return;
        }
        TransHandle h = Transactions.start(fs, inode.root(), 0, "btrfs_sync_file");
        Transactions.commit(h);
    }

    /**
     * sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) — start WB_SYNC_NONE writeback of the file's dirty
     * pages (filemap_fdatawrite_range), without waiting. Returns the ordered extents it added.
     */
    List<OrderedExtent> syncFileRange(Inode inode, Runnable beforeSubmit) {
        return ctx.writeback.writeInode(InodeData.of(fs, inode), WbSyncMode.NONE, beforeSubmit);
    }

    /**
     * kernel: btrfs_unlink() — remove the entry, drop the link count and, at zero, add an orphan item;
     * then the dentry's iput: if nobody holds the file open that is the final iput, which evicts it.
     */
    void unlink(String path) {
        Target t = resolve(path);
        long ino = inoOf(t);
        Inode inode = ctx.dcache.lookup(t.root, ino);
        try {
            TransHandle h = Transactions.start(fs, t.root, 5, "btrfs_unlink");
            try {
                Trees.delete(h, t.root, dirKey(t.name));
                int nlink = inode.nlink() - 1;
                ctx.cleaner.inodes().setNlink(inode, nlink);
                InodeData.of(fs, inode).updateInode(h); // btrfs_update_inode: the in-memory inode, new i_nlink
                if (nlink == 0) {
                    ctx.cleaner.inodes().orphanAdd(h, t.root, ino);
                }
            } finally {
                Transactions.end(h);
            }
            ctx.dcache.drop(t.root, ino); // d_delete(): the dentry lets go of the inode
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    Inode open(String path) {
        Target t = resolve(path);
        return ctx.dcache.lookup(t.root, inoOf(t));
    }

    /** stat(2)'s st_size: i_size of the in-memory inode, dirty data included. */
    long size(String path) {
        Target t = resolve(path);
        Inode inode = ctx.dcache.lookup(t.root, inoOf(t));
        try {
            return InodeData.of(fs, inode).isize();
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    /**
     * read(2) of the whole file, as the page cache serves it: the data of the file extent items, with the
     * pages still in the page cache (ordered extents not yet finished, dirty ranges) on top.
     */
    byte[] read(String path) {
        Target t = resolve(path);
        long ino = inoOf(t);
        Inode inode = ctx.dcache.lookup(t.root, ino);
        List<InodeData.Pending> pending;
        long size;
        try {
            InodeData d = InodeData.of(fs, inode);
            pending = d.pendingData(); // before the items: an ordered extent finishing meanwhile is in one or the other
            size = d.isize();
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new BtrfsException(Errno.EINVAL, "file " + path + " too large to read at once: " + size);
        }
        byte[] out = new byte[(int) size];
        for (TreeItem it : Trees.range(fs, t.root, new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L))) {
            FileExtentItem fe = FileExtentItem.decode(it.data());
            long off = it.key().offset();
            int n = (int) Math.min(fe.numBytes(), size - off);
            if (n > 0) {
                fs.device.read(fe.diskBytenr(), out, (int) off, n);
            }
        }
        for (InodeData.Pending p : pending) {
            int n = (int) Math.min(p.data().length, size - p.offset());
            if (n > 0) {
                System.arraycopy(p.data(), 0, out, (int) p.offset(), n);
            }
        }
        return out;
    }

    List<String> list(String subvolume) {
        Root root = subvolume == null || subvolume.isEmpty() ? fs.fsRoot : subvolume(subvolume);
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
     * kernel: btrfs_delete_subvolume() in fs/btrfs/inode.c — remove the entry, set the root item's refs to
     * 0 and insert an orphan item for it in the tree root (so a later mount resumes the drop), end the
     * transaction; then d_invalidate and btrfs_prune_dentries let go of the subvolume's cached inodes. The
     * root goes on dead_roots when its last in-memory inode goes (inode_tree_del) — at once if none is.
     */
    void deleteSubvolume(String name) {
        Root root = subvolume(name);
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
        // the kernel always has the subvolume's directory inode in memory here, whose eviction queues the root;
        // the port has no directory inodes: with no inode of the root in memory, queue it now (and only then:
        // otherwise inode_tree_del queues it when the last one goes, perhaps during the pruning just below)
        boolean inodesInMemory = root.openInodes.get() > 0;
        ctx.dcache.dropRoot(root); // d_invalidate() of the subvolume's dentry: its inodes lose their dentries
        ctx.cleaner.inodes().pruneRoot(root); // btrfs_prune_dentries(): and the unused ones are dropped
        if (!inodesInMemory) {
            FsRoots.addDeadRoot(fs, root);
        }
    }
}
