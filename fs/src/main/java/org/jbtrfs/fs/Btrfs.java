package org.jbtrfs.fs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.OrphanItems;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.DevStat;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.Transaction;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * One mount of a btrfs filesystem (a vfsmount: its root and MNT_READONLY) and the operations users and
 * tests perform through it. The superblock side — fs_info, SB_RDONLY, s_umount, the kthreads — is shared
 * by every mount of the same device ({@link VfsSuper}): mounting a mounted device again gives a second
 * mount point of the same filesystem, as the kernel's sget() does (btrfs/326's shape), possibly of another
 * subvolume ({@code subvol=}, {@code subvolid=}). Mount, remount and umount run the kernel sequences in
 * {@link OpenCtree}, {@link Remount} and {@link CloseCtree}: the superblock is opened by the first mount and
 * closed by the last umount.
 *
 * <p>Paths ({@link Namei}) are relative to this mount's root: "name", "dir/name", "sv/name" — a component that
 * is a subvolume crosses into it.
 *
 * <p>Errors are {@link BtrfsException}s with the errno the syscall would return (EROFS for a write through a
 * read-only mount, EINVAL once unmounted, EBUSY for umount with files open through this mount, ENOENT,
 * ENOTDIR, EISDIR, EEXIST, ENOTEMPTY, ENAMETOOLONG for paths), or IllegalArgumentException naming a null
 * argument. The README's "Errors a user can get" lists them all.
 */
public final class Btrfs {
    private enum State { MOUNTED, UNMOUNTED, CRASHED }

    private final BtrfsModule module;
    private final VfsSuper sb;
    private final FsContext ctx;
    private final Root root;
    /** The mount's root dentry's reference on its inode (mnt_root): keeps a deleted subvolume's tree until umount. */
    private final Inode rootPin;
    /** MNT_READONLY of this mount point (the superblock's SB_RDONLY is {@code fsInfo().sbRdonly()}). */
    private volatile boolean mntReadonly;
    private final Set<FileHandle> openFiles = ConcurrentHashMap.newKeySet();
    /**
     * The mount's count of syscalls in flight (mnt_count: a path walk holds the mount): each file operation holds
     * the read side; umount takes the write side, so it runs once the syscalls through this mount are done.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock mntCount = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final FileOps files;
    private volatile State state = State.MOUNTED;
    /** An umount passed its busy check: the mount is off the tree, though deactivate_super may still wait for s_umount. */
    private volatile boolean detached;

    private Btrfs(BtrfsModule module, VfsSuper sb, Root root, boolean mntReadonly) {
        this.module = module;
        this.sb = sb;
        this.ctx = sb.ctx;
        this.root = root;
        this.mntReadonly = mntReadonly;
        this.files = new FileOps(ctx, root);
        // the top level can never be deleted: its pin is not modelled (the kernel's s_root holds it)
        this.rootPin = root == ctx.fs.fsRoot() ? null : ctx.cleaner.inodes().iget(root, ItemType.FIRST_FREE_OBJECTID);
    }

    /**
     * kernel: btrfs_mount() in fs/btrfs/super.c — btrfs_parse_subvol_options (EINVAL / ERANGE before anything
     * starts); btrfs_mount_root: sget finds the device's superblock or makes one (open_ctree, with every other
     * option parsed by btrfs_parse_options); a superblock whose SB_RDONLY differs from the flags asked for is
     * EBUSY there, so btrfs_mount mounts it as it is and, when RW was asked for an RO superblock, remounts the
     * superblock read-write (btrfs_remount with no options); then mount_subvol. Any error drops the s_active
     * reference (deactivate_locked_super): a superblock this mount opened is closed again.
     */
    static Btrfs mount(BtrfsModule module, BlockDevice dev, String options) {
        MountSubvol.Options subvol = MountSubvol.parse(options);
        boolean ro = MountOptions.wantsReadOnly(options);
        VfsSuper sb = module.mountRoot(dev, options);
        try {
            if (!ro && sb.ctx.fs.sbRdonly()) {
                sb.sUmount.writeLock().lock();
                try {
                    // btrfs_remount called directly: reconfigure_super's test of a frozen superblock is not on this path
                    if (sb.ctx.fs.applied(org.jbtrfs.core.FixSwitch.MOUNT_RW_FROZEN)
                        && sb.ctx.fs.sbWriters.isFrozen()) {
                        // proposed fix: as reconfigure_super, no read-write remount of a frozen superblock
                        throw new BtrfsException(Errno.EBUSY, "mount: " + dev.name() + " is frozen read-only");
                    }
                    Remount.remount(sb.ctx, "rw");
                } finally {
                    sb.sUmount.writeLock().unlock();
                }
            }
            Btrfs m;
            sb.sUmount.readLock().lock();
            try {
                m = new Btrfs(module, sb, MountSubvol.mountSubvol(sb.ctx, subvol), ro);
            } finally {
                sb.sUmount.readLock().unlock();
            }
            sb.mounts.add(m);
            return m;
        } catch (RuntimeException e) {
            try {
                module.deactivateSuper(sb);
            } catch (RuntimeException closeFailed) {
                e.addSuppressed(closeFailed);
            }
            throw e;
        }
    }

    FsContext ctx() { return ctx; }

    VfsSuper sb() { return sb; }

    public BlockDevice device() { return sb.device; }

    public BtrfsModule module() { return module; }

    public KernelLog log() { return module.log(); }

    /** After a kernel panic: the mount is gone without a close_ctree. */
    void crashed() {
        state = State.CRASHED;
    }

    /**
     * The fs_info (shared by every mount of the device), below the API: fs's own code and tests; our tools reach it
     * through fs.internal.Internals.
     */
    FsInfo fsInfo() { return ctx.fs; }

    /**
     * Whether a write through this mount is refused with EROFS: the mount is read-only (MNT_READONLY: mounted or
     * remounted "ro" through this mount point) or the superblock is (SB_RDONLY: an RO remount through any of its
     * mounts, or an error that forced it read-only).
     */
    public boolean isReadOnly() { return mntReadonly || ctx.fs.sbRdonly(); }

    public boolean isMounted() { return state == State.MOUNTED; }

    /** The subvolume this mount shows (its root is that subvolume's top directory): 5 for the top level. */
    public long subvolumeId() { return root.objectid(); }

    /** Mount points of this filesystem right now, this one included while mounted (the superblock's s_mounts). */
    public int mountCount() { return sb.mounts.size(); }

    // ---- lifecycle --------------------------------------------------------------------------------

