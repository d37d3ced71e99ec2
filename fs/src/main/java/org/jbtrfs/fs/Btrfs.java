package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.qgroup.Qgroup;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Transaction;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * A mounted btrfs filesystem: the VFS superblock side (mount options, SB_RDONLY, s_umount) and the
 * operations users and tests perform on it. Mount, remount and umount run the kernel sequences in
 * {@link OpenCtree}, {@link Remount} and {@link CloseCtree}.
 *
 * <p>Errors are {@link BtrfsException}s with the errno the syscall would return: EROFS for a write
 * on a read-only mount, EINVAL once unmounted, EBUSY for umount with open files, ENOENT for a
 * missing path.
 */
public final class Btrfs {
    private enum State { MOUNTED, UNMOUNTED, CRASHED }

    private final BtrfsModule module;
    private final BlockDevice device;
    private final FsContext ctx;
    /** sb->s_umount: remount, umount and sync exclusive; file operations shared. */
    private final ReentrantReadWriteLock sUmount = new ReentrantReadWriteLock();
    private final Set<FileHandle> openFiles = ConcurrentHashMap.newKeySet();
    private final FileOps files;
    private volatile State state = State.MOUNTED;

    private Btrfs(BtrfsModule module, BlockDevice device, FsContext ctx) {
        this.module = module;
        this.device = device;
        this.ctx = ctx;
        this.files = new FileOps(ctx);
    }

    /** kernel: btrfs_mount() → open_ctree() */
    static Btrfs mount(BtrfsModule module, BlockDevice dev, String options) {
        MountOptions opts = MountOptions.parse(options, module.log(), dev.name());
        FsContext ctx = OpenCtree.openCtree(module, dev, opts);
        return new Btrfs(module, dev, ctx);
    }

    FsContext ctx() { return ctx; }

    public BlockDevice device() { return device; }

    public BtrfsModule module() { return module; }

    public KernelLog log() { return module.log(); }

    /** After a kernel panic: the filesystem is gone without a close_ctree. */
    void crashed() { state = State.CRASHED; }

    /** The fs_info, for tests that look below the API. */
    public FsInfo fsInfo() { return ctx.fs; }

    public boolean isReadOnly() { return ctx.fs.sbRdonly; }

    public boolean isMounted() { return state == State.MOUNTED; }

    // ---- lifecycle --------------------------------------------------------------------------------

    /**
     * mount -o remount,OPTIONS — the VFS's reconfigure_super(), then kernel: btrfs_remount(). Going
     * read-only is refused with EBUSY while an unlinked file is still alive (sb_prepare_remount_readonly:
     * its last iput would evict it, starting a transaction on a read-only filesystem).
     */
    public void remount(String options) {
        sUmount.writeLock().lock();
        try {
            checkMounted();
            // reconfigure_super(): shrink_dcache_sb — every unused dentry lets go of its inode
            ctx.dcache.shrink();
            if (!ctx.fs.sbRdonly && MountOptions.wantsReadOnly(options) && ctx.cleaner.inodes().removeCount() > 0) {
                throw new BtrfsException(Errno.EBUSY, "mount point busy: " + ctx.cleaner.inodes().removeCount()
                    + " unlinked inodes still in use on " + device.name());
            }
            Remount.remount(ctx, options);
        } finally {
            sUmount.writeLock().unlock();
        }
    }

