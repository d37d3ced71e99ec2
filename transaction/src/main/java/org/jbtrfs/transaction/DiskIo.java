package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.disk.SuperBlock;

/** The superblock and commit_super parts of fs/btrfs/disk-io.c. */
public final class DiskIo {
    private DiskIo() { }

    /** kernel: btrfs_read_dev_super() — read and validate the primary superblock of a device. */
    public static SuperBlock readSuper(org.jbtrfs.core.BlockDevice dev, org.jbtrfs.core.kernel.Crc32c crc) {
        if (dev.size() < SuperBlock.OFFSET + SuperBlock.SIZE) {
            throw new BtrfsException(Errno.EINVAL, "device " + dev.name() + " too small to hold a btrfs superblock");
        }
        byte[] b = new byte[SuperBlock.SIZE];
        dev.read(SuperBlock.OFFSET, b, 0, b.length);
        return SuperBlock.decode(b, crc, dev.name());
    }

    /**
     * kernel: write_all_supers() — the barrier (a flush of each device), then super_copy checksummed and written to each
     * device: the device with its devid, a dev-replace target with devid 0 (BTRFS_DEV_REPLACE_DEVID) in its dev_item.
     * A failed barrier or more failed superblock writes than the filesystem has devices to spare (one device: none) is
     * btrfs_handle_fs_error and -EIO; the commit then ends in cleanup_transaction.
     */
    static void writeSuper(FsInfo fs) {
        byte[] b;
        byte[] t;
        synchronized (fs.transLock) {
            b = fs.superCopy.encode(fs.kernel.crc32c());
            SuperBlock forTarget = fs.superCopy.copy();
            forTarget.devid = org.jbtrfs.core.disk.DevReplaceItem.DEV_REPLACE_DEVID;
            t = forTarget.encode(fs.kernel.crc32c());
        }
        DevReplaceControl r = fs.devReplace;
        if (fs.applied(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS) && r.numWriteErrors.get() != r.numWriteErrorsWritten) {
            // proposed (stop 72): the target missed a write whose count the replace item does not hold yet (a block of
            // this very commit, written after the item): no superblock for it, so a mount after a crash finds it behind
            t = null;
        }
        boolean barriers;
        java.util.List<Long> failed = java.util.List.of();
        // the device list as it is under device_list_mutex: a replace's finishing swaps it under the same mutex
        fs.deviceListMutex.lock();
        try {
            barriers = fs.device.barrierAllDevices();
            if (barriers) {
                failed = fs.device.writeSupers(SuperBlock.OFFSET, b, t);
            }
        } finally {
            fs.deviceListMutex.unlock();
        }
        if (!barriers) {
            Transactions.handleFsError(fs, "write_all_supers", Errno.EIO, "errors while submitting device barriers.");
            throw new BtrfsException(Errno.EIO, "errors while submitting device barriers");
        }
        for (long devid : failed) {
            fs.log().btrfs(LogLevel.ERR, fs.sbId(), "error writing primary super block to device " + devid); // wait_dev_supers
        }
        int maxErrors = 0; // btrfs_super_num_devices(super_copy) - 1: the port's filesystems have one device
        if (failed.size() > maxErrors) {
            Transactions.handleFsError(fs, "write_all_supers", Errno.EIO, failed.size() + " errors while writing supers");
            throw new BtrfsException(Errno.EIO, failed.size() + " errors while writing supers");
        }
    }

    /**
     * The proposed fix of {@link FixSwitch#DEV_REPLACE_SCRATCH_BEFORE_COMMIT}: write_dev_supers and wait for the replace
     * target alone — super_copy as the last commit left it, devid 0 in its dev_item — before the replace is STARTED, so before
     * any commit can record it. False when the write failed (the target cannot hold the superblock the mount would look
     * for).
     */
    public static boolean writeTargetSuper(FsInfo fs, org.jbtrfs.core.BlockDevice target) {
        if (!fs.device.writeTargetSuper(target, SuperBlock.OFFSET, targetSuper(fs, false))) {
            fs.log().btrfs(LogLevel.ERR, fs.sbId(), "error writing primary super block to device 0"); // wait_dev_supers
            return false;
        }
        return true;
    }

