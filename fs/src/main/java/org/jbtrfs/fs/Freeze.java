package org.jbtrfs.fs;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.transaction.SbWriters;
import org.jbtrfs.transaction.SbWriters.Frozen;
import org.jbtrfs.transaction.SbWriters.Level;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;

/**
 * FIFREEZE and FITHAW (fsfreeze -f / -u): the VFS's freeze_super and thaw_super (fs/super.c, 5.11) and btrfs'
 * freeze_fs / unfreeze_fs (btrfs_freeze, btrfs_unfreeze in fs/btrfs/super.c). A frozen superblock holds one s_active
 * reference of its own, so an umount meanwhile only detaches its mount: the superblock — and close_ctree — goes with
 * the thaw, if that umount was the last.
 */
final class Freeze {
    private Freeze() { }

    /**
     * kernel: freeze_super() — take an s_active reference; under s_umount: EBUSY if already frozen; a read-only
     * superblock is SB_FREEZE_COMPLETE at once (no level taken, nothing to write); else SB_FREEZE_WRITE, s_umount
     * dropped while the user writers drain (sb_wait_write), SB_FREEZE_PAGEFAULT, sync_filesystem, SB_FREEZE_FS and the
     * internal writers (freezable transaction handles) drain, then ->freeze_fs; SB_FREEZE_COMPLETE.
     */
    static void freezeSuper(BtrfsModule module, VfsSuper sb) {
        module.activateSuper(sb); // atomic_inc(&sb->s_active)
        SbWriters w = sb.ctx.fs.sbWriters;
        sb.sUmount.writeLock().lock();
        try {
            if (w.isFrozen()) {
                module.deactivateSuper(sb); // deactivate_locked_super
                throw new BtrfsException(Errno.EBUSY, "freeze: " + sb.device.name() + " is already frozen");
            }
            if (sb.ctx.fs.sbRdonly()) {
                // "Nothing to do really..."
                w.setFrozen(Frozen.COMPLETE);
                return;
            }
            w.setFrozen(Frozen.WRITE);
            w.markLevelsTaken();
            // release s_umount to preserve the sb_start_write -> s_umount ordering
            sb.sUmount.writeLock().unlock();
            try {
                w.waitWrite(Level.WRITE);
            } finally {
                sb.sUmount.writeLock().lock();
            }
            w.setFrozen(Frozen.PAGEFAULT);
            w.waitWrite(Level.PAGEFAULT);
            // all writers are done, so after syncing there won't be dirty data (5.11 ignores its return)
            Vfs.syncFilesystem(sb.ctx);
            w.setFrozen(Frozen.FS);
            w.waitWrite(Level.FS);
            try {
                btrfsFreeze(sb.ctx);
            } catch (BtrfsException e) {
                sb.ctx.fs.log().log(LogLevel.ERR, org.jbtrfs.core.LogEntry.Kind.TEXT, "VFS:Filesystem freeze failed");
                w.setFrozen(Frozen.UNFROZEN);
                w.freezeUnlock(sb.ctx.fs.log());
                module.deactivateSuper(sb);
                throw e;
            }
            w.setFrozen(Frozen.COMPLETE);
            w.lockdepFreezeRelease();
        } finally {
            sb.sUmount.writeLock().unlock();
        }
    }

    /**
     * kernel: thaw_super() → thaw_super_locked() — EINVAL unless SB_FREEZE_COMPLETE; a superblock read-only now is
     * only marked unfrozen (it took no level, the freeze assumed); else ->unfreeze_fs and sb_freeze_unlock, every
     * level released; then the freeze's s_active reference is dropped (deactivate_locked_super: the last one closes
     * the filesystem here, in the thawing task).
     *
     * <p>The test is of SB_RDONLY <em>now</em>, not at freeze time: a superblock frozen read-only and made read-write
     * since (btrfs_mount's direct btrfs_remount, {@link org.jbtrfs.core.FixSwitch#MOUNT_RW_FROZEN}) is unlocked at
     * levels it never took.
     */
    static void thawSuper(BtrfsModule module, VfsSuper sb) {
        SbWriters w = sb.ctx.fs.sbWriters;
        sb.sUmount.writeLock().lock();
        try {
            if (w.frozen() != Frozen.COMPLETE) {
                throw new BtrfsException(Errno.EINVAL, "thaw: " + sb.device.name() + " is not frozen");
            }
            boolean releaseTaken = w.levelsTaken() && sb.ctx.fs.applied(org.jbtrfs.core.FixSwitch.THAW_FORCED_READONLY);
            if (sb.ctx.fs.sbRdonly() && !releaseTaken) {
                // a superblock frozen read-write and forced read-only since (an abort while frozen) keeps its levels
                // taken: every later sb_start_write waits (proposed fix: THAW_FORCED_READONLY unlocks what was taken)
                w.setFrozen(Frozen.UNFROZEN);
            } else {
                w.lockdepFreezeAcquire();
                btrfsUnfreeze(sb.ctx);
                w.setFrozen(Frozen.UNFROZEN);
                w.freezeUnlock(sb.ctx.fs.log());
            }
            module.deactivateSuper(sb); // wake_up(wait_unfrozen); deactivate_locked_super
        } finally {
            sb.sUmount.writeLock().unlock();
        }
    }

    /**
     * kernel: btrfs_freeze() — set BTRFS_FS_FROZEN, then commit the running transaction if there is one
     * (btrfs_attach_transaction_barrier: with nothing running, wait for a transaction still committing to complete).
     */
    static void btrfsFreeze(FsContext ctx) {
        ctx.fs.flags.set(FsFlag.FROZEN);
        TransHandle h = Transactions.attachBarrier(ctx.fs, ctx.fs.treeRoot(), "btrfs_freeze");
        if (h != null) {
            Transactions.commit(h);
        }
    }

    /** kernel: btrfs_unfreeze() — clear BTRFS_FS_FROZEN. */
    static void btrfsUnfreeze(FsContext ctx) {
        ctx.fs.flags.clear(FsFlag.FROZEN);
    }
}