    /**
     * mount -o remount,OPTIONS through this mount point — the VFS's reconfigure_super(), then kernel:
     * btrfs_remount(); on success this mount's MNT_READONLY follows the options (set_mount_attributes), the
     * others keep theirs. The superblock's state is shared: going read-only makes every mount of it read-only.
     * Refused with EBUSY while an unlinked file is still alive (sb_prepare_remount_readonly: its last iput
     * would evict it, starting a transaction on a read-only filesystem) or a file is open for writing; going
     * read-only waits for the writes in flight, and every write until it ends is EROFS (s_readonly_remount). Reads
     * run meanwhile. subvol= and subvolid= are ignored here, as btrfs_parse_options does.
     *
     * @throws IllegalArgumentException if {@code options} is null ("" for none)
     */
    public void remount(String options) {
        requireNonNull(options, "options");
        sb.sUmount.writeLock().lock();
        try {
            checkMounted();
            if (ctx.fs.sbWriters.isFrozen()) {
                throw new BtrfsException(Errno.EBUSY, "remount: " + device().name() + " is frozen"); // reconfigure_super
            }
            // reconfigure_super(): shrink_dcache_sb — every unused dentry lets go of its inode
            ctx.dcache.shrink();
            boolean ro = MountOptions.wantsReadOnly(options);
            if (!ctx.fs.sbRdonly() && ro) {
                prepareRemountReadonly();
            }
            try {
                Remount.remount(ctx, options);
            } finally {
                sb.readonlyRemount = false; // reconfigure_super: after the new flags, or cancel_readonly
            }
            mntReadonly = ro;
        } finally {
            sb.sUmount.writeLock().unlock();
        }
    }

    /**
     * kernel: sb_prepare_remount_readonly() — EBUSY while an unlinked file is still alive (s_remove_count: its last
     * iput would evict it, starting a transaction on a read-only filesystem); else MNT_WRITE_HOLD, and with no
     * writer in flight s_readonly_remount: every mnt_want_write() from now on is EROFS. The kernel refuses a
     * writer in flight with EBUSY; the port waits for the syscalls writing in flight to finish (new ones wait behind
     * it), as {@code mount -o remount,ro} retried until it succeeds does — the same interleaving, without the
     * refusals — and refuses with EBUSY, as the kernel, while a file is open for writing (FMODE_WRITER), which no
     * wait would end.
     */
    private void prepareRemountReadonly() {
        if (ctx.cleaner.inodes().removeCount() > 0) {
            throw busyUnlinked();
        }
        sb.writers.writeLock().lock();
        try {
            if (ctx.cleaner.inodes().removeCount() > 0) {
                throw busyUnlinked();
            }
            int open = sb.openWriters.get();
            if (open > 0) {
                throw new BtrfsException(Errno.EBUSY, "mount point busy: " + open + " files open for writing on "
                    + device().name());
            }
            sb.readonlyRemount = true;
        } finally {
            sb.writers.writeLock().unlock();
        }
    }

    private BtrfsException busyUnlinked() {
        return new BtrfsException(Errno.EBUSY, "mount point busy: " + ctx.cleaner.inodes().removeCount()
            + " unlinked inodes still in use on " + device().name());
    }

    /**
     * fsfreeze -f through this mount point — ioctl FIFREEZE, the VFS's freeze_super() with btrfs_freeze(): new writes
     * (syscalls that modify, writes through open files) block until the thaw, the writes in flight finish, the
     * filesystem is synced, the freezable transaction handles end (the cleaner, the rescan worker and the workers block
     * at their next one), the running transaction is committed. A read-only superblock is marked frozen at once. While
     * frozen a remount is EBUSY, and an umount only detaches its mount: the freeze holds the superblock until
     * {@link #thaw()}.
     *
     * @throws BtrfsException EBUSY if already frozen; EINVAL when this mount is gone
     */
    public void freeze() {
        read(() -> {
            Freeze.freezeSuper(module, sb);
            return null;
        });
    }

    /**
     * fsfreeze -u through this mount point — ioctl FITHAW, thaw_super(): the blocked writers go on. If the last umount
     * happened while frozen, the filesystem closes here.
     *
     * @throws BtrfsException EINVAL if not frozen or this mount is gone
     */
    public void thaw() {
        readAheadOfUmount(() -> {
            Freeze.thawSuper(module, sb);
            return null;
        });
    }

    /** Whether the superblock is frozen (sb->s_writers.frozen is not SB_UNFROZEN): a freeze in progress counts. */
    public boolean isFrozen() {
        return query(() -> ctx.fs.sbWriters.isFrozen());
    }

    /**
     * umount(2) of this mount point: EBUSY while files opened through it are open, or while the filesystem is frozen
     * and a syscall through this mount is in flight (otherwise the port waits for those syscalls); EINVAL when not mounted.
     * The superblock stays while another mount of it remains (s_active); the last umount runs
     * generic_shutdown_super — sync_filesystem, evict_inodes, close_ctree, the "Busy inodes" check (see
     * {@link VfsSuper#killSb()}). A kernel BUG or oops inside close_ctree is thrown to the caller, as the
     * kernel kills the umount task; the filesystem is then gone (the module can still be unloaded and
     * reports what leaked).
     */
    public void umount() {
        // the syscalls in flight through this mount first (the kernel's umount would be EBUSY: see prepareRemountReadonly)
        if (!mntCount.writeLock().tryLock()) {
            if (ctx.fs.sbWriters.isFrozen()) {
                // the kernel's EBUSY, not the port's wait: a syscall in flight may be blocked by the freeze, and the thaw
                // that would release it (FITHAW through this mount) would queue behind this umount
                throw new BtrfsException(Errno.EBUSY, "umount: " + device().name() + ": target is busy (a syscall in flight"
                    + " on a frozen filesystem)");
            }
            mntCount.writeLock().lock();
        }
        try {
            umountHoldingTheMount();
        } finally {
            mntCount.writeLock().unlock();
        }
    }

    /**
     * do_umount once no syscall is in flight through this mount: propagate_mount_busy's EBUSY for open files, then the
     * mount is detached (umount_tree: no path reaches it, {@link #query} is EINVAL from here) and the superblock's
     * s_umount taken for deactivate_super — which may wait for a remount holding it.
     */
    private void umountHoldingTheMount() {
        checkMounted();
        if (!openFiles.isEmpty()) {
            throw new BtrfsException(Errno.EBUSY, "umount: " + device().name() + ": target is busy ("
                + openFiles.size() + " open files: " + openFiles.stream().limit(3).map(f -> f.path() + " " + f.mode()).toList() + ")");
        }
        detached = true;
        sb.sUmount.writeLock().lock();
        try {
            // the mount is detached; cleanup_mnt's dput of its root, then deactivate_super
            state = State.UNMOUNTED;
            sb.mounts.remove(this);
            ctx.cleaner.kickWaiters(); // a subvolumeSync through this mount ends
            if (rootPin != null) {
                ctx.cleaner.inodes().iput(rootPin);
            }
            try {
                module.deactivateSuper(sb);
            } catch (RuntimeException e) {
                state = State.CRASHED;
                throw e;
            }
        } finally {
            sb.sUmount.writeLock().unlock();
        }
    }

    /**
     * syncfs(2) — kernel: sync_filesystem() under s_umount held shared: write back every dirty inode
     * (data through btrfs_wq_submit_bio) and the btree inode (WB_SYNC_ALL, through btrfs_wq_submit_bio
     * unless the crc32c driver is fast), wait for it all and for the ordered extents, then commit
     * (btrfs_sync_fs). A no-op on a read-only superblock. File operations may run meanwhile.
     *
     * @throws BtrfsException the commit's error (EIO when it could not write, the transaction aborted):
     *         as syncfs(2) reports it since v5.17 (5679897eb104); 5.11's syncfs returned 0 there
     */
    public void sync() {
        read(() -> {
            sb.sUmount.readLock().lock();
            try {
                BtrfsException e = Vfs.syncFilesystem(ctx);
                if (e != null) {
                    throw e;
                }
                return null;
            } finally {
                sb.sUmount.readLock().unlock();
            }
        });
    }