    /**
     * umount(2) — kernel: btrfs_kill_super() → generic_shutdown_super(): sync_filesystem (no-op when
     * RO), evict_inodes (the cached inodes nobody references), close_ctree() (btrfs_put_super), then the
     * VFS's "Busy inodes after unmount" check. EBUSY while files are open; EINVAL when not mounted. A
     * kernel BUG or oops inside close_ctree is thrown to the caller, as the kernel kills the umount task;
     * the filesystem is then gone (the module can still be unloaded and reports what leaked).
     */
    public void umount() {
        sUmount.writeLock().lock();
        try {
            checkMounted();
            if (!openFiles.isEmpty()) {
                throw new BtrfsException(Errno.EBUSY, "umount: " + device.name() + ": target is busy ("
                    + openFiles.size() + " open files)");
            }
            state = State.CRASHED;
            try {
                ctx.dcache.shrink(); // shrink_dcache_for_umount()
                Vfs.syncFilesystem(ctx);
                // SB_ACTIVE is cleared: from now on a final iput releases a linked inode at once
                ctx.cleaner.inodes().evictInodes();
                CloseCtree.closeCtree(ctx);
                int busy = ctx.cleaner.inodes().cachedCount();
                if (busy > 0) {
                    // an inode someone still references after put_super (the printk has no level: KERN_WARNING)
                    module.log().log(LogLevel.WARNING, LogEntry.Kind.TEXT, "VFS: Busy inodes after unmount of "
                        + device.name() + ". Self-destruct in 5 seconds.  Have a nice day...");
                }
                state = State.UNMOUNTED;
            } finally {
                module.unmounted(this);
            }
        } finally {
            sUmount.writeLock().unlock();
        }
    }

    /**
     * syncfs(2) — kernel: sync_filesystem() under s_umount held shared: write back every dirty inode
     * (data through btrfs_wq_submit_bio) and the btree inode (WB_SYNC_ALL, through btrfs_wq_submit_bio
     * unless the crc32c driver is fast), wait for it all and for the ordered extents, then commit
     * (btrfs_sync_fs). A no-op on a read-only mount. File operations may run meanwhile.
     */
    public void sync() {
        sUmount.readLock().lock();
        try {
            checkMounted();
            Vfs.syncFilesystem(ctx);
        } finally {
            sUmount.readLock().unlock();
        }
    }

    // ---- files ----------------------------------------------------------------------------------

    /** creat(2) of an empty file; {@code path} is "name" or "subvolume/name". */
    public void createFile(String path) { write(() -> files.create(path)); }

    /**
     * Appends {@code data} to the file: open, write(2), close. The data goes to the page cache (the file's
     * size grows at once); writeback — sync, fsync, sync_file_range, umount, remount — allocates its
     * extent and inserts the file extent item when the ordered extent completes.
     */
    public void writeFile(String path, byte[] data) { write(() -> files.write(path, data)); }

    /** The file's contents as read(2) sees them: written extents with the page cache's dirty data on top. */
    public byte[] readFile(String path) { return read(() -> files.read(path)); }

    void handleWrite(FileHandle fh, byte[] data) { write(() -> files.append(fh.inode(), data)); }

    void handleFsync(FileHandle fh) { read(() -> { files.fsync(fh.inode()); return null; }); }

    List<OrderedExtent> handleSyncFileRange(FileHandle fh, Runnable beforeSubmit) {
        List<List<OrderedExtent>> out = new ArrayList<>(1);
        write(() -> out.add(files.syncFileRange(fh.inode(), beforeSubmit)));
        return out.get(0);
    }

    /** unlink(2). An open file keeps its inode (and gets an orphan item) until its last close. */
    public void unlink(String path) { write(() -> files.unlink(path)); }

    /** open(2) of an existing file. Works on a read-only mount. */
    public FileHandle open(String path) {
        return read(() -> {
            FileHandle fh = new FileHandle(this, files.open(path), path);
            openFiles.add(fh);
            return fh;
        });
    }

    void releaseHandle(FileHandle fh) { openFiles.remove(fh); }

    /** File names in the top directory of the default subvolume or of {@code subvolume}. */
    public List<String> list(String subvolume) { return read(() -> files.list(subvolume)); }

    /**
     * sb->s_remove_count: unlinked inodes not destroyed yet — still open, held by an ordered extent in
     * flight, queued for a delayed iput or being evicted. An RO remount is refused (EBUSY) until it is 0.
     */
    public long unlinkedInodesInUse() { return ctx.cleaner.inodes().removeCount(); }

    /** The file's size in bytes (stat's st_size): i_size, which a write grows before writeback. */
    public long fileSize(String path) { return read(() -> files.size(path)); }

    // ---- subvolumes -------------------------------------------------------------------------------

    /** btrfs subvolume create NAME — returns the new subvolume id. */
    public long createSubvolume(String name) {
        long[] id = new long[1];
        // btrfs_mksubvol(): subvol_sem shared
        write(() -> withSubvolSem(false, () -> id[0] = files.createSubvolume(name)));
        return id[0];
    }

