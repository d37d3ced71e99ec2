package org.jbtrfs.fs;

import org.jbtrfs.core.kernel.RwSemaphore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;

/**
 * The VFS superblock of one mounted btrfs (struct super_block): one per device however many times it is
 * mounted — sget() finds the existing one (btrfs_test_super: the same fs_devices) — with its fs_info
 * ({@link FsContext}), s_umount, s_active and SB_RDONLY (kept in fs_info as {@code sbRdonly}). Each mount point
 * is a {@link Btrfs}. The cleaner and the transaction kthread, the workqueues and the caches are the
 * superblock's: started once by open_ctree, stopped once by close_ctree when the last mount goes.
 */
final class VfsSuper {
    enum State { ACTIVE, DEAD, CRASHED }

    final BtrfsModule module;
    final BlockDevice device;
    /** Set once, when open_ctree filled the superblock ({@link #setBorn}), before anyone but its mounter can reach it. */
    FsContext ctx;
    /**
     * sb->s_umount: remount and umount exclusive, syncfs shared. File operations do not take it (the kernel's
     * syscalls do not): they meet a remount only through {@link #writers} and {@link #readonlyRemount}.
     */
    final RwSemaphore sUmount;
    /**
     * The writer counts of the superblock's mounts (mnt_get_writers) as one lock: a modifying syscall holds the
     * read side from mnt_want_write() to mnt_drop_write(); sb_prepare_remount_readonly() takes the write side
     * (MNT_WRITE_HOLD on every mount) to test that none is in flight.
     */
    final ReentrantReadWriteLock writers = new ReentrantReadWriteLock();
    /**
     * sb->s_readonly_remount: set by sb_prepare_remount_readonly() once no writer is in flight, until
     * reconfigure_super() has set the new flags (or cancelled): a mnt_want_write() meanwhile is EROFS. 5.11 sets it
     * for RO remounts only (an RO→RW remount's writes race the rest of btrfs_remount once SB_RDONLY is clear).
     */
    volatile boolean readonlyRemount;
    /**
     * Files open for writing on the superblock's mounts: each holds the write access do_dentry_open() took until its
     * last fput drops it (FMODE_WRITER), so mnt_get_writers() counts it as long as it is open. Raised under the read
     * side of {@link #writers} (as mnt_want_write), tested under its write side by sb_prepare_remount_readonly().
     */
    final java.util.concurrent.atomic.AtomicInteger openWriters = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * sb->s_active: one reference per mount and per mount in progress (btrfs_mount holds one from sget until
     * it returns). Guarded by the module's sb_lock ({@link BtrfsModule} supers monitor).
     */
    int active = 1;
    /** s_active reached 0: generic_shutdown_super is running; sget waits for it to finish (grab_super). Guarded by sb_lock. */
    boolean dying;
    /** The mount points (the kernel's sb->s_mounts). */
    final List<Btrfs> mounts = new CopyOnWriteArrayList<>();
    volatile State state = State.ACTIVE;

    /** A superblock sget put on the list, not filled yet (SB_BORN clear). */
    VfsSuper(BtrfsModule module, BlockDevice device) {
        this.module = module;
        this.device = device;
        this.sUmount = new RwSemaphore("&type->s_umount_key", module.kernel().lockdep());
    }

    /** SB_BORN: open_ctree filled it. Guarded by sb_lock. */
    boolean born() { return ctx != null; }

    /** open_ctree succeeded: the superblock is usable (SB_BORN). Called under sb_lock. */
    void setBorn(FsContext filled) {
        ctx = filled;
        filled.sb = this;
    }

    /**
     * kernel: btrfs_kill_super() → generic_shutdown_super(): shrink_dcache_for_umount, sync_filesystem
     * (no-op when RO), evict_inodes (the cached inodes nobody references), close_ctree() (btrfs_put_super),
     * then the VFS's "Busy inodes after unmount" check. The caller holds s_umount exclusively. A kernel BUG
     * or oops inside close_ctree is thrown to the caller, as the kernel kills the umount task; the superblock
     * is then gone without a clean close (the module can still be unloaded and reports what leaked).
     */
    void killSb() {
        state = State.CRASHED;
        ctx.cleaner.kickWaiters();
        ctx.dcache.shrink(); // shrink_dcache_for_umount()
        Vfs.syncFilesystem(ctx); // its error is ignored: the umount goes on (a failed commit aborted, forcing RO)
        // SB_ACTIVE is cleared: from now on a final iput releases a linked inode at once
        ctx.cleaner.inodes().deactivate();
        ctx.cleaner.inodes().evictInodes();
        CloseCtree.closeCtree(ctx);
        // btrfs_kill_super → btrfs_free_fs_info(): kfree(balance_ctl), and fs_info itself for whatever still uses it
        ctx.fs.balance.freeFsInfo(module.log());
        ctx.fs.devReplace.freeFsInfo(module.log());
        int busy = ctx.cleaner.inodes().cachedCount();
        if (busy > 0) {
            // an inode someone still references after put_super (the printk has no level: KERN_WARNING)
            module.log().log(LogLevel.WARNING, LogEntry.Kind.TEXT, "VFS: Busy inodes after unmount of "
                + device.name() + ". Self-destruct in 5 seconds.  Have a nice day...");
        }
        state = State.DEAD;
    }

    /** After a kernel panic: the superblock and every mount of it are gone without a close_ctree. */
    void crashed() {
        state = State.CRASHED;
        for (Btrfs m : mounts) {
            m.crashed();
        }
    }

    @Override
    public String toString() { return "superblock of " + device.name() + " (" + state + ", " + mounts.size() + " mounts)"; }
}