    /**
     * {@code BTRFS_IOC_START_SYNC} — kernel: btrfs_ioctl_start_sync(): commit the running transaction asynchronously
     * and return its id, once its commit has started (btrfs-progs' wait_for_commit, behind {@code btrfs subvolume
     * delete -c}, issues it, then {@link #waitSync}). With no transaction running: the id of the last committed one.
     * Takes no write access (a read-only mount answers too). In 5.10–5.16 the commit runs in a kworker of system_wq
     * that nothing at umount waits for ({@link org.jbtrfs.core.FixSwitch#ASYNC_COMMIT_TRANSACTION_KTHREAD}).
     *
     * @return the id of the transaction committing, or of the last one committed
     */
    public long startSync() { return read(() -> SyncIoctls.startSync(ctx, root)); }

    /**
     * {@code BTRFS_IOC_WAIT_SYNC} — kernel: btrfs_ioctl_wait_sync() → btrfs_wait_for_commit(): wait until transaction
     * {@code transid} is committed (at once if it is already); 0: the newest transaction committing, if any.
     *
     * @throws BtrfsException EINVAL for a transaction id that does not exist yet
     * @throws IllegalArgumentException {@code transid} is negative (the kernel's is a u64)
     */
    public void waitSync(long transid) {
        if (transid < 0) {
            throw new IllegalArgumentException("transid must not be negative: " + transid);
        }
        read(() -> {
            SyncIoctls.waitSync(ctx, transid);
            return null;
        });
    }

    // ---- files and directories ------------------------------------------------------------------------

    /**
     * creat(2) of an empty file: btrfs_create. EEXIST if the name exists; ENOENT / ENOTDIR for a bad parent;
     * EISDIR for a path ending in '/'.
     */
    public void createFile(String path) { write(() -> files.create(path)); }

    /**
     * mkdir(2): btrfs_mkdir — a directory with inode, INODE_REF, DIR_ITEM and DIR_INDEX items; EEXIST if the
     * name exists.
     */
    public void mkdir(String path) { write(() -> files.mkdir(path)); }

    /**
     * rmdir(2): btrfs_rmdir — ENOTEMPTY unless empty, ENOTDIR for a file, EBUSY for the mount's root. An empty
     * subvolume is deleted as {@link #deleteSubvolume} does (btrfs_rmdir calls btrfs_delete_subvolume).
     */
    public void rmdir(String path) { write(() -> files.rmdir(path)); }

    /**
     * Appends {@code data} to the file: open, write(2), close. The data goes to the page cache (the file's
     * size grows at once); writeback — sync, fsync, sync_file_range, umount, remount — allocates its
     * extent and inserts the file extent item when the ordered extent completes.
     */
    public void writeFile(String path, byte[] data) {
        requireNonNull(data, "data");
        write(() -> files.write(path, data));
    }

    /**
     * truncate(2): sets the size of the file at {@code path} to {@code length} bytes, as {@link FileHandle#truncate}
     * does through a descriptor — EROFS on a read-only mount, EISDIR for a directory or subvolume.
     *
     * @throws IllegalArgumentException if {@code length} is negative
     */
    public void truncate(String path, long length) {
        FileHandle.requireLength(length);
        write(() -> files.truncate(path, length));
    }

    /** The file's contents as read(2) sees them: written extents with the page cache's dirty data on top. */
    public byte[] readFile(String path) { return read(() -> files.read(path)); }

    void handleWrite(FileHandle fh, byte[] data) { write(() -> files.append(fh.inode(), data)); }

    void handlePwrite(FileHandle fh, long offset, byte[] data) { write(() -> files.writeAt(fh.inode(), offset, data)); }

    void handleTruncate(FileHandle fh, long length) { write(() -> files.truncate(fh.inode(), length)); }

    /**
     * __fput's f_op->release (btrfs_release_file), before the handle lets go of its inode and the mount: nothing after
     * a panic (the module is dead; the close still releases the handle).
     */
    void handleRelease(FileHandle fh) {
        if (!module.kernel().sched().panicked()) {
            files.release(fh.inode());
        }
    }

    long handleSize(FileHandle fh) { return read(() -> InodeData.of(fsInfo(), fh.inode()).isize()); }

    void handleFsync(FileHandle fh) { read(() -> { files.fsync(fh.inode()); return null; }); }

    List<OrderedExtent> handleSyncFileRange(FileHandle fh, Runnable beforeSubmit) {
        List<List<OrderedExtent>> out = new ArrayList<>(1);
        // ksys_sync_file_range takes no write access: any descriptor, any mount (a clean file writes nothing)
        read(() -> out.add(files.syncFileRange(fh.inode(), beforeSubmit)));
        return out.get(0);
    }

    /**
     * unlink(2). An open file keeps its inode (and gets an orphan item) until its last close. EISDIR for a
     * directory or subvolume.
     */
    public void unlink(String path) { write(() -> files.unlink(path)); }

    /**
     * open(2) of an existing file with O_RDWR: {@link #open(String, OpenMode)} with {@link OpenMode#READ_WRITE} — EROFS
     * on a read-only mount (open it {@link OpenMode#READ_ONLY} there).
     */
    public FileHandle open(String path) { return open(path, OpenMode.READ_WRITE); }

    /**
     * open(2) of an existing file — kernel: path_openat(): the lookup (ENOENT, ENOTDIR; EISDIR for a directory or
     * subvolume), then for a mode that writes may_open() and do_dentry_open(): EROFS on a read-only mount or during an
     * RO remount (inode_permission, mnt_want_write), else the descriptor holds the mount's write access until it is
     * closed (FMODE_WRITER), and an RO remount is EBUSY meanwhile. {@link OpenMode#READ_ONLY} works on any mount.
     *
     * @throws IllegalArgumentException if {@code mode} is null
     */
    public FileHandle open(String path, OpenMode mode) {
        requireNonNull(mode, "mode");
        return read(() -> {
            Inode inode = files.open(path);
            if (mode.writes()) {
                sb.writers.readLock().lock();
                try {
                    if (mntIsReadonly()) {
                        ctx.cleaner.inodes().iput(inode);
                        throw erofs();
                    }
                    sb.openWriters.incrementAndGet(); // FMODE_WRITER: dropped by the last fput
                } finally {
                    sb.writers.readLock().unlock();
                }
            }
            FileHandle fh = new FileHandle(this, inode, path, mode);
            openFiles.add(fh);
            return fh;
        });
    }

    /** __fput() of a descriptor opened for writing: __mnt_drop_write (before the dput's iput, as the kernel orders it). */
    void dropWriteAccess() { sb.openWriters.decrementAndGet(); }

    void releaseHandle(FileHandle fh) { openFiles.remove(fh); }

    /**
     * The names in directory {@code path} — files, directories and subvolumes, sorted. null or "": the mount's
     * root. ENOTDIR for a file.
     */
    public List<String> list(String path) { return read(() -> files.list(path)); }

    /** The names in the mount's root directory. */
    public List<String> list() { return list(""); }

