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
     * RO), then close_ctree(). EBUSY while files are open; EINVAL when not mounted. A kernel BUG or oops
     * inside close_ctree is thrown to the caller, as the kernel kills the umount task; the filesystem is
     * then gone (the module can still be unloaded and reports what leaked).
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
                if (!ctx.fs.sbRdonly) {
                    Vfs.syncFs(ctx);
                }
                CloseCtree.closeCtree(ctx);
                state = State.UNMOUNTED;
            } finally {
                module.unmounted(this);
            }
        } finally {
            sUmount.writeLock().unlock();
        }
    }

    /** sync(2) — kernel: btrfs_sync_fs(); a no-op on a read-only mount. */
    public void sync() {
        sUmount.writeLock().lock();
        try {
            checkMounted();
            if (!ctx.fs.sbRdonly) {
                Vfs.syncFs(ctx);
            }
        } finally {
            sUmount.writeLock().unlock();
        }
    }

    // ---- files ----------------------------------------------------------------------------------

    /** creat(2) of an empty file; {@code path} is "name" or "subvolume/name". */
    public void createFile(String path) { write(() -> files.create(path)); }

    /** Appends {@code data} to the file (a new data extent). */
    public void writeFile(String path, byte[] data) { write(() -> files.write(path, data)); }

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

    /** The file's size in bytes, from its inode item. */
    public long fileSize(String path) { return read(() -> files.size(path)); }

    // ---- subvolumes -------------------------------------------------------------------------------

    /** btrfs subvolume create NAME — returns the new subvolume id. */
    public long createSubvolume(String name) {
        long[] id = new long[1];
        write(() -> id[0] = files.createSubvolume(name));
        return id[0];
    }

    /** btrfs subvolume delete NAME — kernel: btrfs_delete_subvolume(). */
    public void deleteSubvolume(String name) { write(() -> files.deleteSubvolume(name)); }

    // ---- quotas ---------------------------------------------------------------------------------

    /** btrfs quota enable — creates the quota tree and starts a rescan. */
    public void quotaEnable() { write(ctx.qgroups::quotaEnable); }

    /** btrfs quota disable */
    public void quotaDisable() { write(ctx.qgroups::quotaDisable); }

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
        // under s_umount, like every user entry point: close_ctree frees the cleaner's task_struct, and a
        // wake-up after that would be the port's own use-after-free, not the kernel's
        return read(() -> ctx.fs.cleanerKthread.wakeUpProcess());
    }

    /**
     * Runs one whole cleaner pass and returns when it is over: waits until the cleaner is asleep (its
     * current pass, if any, ended and it set TASK_INTERRUPTIBLE), wakes it, and waits until the pass that
     * wake-up started ended and the cleaner is asleep again. The deterministic "wake the cleaner and wait
     * for its pass" — no wake-up lost to a pass in progress, no polling. A read-only, unopened or closing
     * filesystem's pass does nothing, as the kernel's.
     *
     * @throws BtrfsException EBUSY at once if the cleaner is parked or parking (an umount in progress: no
     *         pass will come), or if it did not get there within {@code timeout} (stuck)
     */
    public void runCleanerPass(java.time.Duration timeout) {
        // under s_umount (shared): an umount waits for the pass instead of freeing the cleaner under it
        read(() -> {
            cleanerPass(timeout);
            return null;
        });
    }

    private void cleanerPass(java.time.Duration timeout) {
        long nanos = timeout.toNanos();
        long deadline = System.nanoTime() + nanos;
        var c = ctx.cleaner;
        while (true) {
            if (!c.awaitAsleep(Math.max(0, deadline - System.nanoTime()))) {
                throw new BtrfsException(Errno.EBUSY, "the cleaner of " + device.name() + " did not go to sleep within " + timeout);
            }
            if (c.parking()) {
                throw new BtrfsException(Errno.EBUSY, "the cleaner of " + device.name() + " is parked: the filesystem is closing");
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

    /**
     * btrfs subvolume sync: waits until every subvolume deleted so far (root item refs 0 now) is dropped —
     * its root item gone — by running whole cleaner passes ({@link #runCleanerPass}, one dead root each),
     * the event the drop gives, no polling. It does not wait for what no pass will drop: EROFS on a
     * read-only mount (the cleaner sleeps), EBUSY when a deleted subvolume is not queued on dead_roots
     * (a file of it is still open, or the drop was never resumed); ETIMEDOUT-like EBUSY past {@code timeout}.
     * Returns the number of subvolumes it waited for.
     */
    public int subvolumeSync(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        java.util.Set<Long> waiting = deletedSubvolumes();
        int n = waiting.size();
        while (!waiting.isEmpty()) {
            sUmount.readLock().lock();
            try {
                checkMounted();
                if (ctx.fs.sbRdonly) {
                    throw new BtrfsException(Errno.EROFS, "subvolume sync on read-only " + device.name() + ": nothing is dropped");
                }
            } finally {
                sUmount.readLock().unlock();
            }
            if (ctx.fs.deadRootIds().isEmpty() && !ctx.fs.flags.test(FsFlag.CLEANER_RUNNING)) {
                throw new BtrfsException(Errno.EBUSY, "deleted subvolumes " + waiting + " of " + device.name()
                    + " are not queued for dropping (still in use)");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new BtrfsException(Errno.EBUSY, "subvolumes " + waiting + " of " + device.name() + " not dropped within " + timeout);
            }
            runCleanerPass(java.time.Duration.ofNanos(left));
            waiting.retainAll(deletedSubvolumes());
        }
        return n;
    }

    /** Subvolume ids whose root item says refs 0 (deleted, not yet dropped). */
    private java.util.Set<Long> deletedSubvolumes() {
        return read(() -> {
            java.util.Set<Long> ids = new java.util.TreeSet<>();
            FsInfo fs = ctx.fs;
            for (TreeItem it : Trees.range(fs, fs.treeRoot, new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.ROOT_ITEM, 0),
                new Key(ItemType.LAST_FREE_OBJECTID, ItemType.ROOT_ITEM, -1L))) {
                if (it.key().type() == ItemType.ROOT_ITEM && RootItem.decode(it.data()).refs() == 0) {
                    ids.add(it.key().objectid());
                }
            }
            return ids;
        });
    }

    /** Cleaner passes finished since mount (a pass that found the filesystem read-only counts too). */
    public long cleanerPasses() { return ctx.cleaner.passes(); }

    // ---- inspection -------------------------------------------------------------------------------

    /** A read-only view of the lifecycle state (works after umount too, on what is left). */
    public Inspection inspect() {
        FsInfo fs = ctx.fs;
        List<Inspection.TransactionInfo> trans = new ArrayList<>();
        for (Transaction t : fs.transList()) {
            trans.add(new Inspection.TransactionInfo(t.transid, t.state().name(), t.handles()));
        }
        List<Long> iputs = ctx.cleaner.delayedIputs().pending().stream().map(Inode::ino).toList();
        List<Long> orphans = new ArrayList<>();
        Map<Long, Integer> roots = new TreeMap<>();
        if (fs.treeRoot != null && state == State.MOUNTED) {
            for (TreeItem it : Trees.range(fs, fs.treeRoot, Key.MIN, Key.MAX)) {
                if (it.key().type() == ItemType.ORPHAN_ITEM && it.key().objectid() == ItemType.ORPHAN_OBJECTID) {
                    orphans.add(it.key().offset());
                } else if (it.key().type() == ItemType.ROOT_ITEM && (it.key().objectid() == ItemType.FS_TREE_OBJECTID
                    || it.key().objectid() >= ItemType.FIRST_FREE_OBJECTID
                    && Long.compareUnsigned(it.key().objectid(), ItemType.LAST_FREE_OBJECTID) < 0)) {
                    roots.put(it.key().objectid(), RootItem.decode(it.data()).refs());
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
        return new Inspection(trans, iputs, fs.deadRootIds(), orphans, roots, fs.flags.test(FsFlag.CLEANER_RUNNING), flags,
            st, fs.sbRdonly, fs.lastTransCommitted());
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