    /**
     * The proposed {@link FixSwitch#DEV_REPLACE_TARGET_WRITE_ERRORS}' restart, before the restarted copy writes the
     * target: the target's superblock as the last commit left it, devid 0, generation 0 — behind the filesystem, so a
     * mount before the next commit (which writes the target's superblock with the item that records the restart)
     * restarts the copy again instead of resuming from the cursor on disk over blocks the restarted copy rewrote (stop
     * 78, class 3f309808). False when the write failed.
     */
    public static boolean markTargetBehind(FsInfo fs, org.jbtrfs.core.BlockDevice target) {
        return fs.device.writeTargetSuper(target, SuperBlock.OFFSET, targetSuper(fs, true));
    }

    /** super_copy as the last commit left it, devid 0 in its dev_item (and generation 0 when {@code behind}), encoded. */
    private static byte[] targetSuper(FsInfo fs, boolean behind) {
        synchronized (fs.transLock) {
            SuperBlock forTarget = fs.superCopy.copy();
            forTarget.devid = org.jbtrfs.core.disk.DevReplaceItem.DEV_REPLACE_DEVID;
            if (behind) {
                forTarget.generation = 0;
            }
            return forTarget.encode(fs.kernel.crc32c());
        }
    }

    /**
     * kernel: btrfs_scratch_superblocks() — the replaced device's superblock loses its magic, so nothing finds a
     * filesystem on it any more.
     */
    public static void scratchSuperblocks(org.jbtrfs.core.BlockDevice dev) {
        byte[] zero = new byte[8];
        dev.write(SuperBlock.OFFSET + SuperBlock.MAGIC_OFF, zero, 0, zero.length);
        dev.flush();
    }

    /**
     * kernel: btrfs_commit_super() in fs/btrfs/disk-io.c — run delayed iputs under cleaner_mutex, wake the
     * cleaner, wait for running orphan cleanups (cleanup_work_sem as a barrier), then join and commit a
     * transaction (creating one if none runs).
     */
    public static void commitSuper(FsInfo fs) {
        fs.cleanerMutex.lock();
        try {
            fs.delayedIputRunner().run();
        } finally {
            fs.cleanerMutex.unlock();
        }
        Kthread cleaner = fs.cleanerKthread();
        if (cleaner != null) {
            cleaner.wakeUpProcess();
        }
        fs.cleanupWorkSem.writeLock().lock();
        fs.cleanupWorkSem.writeLock().unlock();
        TransHandle h = Transactions.join(fs, fs.treeRoot(), "btrfs_commit_super");
        Transactions.commit(h);
    }

    /**
     * Whether close_ctree runs btrfs_error_commit_super before its workqueue flushes: df94a342efb4 moved it there,
     * in front of the later kernels' flush block ({@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT}), which it needs.
     */
    public static boolean errorCommitSuperEarly(FsInfo fs) {
        return fs.applied(FixSwitch.ERROR_COMMIT_SUPER_EARLY) && fs.applied(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT);
    }

    /**
     * kernel: btrfs_error_commit_super() — on error or abort at unmount: tear down the transactions
     * without writing (btrfs_cleanup_transaction, which waits for the ordered extents), run delayed iputs
     * under cleaner_mutex, cleanup_work_sem barrier. With {@link FixSwitch#ERROR_COMMIT_SUPER_EARLY}
     * (df94a342efb4) close_ctree calls it before its flushes, and those run the delayed iputs instead.
     */
    public static void errorCommitSuper(FsInfo fs) {
        Transactions.cleanupTransaction(fs);
        if (!errorCommitSuperEarly(fs)) {
            fs.cleanerMutex.lock();
            try {
                fs.delayedIputRunner().run();
            } finally {
                fs.cleanerMutex.unlock();
            }
        }
        fs.cleanupWorkSem.writeLock().lock();
        fs.cleanupWorkSem.writeLock().unlock();
    }
}