    /**
     * sb->s_remove_count: unlinked inodes not destroyed yet — still open, held by an ordered extent in
     * flight, queued for a delayed iput or being evicted. An RO remount is refused (EBUSY) until it is 0.
     * Works after umount (what the umount left).
     */
    public long unlinkedInodesInUse() { return ctx.cleaner.inodes().removeCount(); }

    /** The file's size in bytes (stat's st_size): i_size, which a write grows before writeback. */
    public long fileSize(String path) { return read(() -> files.size(path)); }

    // ---- subvolumes -------------------------------------------------------------------------------

    /**
     * btrfs subvolume create PATH — in any directory of any subvolume ("sv", "dir/sv", "sv/nested"); returns
     * the new subvolume id. EEXIST if the name exists.
     */
    public long createSubvolume(String path) {
        long[] id = new long[1];
        write(() -> id[0] = files.subvolumes().create(path));
        return id[0];
    }

    /**
     * btrfs subvolume delete PATH — kernel: btrfs_ioctl_snap_destroy → btrfs_delete_subvolume. ENOENT if
     * missing, ENOTDIR for a file, EINVAL for a directory that is not a subvolume, ENOTEMPTY while it holds subvolumes of its own. A subvolume
     * mounted elsewhere (subvol=) may be deleted, as in the kernel: that mount keeps its tree until it goes.
     */
    public void deleteSubvolume(String path) { write(() -> files.subvolumes().destroy(path)); }

    /**
     * btrfs subvolume sync — waits until every subvolume deleted so far is dropped by the cleaner: the root
     * tree's orphan items name them, and each is done when its ROOT_ITEM is gone (btrfs-progs'
     * enumerate_dead_subvols and wait_for_subvolume_cleaning; progs polls every second, this waits for the
     * cleaner's passes). It does not wake the cleaner — the transaction kthread does every commit interval,
     * as in the kernel: with a {@link org.jbtrfs.core.ManualClock} wake it ({@link #wakeCleaner},
     * {@link #runCleanerPass}) or advance the clock. A read-only filesystem never drops them.
     *
     * @throws BtrfsException ETIMEDOUT if some are still there after {@code timeout}; EINVAL if this mount goes
     *         away meanwhile
     */
    public void subvolumeSync(Duration timeout) {
        long nanos = nanos(timeout, "timeout");
        List<Long> deleted = read(() -> {
            List<Long> ids = new ArrayList<>();
            for (TreeItem it : Trees.range(ctx.fs, ctx.fs.treeRoot(), OrphanItems.key(0), OrphanItems.key(-1L))) {
                long id = it.key().offset(); // a v1 free-space-cache inode's orphan item names no root: skipped
                if (Trees.lookup(ctx.fs, ctx.fs.treeRoot(), new Key(id, ItemType.ROOT_ITEM, 0)) != null) {
                    ids.add(id);
                }
            }
            return ids;
        });
        boolean done = ctx.cleaner.awaitEvent(() -> !isMounted() || noneLeft(deleted), nanos);
        checkMounted();
        if (!done) {
            throw new BtrfsException(Errno.ETIMEDOUT, "deleted subvolumes " + deleted + " of " + device().name()
                + " not dropped within " + timeout);
        }
    }

    /**
     * Every id's ROOT_ITEM is gone; false while this mount's umount runs (tested again at the next event: the umount
     * kicks the waiters). Holding the mount, not s_umount: a remount, which holds s_umount while it waits for the
     * cleaner's pass, must not hide the pass's end from this test.
     */
    private boolean noneLeft(List<Long> ids) {
        if (!mntCount.readLock().tryLock()) {
            return false;
        }
        try {
            if (state != State.MOUNTED) {
                return true;
            }
            for (long id : ids) {
                if (Trees.lookup(ctx.fs, ctx.fs.treeRoot(), new Key(id, ItemType.ROOT_ITEM, 0)) != null) {
                    return false;
                }
            }
            return true;
        } finally {
            mntCount.readLock().unlock();
        }
    }

    // ---- quotas ---------------------------------------------------------------------------------

    /**
     * btrfs quota enable — creates the quota tree and starts a rescan. kernel: btrfs_ioctl_quota_ctl()
     * takes subvol_sem exclusive around btrfs_quota_enable().
     */
    public void quotaEnable() { write(() -> withSubvolSem(ctx.qgroups::quotaEnable)); }

    /** btrfs quota disable — kernel: btrfs_ioctl_quota_ctl(), subvol_sem exclusive around btrfs_quota_disable(). */
    public void quotaDisable() { write(() -> withSubvolSem(ctx.qgroups::quotaDisable)); }

    /**
     * btrfs qgroup create 0/{@code subvolid} — kernel: btrfs_ioctl_qgroup_create() (create = 1): mnt_want_write, EINVAL
     * for qgroupid 0, btrfs_join_transaction on the mount's root, btrfs_create_qgroup() (ENOTCONN with quotas off, EEXIST
     * for a qgroup already there), btrfs_end_transaction.
     *
     * @throws IllegalArgumentException for a qgroup above level 0 ({@code qgroupid >> 48 != 0}): the port models level 0 only
     */
    public void qgroupCreate(long qgroupid) { qgroupCreateIoctl(qgroupid, true); }

    /**
     * btrfs qgroup destroy 0/{@code subvolid} — kernel: btrfs_ioctl_qgroup_create() (create = 0): mnt_want_write, EINVAL
     * for qgroupid 0, btrfs_join_transaction on the mount's root, btrfs_remove_qgroup() (ENOTCONN with quotas off, ENOENT
     * for a qgroup not there), btrfs_end_transaction. As in 5.11, the qgroup of a live subvolume may be destroyed: its
     * extents are no longer accounted.
     *
     * @throws IllegalArgumentException for a qgroup above level 0 ({@code qgroupid >> 48 != 0}): the port models level 0 only
     */
    public void qgroupDestroy(long qgroupid) { qgroupCreateIoctl(qgroupid, false); }

    /** BTRFS_IOC_QGROUP_CREATE, both directions: the argument checks of btrfs_ioctl_qgroup_create, then the ioctl. */
    private void qgroupCreateIoctl(long qgroupid, boolean create) {
        if (qgroupid >>> 48 != 0) {
            throw new IllegalArgumentException("qgroupid: only level-0 qgroups (0/N) are modelled, got level " + (qgroupid >>> 48));
        }
        write(() -> {
            if (qgroupid == 0) {
                throw new BtrfsException(Errno.EINVAL, "qgroupid must not be 0");
            }
            ctx.qgroups.qgroupCreateIoctl(qgroupid, create);
        });
    }

    /**
     * {@code btrfs scrub start -B} (or {@code -Br} with {@code readonly}) — kernel: btrfs_ioctl_scrub(): a scrub that
     * may repair takes write access (mnt_want_write_file: EROFS on a read-only mount, and an RO remount is EBUSY while it
     * runs); a read-only one takes none, runs on a read-only filesystem too, and an RO remount cancels it. Then
     * btrfs_scrub_dev() of the one device, returning when it is done: what it read and found
     * ({@link ScrubProgress}).
     *
     * @throws BtrfsException EROFS (write access refused), EAGAIN (the filesystem is closing), EINPROGRESS (a scrub runs
     *                        on the device), ECANCELED (an RO remount, umount or {@link #scrubCancel} stopped it), or
     *                        the error of marking a block group read-only (an aborted filesystem)
     */
    public ScrubProgress scrub(boolean readonly) {
        if (readonly) {
            return read(() -> Scrub.scrubDev(ctx, true));
        }
        ScrubProgress[] out = new ScrubProgress[1];
        write(() -> out[0] = Scrub.scrubDev(ctx, false));
        return out[0];
    }

