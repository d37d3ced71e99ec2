package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.WbSyncMode;

/**
 * Files and directories (the parts of fs/btrfs/inode.c the workloads need): create, mkdir, unlink,
 * rmdir, open, read, write, list — on paths relative to one mount's root ({@link Namei}). Directory entries
 * are written as btrfs writes them ({@link DirEntries}); subvolumes are {@link Subvolumes}.
 *
 * <p>Locking, as the VFS: an operation that adds or removes an entry holds its parent directory's i_rwsem
 * (rmdir also the victim's) and starts its transaction under it; lookups take no directory lock.
 */
final class FileOps {
    private final FsContext ctx;
    private final FsInfo fs;
    private final Namei namei;
    private final DirEntries entries;
    private final Subvolumes subvolumes;
    private final Truncate truncate;

    FileOps(FsContext ctx, Root mountRoot) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.namei = new Namei(ctx, mountRoot);
        this.entries = new DirEntries(fs);
        this.subvolumes = new Subvolumes(ctx, namei, entries);
        this.truncate = new Truncate(ctx);
    }

    Namei namei() { return namei; }

    Subvolumes subvolumes() { return subvolumes; }

    /** kernel: btrfs_find_free_objectid() — the next inode number of a subvolume. */
    private long nextIno(Root root) {
        synchronized (root.highestObjectid) {
            if (root.highestObjectid.get() < 0) {
                FsRoots.initRootFreeObjectid(fs, root); // btrfs_init_fs_root does it when the root is read
            }
            return FsRoots.getFreeObjectid(root);
        }
    }

    /**
     * kernel: btrfs_create() — in one transaction (5 units): the inode item and its INODE_REF
     * (btrfs_new_inode), the DIR_ITEM and DIR_INDEX in the parent and the parent's i_size (btrfs_add_link);
     * then d_instantiate_new: the new inode in memory, held by its dentry.
     */
    void create(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot() || p.trailingSlash()) {
            // open(O_CREAT) of a directory, or of a name ending in '/'
            throw new BtrfsException(Errno.EISDIR, "is a directory: '" + path + "'" + (p.isMountRoot() ? " (the mount's root)" : ""));
        }
        long ino = newEntry(p, InodeItem.S_IFREG | 0644, DirItem.FT_REG_FILE, "btrfs_create");
        ctx.dcache.instantiate(p.dir().root, ino);
    }

    /**
     * kernel: btrfs_mkdir() — as btrfs_create with a directory inode: nlink 1 (btrfs does not count
     * subdirectories), i_size 0 (empty), and its own index counter from BTRFS_DIR_START_INDEX. The new
     * directory is not kept in the port's inode cache. EEXIST if the name exists (also for the mount root).
     */
    void mkdir(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EEXIST, "file exists: '" + path + "' (the mount's root)");
        }
        newEntry(p, InodeItem.S_IFDIR | 0755, DirItem.FT_DIR, "btrfs_mkdir");
    }

    /** The common part of btrfs_create and btrfs_mkdir, under the parent's i_rwsem; returns the inode number. */
    private long newEntry(Namei.Parent p, int mode, int type, String function) {
        Dirs.Dir dir = p.dir();
        dir.lock(p.path());
        try {
            entries.checkFree(dir, p.name(), p.path());
            TransHandle h = Transactions.start(fs, dir.root, 5, function);
            try {
                long ino = nextIno(dir.root);
                long index = entries.setInodeIndex(dir);
                entries.newInode(h, dir, ino, mode, p.name(), index);
                entries.insertDirItem(h, dir, new Key(ino, ItemType.INODE_ITEM, 0), type, p.name(), index);
                return ino;
            } finally {
                Transactions.end(h);
                fs.delayedInodes.balance(); // btrfs_btree_balance_dirty
            }
        } finally {
            dir.unlock();
        }
    }

    /**
     * write(2) of {@code data} at the end of the file through a descriptor opened for it and closed after
     * (open, write, close): the data goes to the page cache only; writeback writes it later.
     */
    void write(String path, byte[] data) {
        withFile(path, inode -> {
            append(inode, data);
            return null;
        });
    }

    /** {@code op} on the inode of the file at {@code path}, held by a reference for its duration (lookup, iput). */
    private <T> T withFile(String path, java.util.function.Function<Inode, T> op) {
        Namei.Target t = namei.file(path, "path");
        Inode inode = ctx.dcache.lookup(t.root(), t.ino());
        try {
            return op.apply(inode);
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    /**
     * kernel: btrfs_file_write_iter() → btrfs_buffered_write() (v5.10) on an appending descriptor — the
     * times are updated in memory only (update_time_for_write: no transaction), the bytes are copied into
     * the page cache and marked delalloc, i_size grows (btrfs_dirty_pages). No extent, no transaction: the
     * extent is allocated at writeback (cow_file_range) and the file extent item inserted when its ordered
     * extent completes. The metadata for that is reserved first (btrfs_delalloc_reserve_metadata, FLUSH_ALL: a full
     * filesystem waits for the async reclaim, or fails with ENOSPC), after the data space (btrfs_check_data_free_space:
     * the async data reclaim work allocates a chunk for it; since stop 56).
     */
    void append(Inode inode, byte[] data) {
        if (data.length == 0) {
            return;
        }
        InodeData d = InodeData.of(fs, inode);
        d.iRwsem.lock();
        try {
            long dataBytes = d.reserveData(d.isize(), data.length); // btrfs_check_data_free_space
            boolean dirtied = false;
            try {
                d.reserveDelallocMetadata(data.length); // btrfs_delalloc_reserve_metadata
                try {
                    if (d.append(data)) {
                        ctx.writeback.markInodeDirty(d);
                    }
                    dirtied = true;
                } finally {
                    d.metaRsvWriteEnd(); // btrfs_delalloc_release_extents
                }
            } finally {
                d.releaseData(dirtied, dataBytes);
            }
        } finally {
            d.iRwsem.unlock();
        }
    }

    /**
     * kernel: btrfs_buffered_write() (v5.10) at {@code offset}, pwrite(2) — as {@link #append}, over bytes already
     * there: prepare_pages locks the range's pages (and waits for their writeback), lock_and_cleanup_extent_if_need
     * waits for an ordered extent in the range and starts over; then the bytes go to the page cache and the range is
     * marked delalloc. The write's ordered extent replaces the items under it when it completes (btrfs_drop_extents).
     * A write beginning beyond i_size first expands the file to it with a hole (btrfs_cont_expand). All under the
     * inode's i_rwsem.
     */
    void writeAt(Inode inode, long offset, byte[] data) {
        if (data.length == 0) {
            return;
        }
        InodeData d = InodeData.of(fs, inode);
        d.iRwsem.lock();
        try {
            long isize = d.isize();
            if (offset > isize) {
                truncate.contExpand(d, isize, offset);
            }
            long dataBytes = d.reserveData(offset, data.length); // btrfs_check_data_free_space
            boolean dirtied = false;
            try {
                d.reserveDelallocMetadata(data.length); // btrfs_delalloc_reserve_metadata
                try {
                    dirtyAt(d, offset, data);
                    dirtied = true;
                } finally {
                    d.metaRsvWriteEnd(); // btrfs_delalloc_release_extents
                }
            } finally {
                d.releaseData(dirtied, dataBytes);
            }
        } finally {
            d.iRwsem.unlock();
        }
    }

    /** The page-cache part of {@link #writeAt}: wait until the range is free, then dirty it. */
    private void dirtyAt(InodeData d, long offset, byte[] data) {
        while (true) {
            InodeData.WriteAt w = d.writeAt(offset, data);
            if (w.dirtied()) {
                if (w.wasClean()) {
                    ctx.writeback.markInodeDirty(d);
                }
                return;
            }
            if (w.waitFor().isEmpty()) {
                d.waitPagesUnlocked(offset, offset + data.length);
            }
            for (OrderedExtent oe : w.waitFor()) {
                oe.waitComplete(); // btrfs_start_ordered_extent(ordered, 1)
                ctx.ordered.put(oe);
            }
        }
    }

    /**
     * truncate(2) / ftruncate(2) of {@code inode} to {@code length} bytes: {@link Truncate#setsize}. The caller holds
     * write access (an open descriptor that writes, or mnt_want_write for a path).
     */
    void truncate(Inode inode, long length) {
        truncate.setsize(InodeData.of(fs, inode), length);
    }

    /** truncate(2) of the file at {@code path}: as {@link #truncate(Inode, long)} with the inode looked up. */
    void truncate(String path, long length) {
        withFile(path, inode -> {
            truncate(inode, length);
            return null;
        });
    }

    /** The last close of a descriptor of {@code inode}: btrfs_release_file ({@link Truncate#release}). */
    void release(Inode inode) {
        if (inode.mapping() instanceof InodeData d) {
            truncate.release(d);
        }
    }

    /**
     * kernel: btrfs_sync_file() in fs/btrfs/file.c — start_ordered_ops (writeback of the whole file with
     * sync_writers raised: its bios are checksummed inline, not through btrfs_wq_submit_bio) outside the inode lock;
     * then under inode_lock: start_ordered_ops again (pages dirtied before the lock was taken), wait for the writeback
     * and for the ordered extents (btrfs_wait_ordered_range), report a writeback error; then, unless the inode was
     * last changed in a committed transaction (skip_inode_logging), log it — the tree log is not modelled, so this is
     * btrfs_sync_file's fallback: btrfs_start_transaction under the lock, inode_unlock, commit the transaction. No
     * write access is taken, so an RO remount may run meanwhile: a transaction started after its commit is the leak
     * of {@link FixSwitch#FSYNC_RO_REMOUNT_RACE} (proposed; with the tree log the kernel would only end its handle).
     * (Until stop 48 the port took no inode lock here; 5.11 takes it after the first start_ordered_ops.)
     */
    void fsync(Inode inode) {
        InodeData d = InodeData.of(fs, inode);
        startOrderedOps(d);
        d.iRwsem.lock(); // inode_lock(inode)
        boolean locked = true;
        try {
            startOrderedOps(d);
            d.waitWriteback();
            ctx.ordered.waitOrderedRange(d);
            Errno err = d.takeError();
            if (err != null) {
                throw new BtrfsException(err, "fsync of inode " + inode.ino() + ": writeback error");
            }
            if (d.lastTrans() <= fs.lastTransCommitted()) {
                return;
            }
            // the proposed fix: counted before the test, so an RO remount either waits for this fsync's transaction or
            // this fsync sees RO — whose remount's sync_filesystem committed the inode already
            boolean counted = fs.applied(FixSwitch.FSYNC_RO_REMOUNT_RACE);
            if (counted) {
                fs.fsyncsInFlight.inc();
            }
            try {
                fs.kernel.hooks().arrive(Hook.FSYNC_BEFORE_START_TRANSACTION);
                if (counted && fs.readOnlyState()) {
                    return;
                }
                TransHandle h = Transactions.start(fs, inode.root(), 0, "btrfs_sync_file");
                // btrfs_log_dentry_safe would log here; then "inode_unlock(inode)" before syncing the log or committing
                d.iRwsem.unlock();
                locked = false;
                Transactions.commit(h);
            } finally {
                if (counted) {
                    fs.fsyncsInFlight.dec();
                }
            }
        } finally {
            if (locked) {
                d.iRwsem.unlock();
            }
        }
    }

    /**
     * kernel: start_ordered_ops() in fs/btrfs/file.c — btrfs_fdatawrite_range of the file with sync_writers raised; it
     * writes twice when the inode has async extents (compression): the second pass waits on the page locks until the
     * chunks have put their pages under writeback.
     */
    private void startOrderedOps(InodeData d) {
        d.syncWriters.incrementAndGet();
        try {
            ctx.writeback.writeInode(d, WbSyncMode.ALL, null);
            d.waitAsyncUnlocked();
        } finally {
            d.syncWriters.decrementAndGet();
        }
    }

    /**
     * sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) — start WB_SYNC_NONE writeback of the file's dirty
     * pages (filemap_fdatawrite_range), without waiting. Returns the ordered extents it added.
     */
    List<OrderedExtent> syncFileRange(Inode inode, Runnable beforeSubmit) {
        return ctx.writeback.writeInode(InodeData.of(fs, inode), WbSyncMode.NONE, beforeSubmit);
    }

    /**
     * kernel: btrfs_unlink() — under the parent's i_rwsem, one transaction (5 units): remove the entry's
     * DIR_ITEM, INODE_REF and DIR_INDEX and shrink the parent (__btrfs_unlink_inode), drop the link count
     * and, at zero, add an orphan item; then d_delete: the dentry's iput — if nobody holds the file open
     * that is the final iput, which evicts it. A directory or subvolume: EISDIR, as unlink(2).
     */
    void unlink(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EISDIR, "is a directory: '" + path + "' (the mount's root)");
        }
        Dirs.Dir dir = p.dir();
        dir.lock(path);
        try {
            DirItem d = namei.existing(dir, p.name(), path);
            if (Namei.isDir(d)) {
                throw new BtrfsException(Errno.EISDIR, "is a directory: '" + path + "' (rmdir or deleteSubvolume removes it)");
            }
            if (p.trailingSlash()) {
                throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
            }
            long ino = d.location().objectid();
            Inode inode = ctx.dcache.lookup(dir.root, ino);
            try {
                TransHandle h = Transactions.startFallbackGlobalRsv(fs, dir.root, 5, "btrfs_unlink");
                try {
                    entries.unlinkInode(h, dir, p.name(), ino);
                    int nlink = inode.nlink() - 1;
                    ctx.cleaner.inodes().setNlink(inode, nlink);
                    InodeData.of(fs, inode).updateInode(h); // btrfs_update_inode: the in-memory inode, new i_nlink
                    if (nlink == 0) {
                        ctx.cleaner.inodes().orphanAdd(h, dir.root, ino);
                    }
                } finally {
                    Transactions.end(h);
                    fs.delayedInodes.balance(); // btrfs_btree_balance_dirty
                }
                ctx.dcache.drop(dir.root, ino); // d_delete(): the dentry lets go of the inode
            } finally {
                ctx.cleaner.inodes().iput(inode);
            }
        } finally {
            dir.unlock();
        }
    }

    /**
     * rmdir(2) — vfs_rmdir() and kernel: btrfs_rmdir(): with the parent's and the victim's i_rwsem held,
     * ENOTEMPTY if the victim's i_size is above BTRFS_EMPTY_DIR_SIZE; a subvolume's top directory goes to
     * btrfs_delete_subvolume; else one transaction: btrfs_orphan_add for the directory, btrfs_unlink_inode
     * (its entry and INODE_REF, the parent's i_size, its nlink to 0), i_size 0; then S_DEAD, and the dentry's
     * final iput evicts it (btrfs_evict_inode: its inode and orphan items go). ENOTDIR for a file, EBUSY for
     * the mount's root.
     */
    void rmdir(String path) {
        Namei.Parent p = namei.parent(path, "path");
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EBUSY, "device or resource busy: '" + path + "' is the mount's root");
        }
        Dirs.Dir dir = p.dir();
        dir.lock(path);
        try {
            DirItem d = namei.existing(dir, p.name(), path);
            if (!Namei.isDir(d)) {
                throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
            }
            if (Namei.isSubvolume(d)) {
                subvolumes.delete(p, d, true);
                return;
            }
            Dirs.Dir victim = ctx.dirs.get(dir.root, d.location().objectid());
            victim.lock(path);
            try {
                if (entries.dirItem(victim).size() > 0) {
                    throw new BtrfsException(Errno.ENOTEMPTY, "directory not empty: '" + path + "'");
                }
                Inode inode = ctx.cleaner.inodes().iget(dir.root, victim.ino); // the dentry's inode
                try {
                    TransHandle h = Transactions.startFallbackGlobalRsv(fs, dir.root, 5, "btrfs_rmdir");
                    try {
                        ctx.cleaner.inodes().orphanAdd(h, dir.root, victim.ino);
                        entries.unlinkInode(h, dir, p.name(), victim.ino);
                        InodeItem i = entries.dirItem(victim);
                        entries.writeDirItem(h, victim, new InodeItem(i.generation(), h.transid(), 0, i.nbytes(), 0, i.mode()));
                        ctx.cleaner.inodes().setNlink(inode, 0);
                    } finally {
                        Transactions.end(h);
                        fs.delayedInodes.balance(); // btrfs_btree_balance_dirty
                    }
                    victim.dead = true; // S_DEAD
                    ctx.dirs.forget(victim);
                } finally {
                    ctx.cleaner.inodes().iput(inode); // d_delete + dput: the final iput evicts it
                }
            } finally {
                victim.unlock();
            }
        } finally {
            dir.unlock();
        }
    }

    /** open(2) of an existing file: EISDIR for a directory or subvolume (the handle is read-write). */
    Inode open(String path) {
        Namei.Target t = namei.file(path, "path");
        return ctx.dcache.lookup(t.root(), t.ino());
    }

    /** stat(2)'s st_size: i_size of the in-memory inode, dirty data included. */
    long size(String path) {
        return withFile(path, inode -> InodeData.of(fs, inode).isize());
    }

    /**
     * read(2) of the whole file, as the page cache serves it: the data of the file extent items, with the
     * pages still in the page cache (ordered extents not yet finished, dirty ranges) on top.
     */
    byte[] read(String path) {
        Namei.Target t = namei.file(path, "path");
        long ino = t.ino();
        Inode inode = ctx.dcache.lookup(t.root(), ino);
        try {
            InodeData d = InodeData.of(fs, inode);
            List<InodeData.Pending> pending = d.pendingData(); // before the items: an ordered extent finishing meanwhile is in one or the other
            long size = d.isize();
            if (size > Integer.MAX_VALUE - 8) {
                throw new BtrfsException(Errno.EINVAL, "file " + path + " too large to read at once: " + size);
            }
            byte[] out = new byte[(int) size];
            // the items and their extents' data under the items' lock: the extent lock a readpage holds from its
            // extent map lookup until its bio's end, which btrfs_finish_ordered_io and the truncate wait for
            d.fileExtentItemsLock.lock();
            try {
                for (TreeItem it : Trees.range(fs, t.root(), new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L))) {
                    FileExtentItem fe = FileExtentItem.decode(it.data());
                    long off = it.key().offset();
                    int n = (int) Math.min(fe.numBytes(), size - off);
                    if (n > 0 && !fe.isHole()) { // a hole reads as zeros
                        DataReads.read(fs, t.root().objectid(), ino, off, fe.blockStart(), out, (int) off, n);
                    }
                }
            } finally {
                d.fileExtentItemsLock.unlock();
            }
            for (InodeData.Pending p : pending) {
                int n = (int) Math.min(p.data().length, size - p.offset());
                if (n > 0) {
                    System.arraycopy(p.data(), 0, out, (int) p.offset(), n);
                }
            }
            return out;
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    /**
     * The names in a directory (readdir without "." and ".."), sorted: files, directories and subvolumes.
     * {@code path} null or empty: the mount's root. ENOTDIR for a file; ENOENT for a removed directory.
     */
    List<String> list(String path) {
        Dirs.Dir dir = path == null || path.isEmpty() ? namei.directory("/", "path") : namei.directory(path, "path");
        List<String> names = new ArrayList<>();
        for (TreeItem it : Trees.range(fs, dir.root, new Key(dir.ino, ItemType.DIR_ITEM, 0), new Key(dir.ino, ItemType.DIR_ITEM, -1L))) {
            names.add(DirItem.decode(it.data()).name());
        }
        names.sort(null);
        return names;
    }
}