    /** btrfs subvolume delete NAME — kernel: btrfs_delete_subvolume(), which takes subvol_sem exclusive. */
    public void deleteSubvolume(String name) { write(() -> withSubvolSem(true, () -> files.deleteSubvolume(name))); }

    // ---- quotas ---------------------------------------------------------------------------------

    /**
     * btrfs quota enable — creates the quota tree and starts a rescan. kernel: btrfs_ioctl_quota_ctl()
     * takes subvol_sem exclusive around btrfs_quota_enable().
     */
    public void quotaEnable() { write(() -> withSubvolSem(true, ctx.qgroups::quotaEnable)); }

    /** btrfs quota disable — kernel: btrfs_ioctl_quota_ctl(), subvol_sem exclusive around btrfs_quota_disable(). */
    public void quotaDisable() { write(() -> withSubvolSem(true, ctx.qgroups::quotaDisable)); }

    /** btrfs quota rescan (EINPROGRESS if one runs, EINVAL if quotas are off). */
    public void quotaRescan() { write(ctx.qgroups::rescan); }

    /** btrfs quota rescan -w: wait for a running rescan. */
    public void quotaRescanWait() {
        checkMounted();
        ctx.qgroups.waitForCompletion(true);
    }

    /** btrfs qgroup show: level-0 qgroups with referenced and exclusive bytes. */
    public List<Qgroup.Usage> qgroupUsage() { return ctx.qgroups.usage(); }

    /** The qgroup status flags (ON 1, RESCAN 2, INCONSISTENT 4). */
    public long qgroupStatusFlags() { return ctx.qgroups.statusFlags(); }

    public boolean qgroupRescanRunning() { return ctx.qgroups.rescanRunning(); }

    // ---- the cleaner ------------------------------------------------------------------------------

    /**
     * kernel: wake_up_process(fs_info->cleaner_kthread), as btrfs_commit_super and the transaction
     * kthread do (and what a remount with unchanged options reaches through the transaction kthread).
     * Returns false when the wake-up was lost: the cleaner was running (mid-pass, or between its last
     * check and going to sleep) and does not start another pass for it.
     */
    public boolean wakeCleaner() {
        checkMounted();
        return ctx.fs.cleanerKthread.wakeUpProcess();
    }

    /**
     * Runs one whole cleaner pass and returns when it is over: waits until the cleaner is asleep (its
     * current pass, if any, ended and it set TASK_INTERRUPTIBLE), wakes it, and waits until the pass that
     * wake-up started ended and the cleaner is asleep again. The deterministic "wake the cleaner and wait
     * for its pass" — no wake-up lost to a pass in progress, no polling. A read-only, unopened or closing
     * filesystem's pass does nothing, as the kernel's.
     *
     * @throws BtrfsException ETIMEDOUT-like EBUSY if the cleaner did not get there within {@code timeout}
     *         (it is parked by an umount in progress, or stuck)
     */
    public void runCleanerPass(java.time.Duration timeout) {
        checkMounted();
        long nanos = timeout.toNanos();
        long deadline = System.nanoTime() + nanos;
        var c = ctx.cleaner;
        while (true) {
            if (!c.awaitAsleep(Math.max(0, deadline - System.nanoTime()))) {
                throw new BtrfsException(Errno.EBUSY, "the cleaner of " + device.name() + " did not go to sleep within " + timeout);
            }
            long passes = c.passes();
            if (ctx.fs.cleanerKthread.wakeUpProcess()) {
                if (!c.awaitPass(passes, Math.max(0, deadline - System.nanoTime()))) {
                    throw new BtrfsException(Errno.EBUSY, "the cleaner pass of " + device.name() + " did not end within " + timeout);
                }
                return;
            }
            // someone else woke it between our check and our wake-up: that pass is not ours; go again
        }
    }

    /** Cleaner passes finished since mount (a pass that found the filesystem read-only counts too). */
    public long cleanerPasses() { return ctx.cleaner.passes(); }