    /**
     * {@code btrfs scrub cancel} — kernel: btrfs_ioctl_scrub_cancel() → btrfs_scrub_cancel(): ask every running scrub to
     * stop and wait until none runs.
     *
     * @throws BtrfsException ENOTCONN when no scrub runs
     */
    public void scrubCancel() {
        read(() -> {
            if (!ctx.fs.scrub.cancel()) {
                throw new BtrfsException(Errno.ENOTCONN, "no scrub running on " + ctx.fs.sbId());
            }
            return null;
        });
    }

    /**
     * {@code btrfs balance start} — kernel: btrfs_ioctl_balance() (BTRFS_IOC_BALANCE_V2): write access (EROFS on a
     * read-only mount), the exclusive operation, then btrfs_balance() of the chunk types in {@code flags}
     * ({@link BalanceProgress#DATA}, {@link BalanceProgress#METADATA}, {@link BalanceProgress#SYSTEM}, with
     * {@link BalanceProgress#FORCE}) through each type's filters: insert_balance_item, the chunk walk, the end. Returns the
     * progress when it ended (0 chunks relocated: relocation is not ported — a chunk the filters pick ends the balance
     * with EOPNOTSUPP; filters that pick nothing, such as a vrange past the device, run whole).
     *
     * @throws BtrfsException EROFS, EINPROGRESS (a balance runs or is paused), EINVAL (unknown flags, the filesystem
     *                        closing), EOPNOTSUPP (a filter or a relocation the port does not have), ECANCELED (paused or
     *                        cancelled meanwhile: {@link #balancePause}, an RO remount, an umount)
     * @throws IllegalArgumentException for a null filter ({@link BalanceFilter#NONE}: no filter), or RESUME in flags
     */
    public BalanceProgress balanceStart(long flags, BalanceFilter data, BalanceFilter meta, BalanceFilter sys) {
        if ((flags & BalanceProgress.RESUME) != 0) {
            throw new IllegalArgumentException("flags: RESUME is balanceResume()");
        }
        requireNonNull(data, "data");
        requireNonNull(meta, "meta");
        requireNonNull(sys, "sys");
        BalanceProgress[] out = new BalanceProgress[1];
        write(() -> out[0] = Balance.ioctlBalance(ctx, flags, data.args(), meta.args(), sys.args()));
        return out[0];
    }

    /**
     * {@code btrfs balance resume} — btrfs_ioctl_balance() with BTRFS_BALANCE_RESUME: the paused balance runs again in
     * this task.
     *
     * @throws BtrfsException ENOTCONN (no paused balance), EROFS, EINPROGRESS, and btrfs_balance's errors as
     *                        {@link #balanceStart}
     */
    public BalanceProgress balanceResume() {
        BalanceProgress[] out = new BalanceProgress[1];
        org.jbtrfs.core.disk.BalanceArgs none = org.jbtrfs.core.disk.BalanceArgs.NONE;
        write(() -> out[0] = Balance.ioctlBalance(ctx, BalanceProgress.RESUME, none, none, none));
        return out[0];
    }

    /**
     * {@code btrfs balance pause} — kernel: btrfs_ioctl_balance_ctl(BTRFS_BALANCE_CTL_PAUSE) → btrfs_pause_balance():
     * a running balance is asked to pause and waited for (it stops before its next chunk; its item stays on disk).
     *
     * @throws BtrfsException ENOTCONN when no balance is running
     */
    public void balancePause() {
        read(() -> {
            if (!Balance.pauseBalance(ctx.fs)) {
                throw new BtrfsException(Errno.ENOTCONN, "no balance running on " + ctx.fs.sbId());
            }
            return null;
        });
    }

    /**
     * {@code btrfs balance cancel} — kernel: btrfs_ioctl_balance_ctl(BTRFS_BALANCE_CTL_CANCEL) → btrfs_cancel_balance():
     * a running balance is cancelled and waited for, a paused one reset (its item deleted).
     *
     * @throws BtrfsException ENOTCONN (no balance), EROFS (a paused balance on a read-only filesystem)
     */
    public void balanceCancel() {
        read(() -> {
            Balance.cancelBalance(ctx.fs);
            return null;
        });
    }

    /**
     * {@code btrfs balance status} — kernel: btrfs_ioctl_balance_progress().
     *
     * @throws BtrfsException ENOTCONN when there is no balance, running or paused
     */
    public BalanceProgress balanceStatus() { return query(() -> Balance.progress(ctx.fs)); }

    /**
     * {@code btrfs replace start SRCDEVID TARGET} — kernel: btrfs_ioctl_dev_replace(BTRFS_IOCTL_DEV_REPLACE_CMD_START) →
     * btrfs_dev_replace_start(): the filesystem's device (devid 1) is copied to {@code target} while writes go to both,
     * then the target takes its place and the old device's superblock is scratched; runs in the caller, as the ioctl
     * does, and returns at the end. As in the kernel no write access is taken (only an SB_RDONLY test; the proposed
     * {@link org.jbtrfs.core.FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} takes it: an RO remount is then EBUSY while the
     * replace runs), and an RO remount meanwhile suspends the replace (the next read-write mount resumes it in a btrfs-devrepl
     * kthread; the target must be one of the module's devices or a target it has seen, as a device scan finds it).
     * After it, the filesystem lives on {@code target}: mount that device next time.
     *
     * @return NO_ERROR (finished, or suspended by an RO remount or umount: see {@link #replaceStatus}),
     *         SCRUB_INPROGRESS (a scrub of the device runs)
     * @throws BtrfsException EROFS, EINPROGRESS (another exclusive operation: a balance), ENOENT (no such devid),
     *                        EEXIST (the target is this filesystem's device), EBUSY (the target is mounted), EINVAL (the
     *                        target is smaller), ECANCELED (cancelled by {@link #replaceCancel}), and the copy's errors
     * @throws IllegalArgumentException a null target
     */
    public DevReplaceResult replaceStart(long srcDevid, BlockDevice target) {
        requireNonNull(target, "target");
        if (ctx.fs.applied(org.jbtrfs.core.FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)) {
            // proposed: mnt_want_write_file for the replace, as the balance ioctl takes it
            DevReplaceResult[] out = new DevReplaceResult[1];
            write(() -> out[0] = DevReplace.ioctlStart(ctx, srcDevid, target));
            return out[0];
        }
        return read(() -> DevReplace.ioctlStart(ctx, srcDevid, target));
    }

    /**
     * {@code btrfs filesystem show}: the filesystem's devices by devid — 1, the device its blocks are on (after a finished
     * replace, the target), and 0, a dev-replace target while the replace is going on (or suspended).
     */
    public java.util.Map<Long, BlockDevice> devices() {
        return query(() -> {
            java.util.Map<Long, BlockDevice> m = new java.util.TreeMap<>();
            BlockDevice src = ctx.fs.device.source();
            m.put(DevReplace.SRC_DEVID, src);
            BlockDevice t = ctx.fs.device.target();
            if (t != null) {
                m.put(org.jbtrfs.core.disk.DevReplaceItem.DEV_REPLACE_DEVID, t);
            }
            return m;
        });
    }

    /**
     * Where the unmounted filesystem's last commit is, as blkid finds it: of the devices it had since the mount (the
     * first, each replace's target), the one with a superblock of it as devid 1 — the newest if several (a power cut may
     * have dropped a replace's last writes) — else its device now.
     */
    private BlockDevice onDiskDevice() {
        String fsid = java.util.HexFormat.of().formatHex(ctx.fs.fsid());
        BlockDevice best = ctx.fs.device.source();
        long bestGen = -1;
        for (BlockDevice d : ctx.fs.device.history()) {
            // an offline read, as the dump below: not priced by the latency model
            BlockDevice raw = d instanceof org.jbtrfs.core.kernel.LatencyBlockDevice l ? l.device() : d;
            org.jbtrfs.fs.tools.Blkid.Probe p = org.jbtrfs.fs.tools.Blkid.probe(raw);
            if (p != null && p.devid() == DevReplace.SRC_DEVID && p.fsid().equals(fsid) && p.generation() > bestGen) {
                best = d;
                bestGen = p.generation();
            }
        }
        return best;
    }

    /**
     * {@code btrfs device stats} of devid 1 — kernel: btrfs_get_dev_stats() (BTRFS_IOC_GET_DEV_STATS): the device's
     * persistent error counters, as this mount read them from the device tree and counted since (stop 78).
     */
    public DeviceStats deviceStats() {
        return query(() -> {
            org.jbtrfs.transaction.MappedDevice d = ctx.fs.device;
            return new DeviceStats(d.devStat(DevStat.WRITE_ERRS), d.devStat(DevStat.READ_ERRS), d.devStat(DevStat.FLUSH_ERRS),
                d.devStat(DevStat.CORRUPTION_ERRS), d.devStat(DevStat.GENERATION_ERRS));
        });
    }

    /** {@code btrfs replace status} — kernel: btrfs_dev_replace_status(). */
    public DevReplaceStatus replaceStatus() { return query(() -> DevReplace.status(ctx.fs)); }

    /**
     * {@code btrfs replace cancel} — kernel: btrfs_dev_replace_cancel(): a running replace's copy is cancelled (its
     * start returns ECANCELED), a suspended replace is cancelled here.
     *
     * @return NO_ERROR, or NOT_STARTED when there is nothing to cancel
     * @throws BtrfsException EROFS on a read-only filesystem
     */
    public DevReplaceResult replaceCancel() { return read(() -> DevReplace.cancel(ctx)); }

    /** btrfs quota rescan (EINPROGRESS if one runs, EINVAL if quotas are off). */
    public void quotaRescan() { write(ctx.qgroups::rescan); }

    /**
     * btrfs quota rescan -w — kernel: btrfs_qgroup_wait_for_completion(): if qgroup_rescan_running, wait for
     * the rescan's completion. The kernel's semantics are kept: a rescan resumed by an RO→RW remount was not
     * re-armed, so this may return while its worker runs; {@link #awaitRescanIdle} waits for the worker. The ioctl holds
     * its file, so the mount: an umount meanwhile waits for it (the kernel's says EBUSY), as for every syscall in flight.
     */
    public void quotaRescanWait() {
        read(() -> {
            ctx.qgroups.waitForCompletion(true);
            return null;
        });
    }

    /**
     * btrfs quota rescan -s — BTRFS_IOC_QUOTA_RESCAN_STATUS: the RESCAN status flag and the progress
     * objectid, with whether the worker is marked running and is still queued or executing.
     */
    public RescanStatus rescanStatus() { return RescanStatus.of(query(ctx.qgroups::rescanStatus)); }

    /**
     * Waits until no run of the qgroup rescan worker is queued or executing — the worker function returned
     * (its status update ended, "qgroup scan completed/paused" logged). Unlike {@link #quotaRescanWait()} it
     * also waits for a rescan resumed by an RO→RW remount. Returns at once if no worker is active.
     *
     * @throws BtrfsException ETIMEDOUT if the worker is still active after {@code timeout}
     */
    public void awaitRescanIdle(Duration timeout) {
        long nanos = nanos(timeout, "timeout");
        checkMounted();
        if (!ctx.qgroups.awaitRescanIdle(nanos)) {
            throw new BtrfsException(Errno.ETIMEDOUT, "the qgroup rescan worker of " + device().name()
                + " is still active after " + timeout + ": " + ctx.qgroups.rescanStatus());
        }
    }

    /** btrfs qgroup show: level-0 qgroups with referenced and exclusive bytes. */
    public List<QgroupUsage> qgroupUsage() { return query(ctx.qgroups::usage).stream().map(QgroupUsage::of).toList(); }

    /** The qgroup status flags (ON 1, RESCAN 2, INCONSISTENT 4). */
    public long qgroupStatusFlags() { return query(ctx.qgroups::statusFlags); }

    /** fs_info->qgroup_rescan_running. */
    public boolean qgroupRescanRunning() { return query(ctx.qgroups::rescanRunning); }

    // ---- the cleaner ------------------------------------------------------------------------------

    /**
     * kernel: wake_up_process(fs_info->cleaner_kthread), as btrfs_commit_super and the transaction
     * kthread do (and what a remount with unchanged options reaches through the transaction kthread).
     * Returns false when the wake-up was lost: the cleaner was running (mid-pass, or between its last
     * check and going to sleep) and does not start another pass for it.
     */
    public boolean wakeCleaner() {
        // holding the mount, like every user entry point: close_ctree frees the cleaner's task_struct, and a
        // wake-up after that would be the port's own use-after-free, not the kernel's; a remount may run meanwhile,
        // as the transaction kthread's wake-ups do
        return read(() -> ctx.fs.cleanerKthread().wakeUpProcess());
    }

    /**
     * Runs one whole cleaner pass and returns when it is over: waits until the cleaner is asleep (its
     * current pass, if any, ended and it set TASK_INTERRUPTIBLE), wakes it, and waits until the pass that
     * wake-up started ended and the cleaner is asleep again. The deterministic "wake the cleaner and wait
     * for its pass" — no wake-up lost to a pass in progress, no polling. A read-only, unopened or closing
     * filesystem's pass does nothing, as the kernel's.
     *
     * @throws BtrfsException EBUSY at once if the cleaner is parked or parking (an umount in progress: no
     *         pass will come); ETIMEDOUT if it did not get there within {@code timeout} (stuck)
     */
    public void runCleanerPass(Duration timeout) {
        long nanos = nanos(timeout, "timeout");
        // holding the mount: an umount waits for the pass instead of freeing the cleaner under it
        read(() -> {
            cleanerPass(timeout, nanos);
            return null;
        });
    }