    // ---- inspection -------------------------------------------------------------------------------

    /**
     * A read-only view of the lifecycle state. Works after umount too: the in-memory parts show what the
     * umount left (leaked transactions, queued delayed iputs); the root tree's orphan and root items are
     * then read from the device, as the last commit wrote them.
     */
    public Inspection inspect() {
        FsInfo fs = ctx.fs;
        List<Inspection.TransactionInfo> trans = new ArrayList<>();
        for (Transaction t : fs.transList()) {
            trans.add(new Inspection.TransactionInfo(t.transid, t.state().name(), t.handles()));
        }
        List<Inode> pending = ctx.cleaner.delayedIputs().pending();
        List<Long> iputs = pending.stream().map(Inode::ino).toList();
        List<Inspection.DelayedIput> iputInodes = pending.stream()
            .map(i -> new Inspection.DelayedIput(i.root().objectid(), i.ino())).toList();
        List<Long> orphans = new ArrayList<>();
        Map<Long, Integer> roots = new TreeMap<>();
        if (fs.treeRoot != null && state == State.MOUNTED) {
            for (TreeItem it : Trees.range(fs, fs.treeRoot, Key.MIN, Key.MAX)) {
                rootTreeItem(it.key(), it.data(), orphans, roots);
            }
        } else if (state == State.UNMOUNTED) {
            org.jbtrfs.fs.tools.DumpTree dump = org.jbtrfs.fs.tools.DumpTree.read(device, module.kernel().crc32c());
            for (var it : dump.items(ItemType.ROOT_TREE_OBJECTID)) {
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
        Set<FsState> st = EnumSet.noneOf(FsState.class);
        for (FsState s : FsState.values()) {
            if (fs.fsState.test(s)) {
                st.add(s);
            }
        }
        List<Inspection.KthreadInfo> kthreads = new ArrayList<>();
        for (var k : new org.jbtrfs.core.Kthread[] {fs.cleanerKthread, fs.transactionKthread}) {
            if (k != null) {
                kthreads.add(new Inspection.KthreadInfo(k.name(), k.taskState(), k.sleeps()));
            }
        }
        Map<String, String> blocked = new TreeMap<>(module.kernel().sched().blocked());
        for (org.jbtrfs.core.Mutex m : fs.mutexes()) {
            for (String waiter : m.waiters()) {
                blocked.put(waiter, "mutex_lock(" + m.name() + ") held by " + m.holder());
            }
        }
        return new Inspection(trans, iputs, fs.deadRootIds(), orphans, roots, fs.flags.test(FsFlag.CLEANER_RUNNING), flags,
            st, fs.sbRdonly, fs.lastTransCommitted(), fs.space.snapshot(), fs.space.spaceInfoSnapshot(), iputInodes, kthreads,
            blocked);
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

    private void checkMounted() {
        module.kernel().sched().checkPanic();
        if (state != State.MOUNTED) {
            throw new BtrfsException(Errno.EINVAL, device.name() + " is not mounted");
        }
    }

    /** A modifying operation: mnt_want_write() refuses a read-only mount with EROFS. */
    private void write(Runnable op) {
        sUmount.readLock().lock();
        try {
            checkMounted();
            if (ctx.fs.sbRdonly) {
                throw new BtrfsException(Errno.EROFS, "Read-only file system (" + device.name() + ")");
            }
            op.run();
        } finally {
            sUmount.readLock().unlock();
        }
    }

    /** down_write / down_read of fs_info->subvol_sem around {@code op}. */
    private void withSubvolSem(boolean exclusive, Runnable op) {
        var l = exclusive ? ctx.fs.subvolSem.writeLock() : ctx.fs.subvolSem.readLock();
        l.lock();
        try {
            op.run();
        } finally {
            l.unlock();
        }
    }

    private <T> T read(java.util.function.Supplier<T> op) {
        sUmount.readLock().lock();
        try {
            checkMounted();
            return op.get();
        } finally {
            sUmount.readLock().unlock();
        }
    }

    @Override
    public String toString() { return "btrfs on " + device.name() + " (" + state + (isReadOnly() ? ", ro" : ", rw") + ")"; }
}