    private void cleanerPass(Duration timeout, long nanos) {
        long deadline = System.nanoTime() + nanos;
        var c = ctx.cleaner;
        while (true) {
            if (!c.awaitAsleep(Math.max(0, deadline - System.nanoTime()))) {
                throw new BtrfsException(Errno.ETIMEDOUT, "the cleaner of " + device().name() + " did not go to sleep within " + timeout);
            }
            if (c.parking()) {
                throw new BtrfsException(Errno.EBUSY, "the cleaner of " + device().name() + " is parked: the filesystem is closing");
            }
            long passes = c.passes();
            if (ctx.fs.cleanerKthread().wakeUpProcess()) {
                if (!c.awaitPass(passes, Math.max(0, deadline - System.nanoTime()))) {
                    throw new BtrfsException(Errno.ETIMEDOUT, "the cleaner pass of " + device().name() + " did not end within " + timeout);
                }
                return;
            }
            // someone else woke it between our check and our wake-up: that pass is not ours; go again
        }
    }

    /** Cleaner passes finished since mount (a pass that found the filesystem read-only counts too). */
    public long cleanerPasses() { return ctx.cleaner.passes(); }

    /**
     * Waits until no UUID tree scan runs: the btrfs-uuid kthread a read-write mount started (a fresh filesystem's
     * first, which creates the tree, or one that checks it) has ended — the wait an RO remount and umount make
     * ("wait for the uuid_scan task to finish": down and up uuid_tree_rescan_sem), on its event, no polling. For a test
     * that must see the filesystem without the scan's transactions in flight. Returns at once when none runs.
     *
     * @throws BtrfsException ETIMEDOUT if the scan did not end within {@code timeout} (stuck)
     */
    public void waitForUuidScan(Duration timeout) {
        long nanos = nanos(timeout, "timeout");
        read(() -> {
            try {
                if (!ctx.fs.uuidTreeRescanSem.tryAcquire(nanos, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    throw new BtrfsException(Errno.ETIMEDOUT, "the UUID tree scan of " + device().name()
                        + " did not end within " + timeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BtrfsException(Errno.EINTR, "interrupted waiting for the UUID tree scan of " + device().name());
            }
            ctx.fs.uuidTreeRescanSem.release();
            return null;
        });
    }

    // ---- inspection -------------------------------------------------------------------------------

    /**
     * The filesystem's BTRFS_FS_STATE bits now (ERROR, TRANS_ABORTED, REMOUNTING...): what {@link #inspect()} reports
     * as {@code state()}, without reading any tree — usable on a filesystem whose trees an abort left unreadable.
     */
    public Set<FsState> fsState() {
        Set<FsState> st = EnumSet.noneOf(FsState.class);
        for (FsState s : FsState.values()) {
            if (ctx.fs.fsState.test(s)) {
                st.add(s);
            }
        }
        return st;
    }

    /**
     * A read-only view of the lifecycle state of the filesystem (the superblock: the same for every mount of
     * it). Works after umount too: the in-memory parts show what the last umount left (leaked transactions,
     * queued delayed iputs); the root tree's orphan and root items are then read from the device, as the last
     * commit wrote them.
     */
    public Inspection inspect() {
        FsInfo fs = ctx.fs;
        List<Inspection.TransactionInfo> trans = new ArrayList<>();
        for (Transaction t : fs.transList()) {
            trans.add(transactionInfo(t));
        }
        List<Inode> pending = ctx.cleaner.delayedIputs().pending();
        List<Long> iputs = pending.stream().map(Inode::ino).toList();
        List<Inspection.DelayedIput> iputInodes = pending.stream()
            .map(i -> new Inspection.DelayedIput(i.root().objectid(), i.ino())).toList();
        List<Long> orphans = new ArrayList<>();
        Map<Long, Integer> roots = new TreeMap<>();
        if (fs.treeRoot() != null && sb.state == VfsSuper.State.ACTIVE) {
            for (TreeItem it : Trees.range(fs, fs.treeRoot(), Key.MIN, Key.MAX)) {
                rootTreeItem(it.key(), it.data(), orphans, roots);
            }
        } else if (sb.state == VfsSuper.State.DEAD) {
            // read as an offline tool reads an image (btrfs inspect-internal dump-tree): the latency model prices the
            // kernel's own I/O, and this is not kernel I/O — through the modelled disk it was a fifth of the full
            // workload's driver time (a read per tree block after every umount); only the root tree, and no dump text,
            // whose formatting was most of what remained
            BlockDevice on = onDiskDevice();
            BlockDevice dev = on instanceof org.jbtrfs.core.kernel.LatencyBlockDevice l ? l.device() : on;
            for (var it : org.jbtrfs.fs.tools.DumpTree.rootTreeItems(dev, module.config().crc32c())) {
                if (it.value() instanceof RootItem ri) {
                    rootTreeItem(it.key(), ri.encode(), orphans, roots);
                } else {
                    rootTreeItem(it.key(), null, orphans, roots);
                }
            }
        }
        Set<FsFlag> flags = EnumSet.noneOf(FsFlag.class);
        for (FsFlag f : FsFlag.values()) {
            if (fs.flags.test(f)) {
                flags.add(f);
            }
        }
        Set<FsState> st = fsState();
        List<Inspection.KthreadInfo> kthreads = new ArrayList<>();
        for (var k : new org.jbtrfs.core.kernel.Kthread[] {fs.cleanerKthread(), fs.transactionKthread()}) {
            if (k != null) {
                kthreads.add(new Inspection.KthreadInfo(k.name(), Inspection.TaskState.valueOf(k.taskState().name()), k.sleeps()));
            }
        }
        Map<String, String> blocked = new TreeMap<>(module.kernel().sched().blocked());
        for (org.jbtrfs.core.kernel.Mutex m : fs.mutexes()) {
            for (String waiter : m.waiters()) {
                blocked.put(waiter, "mutex_lock(" + m.name() + ") held by " + m.holder());
            }
        }
        return new Inspection(trans, iputs, fs.deadRootIds(), orphans, roots, fs.flags.test(FsFlag.CLEANER_RUNNING), flags,
            st, fs.sbRdonly(), fs.lastTransCommitted(), blockGroups(fs), spaceInfos(fs), iputInodes, kthreads, blocked,
            fs.readOnlyWrites.transactions().stream().map(Btrfs::transactionInfo).toList(), fs.needlessUuidRescan(),
            fs.asyncDiscardOff());
    }

    /** A transaction and who opened handles on it, copied into the API's record. */
    private static Inspection.TransactionInfo transactionInfo(Transaction t) {
        return new Inspection.TransactionInfo(t.transid, t.state().name(), t.handles().stream()
            .map(h -> new Inspection.Handle(h.thread(), h.function(), h.type().name())).toList());
    }

    /** The block groups, copied into the API's records. */
    private static List<Inspection.BlockGroup> blockGroups(FsInfo fs) {
        return fs.space.snapshot().stream().map(b -> new Inspection.BlockGroup(b.start(), b.length(),
            Inspection.BlockGroupType.valueOf(b.type().name()), b.used(), b.reserved(), b.pinned(), b.readOnly(), b.unused())).toList();
    }

    /** The space_infos' counters, copied into the API's records. */
    private static Map<Inspection.BlockGroupType, Inspection.SpaceCounters> spaceInfos(FsInfo fs) {
        Map<Inspection.BlockGroupType, Inspection.SpaceCounters> out = new java.util.EnumMap<>(Inspection.BlockGroupType.class);
        fs.space.spaceInfoSnapshot().forEach((type, c) -> out.put(Inspection.BlockGroupType.valueOf(type.name()),
            new Inspection.SpaceCounters(c.total(), c.used(), c.pinned(), c.reserved(), c.mayUse(), c.readonly())));
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Sorts a root-tree item into orphan items (subvolume deletions pending) and subvolume root items. */
    private static void rootTreeItem(Key k, byte[] data, List<Long> orphans, Map<Long, Integer> roots) {
        if (k.type() == ItemType.ORPHAN_ITEM && k.objectid() == ItemType.ORPHAN_OBJECTID) {
            orphans.add(k.offset());
        } else if (k.type() == ItemType.ROOT_ITEM && data != null && (k.objectid() == ItemType.FS_TREE_OBJECTID
            || k.objectid() >= ItemType.FIRST_FREE_OBJECTID && Long.compareUnsigned(k.objectid(), ItemType.LAST_FREE_OBJECTID) < 0)) {
            roots.put(k.objectid(), RootItem.decode(data).refs());
        }
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    /** After a panic KernelPanic; once this mount is gone EINVAL "... is not mounted". */
    private void checkMounted() {
        module.kernel().sched().checkPanic();
        if (state != State.MOUNTED) {
            throw new BtrfsException(Errno.EINVAL, device().name() + " is not mounted");
        }
    }

    /**
     * A modifying operation: a syscall in flight through this mount, between mnt_want_write() — EROFS when this
     * mount is read-only (MNT_READONLY), the superblock is (SB_RDONLY) or an RO remount is under way
     * (s_readonly_remount) — and mnt_drop_write(). No s_umount: it runs beside a remount's own work where the
     * kernel lets it (an RO→RW remount once SB_RDONLY is clear).
     */
    private void write(Runnable op) {
        read(() -> {
            // mnt_want_write() / file_start_write(): sb_start_write first — a frozen superblock blocks here until thawed
            Object hold = ctx.fs.sbWriters.startWrite();
            try {
                sb.writers.readLock().lock();
                try {
                    if (mntIsReadonly()) {
                        throw erofs();
                    }
                    op.run();
                    return null;
                } finally {
                    sb.writers.readLock().unlock();
                }
            } finally {
                ctx.fs.sbWriters.endWrite(hold);
            }
        });
    }

    /**
     * kernel: mnt_is_readonly() in fs/namespace.c — s_readonly_remount first, then (after smp_rmb) MNT_READONLY and
     * SB_RDONLY. The order matters: reconfigure_super sets SB_RDONLY before it clears s_readonly_remount (smp_wmb;
     * here the volatile write after the plain one), so a writer that finds no RO remount under way finds the
     * read-only flag that remount set. Called holding the read side of {@link VfsSuper#writers}, the writer already
     * counted (mnt_inc_writers before the test).
     *
     * <p>A port bug found by the explorer (stop 35, {@code leak:btrfs_create@file,lifecycle}): the port tested SB_RDONLY
     * first; a create preempted between its two reads — SB_RDONLY still clear, then the remount over and
     * s_readonly_remount cleared — passed both and started its transaction on the read-only filesystem.
     * {@code MntWantWriteTest.aWriterThatFindsNoRoRemountUnderWayFindsTheFlagItSet}.
     */
    private boolean mntIsReadonly() {
        if (sb.readonlyRemount) {
            return true;
        }
        module.hooks().arrive(Hook.MNT_IS_READONLY_AFTER_REMOUNT_TEST);
        return isReadOnly();
    }

    private BtrfsException erofs() {
        return new BtrfsException(Errno.EROFS, "Read-only file system (" + device().name()
            + (mntReadonly && !ctx.fs.sbRdonly() ? ", this mount point is read-only" : "") + ")");
    }

    /** down_write of fs_info->subvol_sem around {@code op} (btrfs_ioctl_quota_ctl). */
    private void withSubvolSem(Runnable op) {
        var l = ctx.fs.subvolSem.writeLock();
        l.lock();
        try {
            op.run();
        } finally {
            l.unlock();
        }
    }

    /** A syscall in flight through this mount (it holds the mount: umount waits for it); EINVAL once unmounted. */
    private <T> T read(java.util.function.Supplier<T> op) {
        mntCount.readLock().lock();
        return holdingTheMount(op);
    }

    /** A syscall's body once it holds the mount (EINVAL if the mount is gone); the mount is released after. */
    private <T> T holdingTheMount(java.util.function.Supplier<T> op) {
        try {
            checkMounted();
            return op.get();
        } finally {
            mntCount.readLock().unlock();
        }
    }

    /**
     * {@link #read} for FITHAW, the syscall that may be what the others in flight wait for: it takes the mount ahead
     * of an umount waiting for them (the kernel's umount never waits — EBUSY — so nothing queues before a thaw there).
     * Without it a write through this mount blocked by a freeze through another mount, this mount's umount waiting
     * for that write, and a thaw through this mount waiting behind the umount, wait for each other for ever. Once the
     * umount holds the mount (no syscall in flight) the thaw waits for it and finds the mount gone: EINVAL.
     */
    private <T> T readAheadOfUmount(java.util.function.Supplier<T> op) {
        // ReadLock.tryLock barges past a queued writer; lock() would wait behind it
        if (!mntCount.readLock().tryLock()) {
            mntCount.readLock().lock();
        }
        return holdingTheMount(op);
    }

    /**
     * A read-only ioctl: no s_umount (ioctls do not take it), so it answers while a remount is waiting for something —
     * what a reproducer polls — but it holds the mount, as the kernel's ioctl holds its open file: an umount waits for
     * it (the kernel's would be EBUSY) and cannot free fs_info under it. An umount past its busy check has detached the
     * mount: EINVAL at once (the path no longer reaches this filesystem), never a wait behind close_ctree or behind a
     * remount holding s_umount, which a reproducer may be holding at a hook. (The port's own bug until stop 74:
     * the query tested the mount and then ran without it — a use-after-free in btrfs_dev_replace_status, explorer class
     * a55fe7f0; {@code QueryHoldsTheMountTest}.)
     */
    private <T> T query(java.util.function.Supplier<T> op) {
        // ReadLock.tryLock takes the mount unless an umount holds it; the timed retry covers only the umount's own
        // short check of open files (an EBUSY umount gives the mount back, still mounted)
        try {
            while (!mntCount.readLock().tryLock() && !mntCount.readLock().tryLock(1, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (detached) {
                    throw new BtrfsException(Errno.EINVAL, device().name() + " is not mounted (an umount detached it)");
                }
                checkMounted();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BtrfsException(Errno.EINTR, "interrupted while " + device().name() + " was being unmounted");
        }
        return holdingTheMount(op);
    }

    static void requireNonNull(Object o, String name) {
        if (o == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
    }

    /** A timeout: not null, not negative (zero: test once). */
    static long nanos(Duration d, String name) {
        requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative: " + d);
        }
        return d.toNanos();
    }

    @Override
    public String toString() {
        return "btrfs on " + device().name() + (root.objectid() == ItemType.FS_TREE_OBJECTID ? "" : " subvolid=" + root.objectid())
            + " (" + state + (isReadOnly() ? ", ro" : ", rw") + ")";
    }
}
