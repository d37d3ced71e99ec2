package org.jbtrfs.fs;

import java.util.Arrays;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.DevReplaceItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.DevReplaceControl;
import org.jbtrfs.transaction.DevReplaceControl.State;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.ExclusiveOperation;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;

/**
 * Device replace: fs/btrfs/dev-replace.c of 5.11 for the port's one device (devid 1, single profile) — the item in the
 * device tree, the ioctl's start (the copy is scrub's, {@link Scrub#scrubDevReplace}), its end that swaps the target in
 * and scratches the old device's superblock, cancel, status, the suspend of an RO remount and of close_ctree, and the
 * resume of a read-write mount in a btrfs-devrepl kthread. Writes go to the target too while the replace runs
 * ({@link org.jbtrfs.transaction.MappedDevice}). Not ported: degraded mounts and a missing device, RAID profiles,
 * reada, sysfs, dev stats.
 */
final class DevReplace {
    /** The port's one device. */
    static final long SRC_DEVID = 1;

    private DevReplace() { }

    private static String name(BlockDevice d) { return d == null ? "<missing disk>" : d.name(); }

    /**
     * kernel: btrfs_init_dev_replace() — open_ctree, after btrfs_recover_balance: the item, if any, becomes the state;
     * a replace STARTED or SUSPENDED needs its target (devid 0) among the devices ("btrfs dev scan": the module's devices
     * and the targets it has seen), else the mount fails (-EIO: the port has no degraded mount); a target without an
     * active item fails it too (-EUCLEAN). The target found: writes are duplicated to it from now on.
     */
    static void initDevReplace(BtrfsModule module, FsInfo fs) {
        DevReplaceControl r = fs.devReplace;
        byte[] raw = Trees.lookup(fs, fs.devRoot(), DevReplaceItem.KEY);
        DevReplaceItem item = raw == null ? null : DevReplaceItem.decode(raw);
        if (raw != null && item == null) {
            fs.log().warn(fs.sbId(), "dev_replace entry found has unexpected size, ignore entry");
        }
        if (item == null) {
            // "We don't have a replace item or it's corrupted. If there is a replace target, fail the mount." (only a
            // device the module gave a replace can hold a superblock of devid 0: those are the ones looked at)
            BlockDevice stray = findTarget(module.replaceTargetsSeen(), fs);
            if (stray != null && fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT)) {
                // proposed: the target of a replace that never committed its start (a crash, an abort), kept unscratched
                fs.log().warn(fs.sbId(), "ignoring the target " + stray.name() + " of a replace that never started");
            } else if (stray != null) {
                fs.log().error(fs.sbId(), "found replace target device without a valid replace item");
                throw new BtrfsException(Errno.EUCLEAN, "replace target " + stray.name() + " without a valid replace item on "
                    + fs.sbId());
            }
            return;
        }
        BlockDevice target = findTarget(module.scannedDevices(), fs);
        r.rwsem.writeLock().lock();
        try {
            r.srcDevid = item.srcDevid();
            r.contReadingFromSrcdevMode = item.contReadingFromSrcdevMode();
            r.replaceState = State.of(item.replaceState());
            r.timeStarted = item.timeStarted();
            r.timeStopped = item.timeStopped();
            r.numWriteErrors.set(item.numWriteErrors());
            r.numWriteErrorsWritten = item.numWriteErrors();
            r.numUncorrectableReadErrors.set(item.numUncorrectableReadErrors());
            r.cursorLeft = item.cursorLeft();
            r.committedCursorLeft = item.cursorLeft();
            r.cursorLeftLastWriteOfItem = item.cursorLeft();
            r.cursorRight = item.cursorRight();
            r.isValid = true;
            r.itemNeedsWriteback = false;
            if (r.replaceState == null) {
                return; // a state 5.11's switch has no case for: left as read
            }
            switch (r.replaceState) {
                case NEVER_STARTED, FINISHED, CANCELED -> {
                    if (target != null && fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT)) {
                        // proposed: the target of a replace that ended (its scratch lost to a crash after the commit of
                        // the end) or never started (the start failed after writing it): a leftover, not a device of the
                        // filesystem
                        fs.log().warn(fs.sbId(), "ignoring the target " + target.name() + " of an ended replace");
                        target = null;
                    }
                    if (target != null) {
                        fs.log().error(fs.sbId(), "replace devid present without an active replace item");
                        throw new BtrfsException(Errno.EUCLEAN, "replace target " + target.name() + " present without an "
                            + "active replace item on " + fs.sbId());
                    }
                    r.srcdev = null;
                    r.tgtdev = null;
                }
                case STARTED, SUSPENDED -> {
                    r.srcdev = item.srcDevid() == SRC_DEVID ? fs.device.source() : null;
                    r.tgtdev = target;
                    if (r.srcdev == null) {
                        fs.log().warn(fs.sbId(), "cannot mount because device replace operation is ongoing and");
                        fs.log().warn(fs.sbId(), "srcdev (devid " + item.srcDevid() + ") is missing, need to run 'btrfs dev scan'?");
                        throw new BtrfsException(Errno.EIO, "dev-replace source devid " + item.srcDevid() + " missing on "
                            + fs.sbId());
                    }
                    if (target == null) {
                        fs.log().warn(fs.sbId(), "cannot mount because device replace operation is ongoing and");
                        fs.log().warn(fs.sbId(), "tgtdev (devid 0) is missing, need to run 'btrfs dev scan'?");
                        throw new BtrfsException(Errno.EIO, "dev-replace target missing on " + fs.sbId());
                    }
                    if (fs.applied(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS)) {
                        restartIfTargetBehind(fs, r, target);
                    }
                    // btrfs_init_dev_stats read its counters (devid 0) with the other devices'
                    org.jbtrfs.transaction.DevStats.initDevice(fs, target, DevReplaceItem.DEV_REPLACE_DEVID);
                    fs.device.setTarget(target); // in fs_devices: btrfs_map_block duplicates writes to it
                }
            }
        } finally {
            r.rwsem.writeLock().unlock();
        }
    }

    /**
     * The proposed {@link FixSwitch#DEV_REPLACE_TARGET_WRITE_ERRORS} at mount: a target whose superblock is older than
     * the filesystem's missed a commit's writes whose count never reached the disk (write_all_supers skips the target's
     * superblock while it has write errors the replace item does not hold yet; stop 72, class 2530fa4a: the commit
     * after them aborted) — and so may one whose superblock is newer (stop 75, class 6e009eda: the next commit wrote the
     * target's superblock with the count, then failed to write the source's). Its copy restarts from the beginning:
     * every block the source has is copied again.
     */
    private static void restartIfTargetBehind(FsInfo fs, DevReplaceControl r, BlockDevice target) {
        long targetGen = DiskIo.readSuper(target, fs.kernel.crc32c()).generation;
        long fsGen = fs.superGeneration();
        if (targetGen == fsGen) {
            return;
        }
        // behind: a commit skipped its superblock (errors its item did not hold). Ahead (stop 75, explorer class 6e009eda):
        // a later commit wrote the target's superblock and failed on the source's — the target's count of that commit's
        // item never reached the filesystem, whose item says no write failed; either way the copy is not to be trusted
        fs.log().warn(fs.sbId(), "dev_replace target " + target.name() + " missed writes (generation " + targetGen + ", "
            + "the filesystem's " + fsGen + "), restarting its copy");
        r.cursorLeft = 0;
        r.committedCursorLeft = 0;
        r.cursorLeftLastWriteOfItem = 0;
        r.itemNeedsWriteback = true;
        r.restartUnrecorded = true; // the copy marks the target behind before it writes (a read-only mount writes nothing)
    }

    /** btrfs_find_device(fs_devices, BTRFS_DEV_REPLACE_DEVID): a device whose superblock is this filesystem's, devid 0. */
    private static BlockDevice findTarget(java.util.Collection<BlockDevice> devices, FsInfo fs) {
        for (BlockDevice d : devices) {
            if (d == fs.device.source()) {
                continue;
            }
            try {
                SuperBlock sb = DiskIo.readSuper(d, fs.kernel.crc32c());
                if (sb.devid == DevReplaceItem.DEV_REPLACE_DEVID && Arrays.equals(sb.fsid, fs.fsid())) {
                    return d;
                }
            } catch (BtrfsException e) {
                // no btrfs on it: not one of this filesystem's devices
            }
        }
        return null;
    }

    /**
     * kernel: btrfs_ioctl_dev_replace(BTRFS_IOCTL_DEV_REPLACE_CMD_START) — no write access taken (mnt_want_write_file is
     * not called; {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS}, proposed, takes it — the caller's): -EROFS on a
     * read-only filesystem, the exclusive operation or BTRFS_ERROR_DEV_EXCL_RUN_IN_PROGRESS,
     * then btrfs_dev_replace_by_ioctl → btrfs_dev_replace_start; the exclusive operation is given back whatever the end.
     */
    static DevReplaceResult ioctlStart(FsContext ctx, long srcDevid, BlockDevice target) {
        FsInfo fs = ctx.fs;
        if (fs.sbRdonly()) {
            throw new BtrfsException(Errno.EROFS, "replace start: " + fs.sbId() + " is read-only");
        }
        if (!fs.exclop.start(ExclusiveOperation.Op.DEV_REPLACE)) {
            throw new BtrfsException(Errno.EINPROGRESS, "BTRFS_ERROR_DEV_EXCL_RUN_IN_PROGRESS on " + fs.sbId());
        }
        try {
            return start(ctx, srcDevid, target);
        } finally {
            fs.exclop.finish();
        }
    }

    /**
     * kernel: btrfs_dev_replace_start() — the source by devid (-ENOENT), a commit of the running transaction, the target
     * (btrfs_init_dev_replace_tgtdev), the state STARTED (writes duplicated from here on), the ordered extents waited
     * for, the state committed, then the copy (btrfs_scrub_dev for the replace) and btrfs_dev_replace_finishing.
     */
    private static DevReplaceResult start(FsContext ctx, long srcDevid, BlockDevice target) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        if (srcDevid != SRC_DEVID) {
            throw new BtrfsException(Errno.ENOENT, "replace start: no device of devid " + srcDevid + " in " + fs.sbId());
        }
        BlockDevice src = fs.device.source();
        // "Here we commit the transaction to make sure commit_total_bytes of all the devices are updated."
        TransHandle h = Transactions.attach(fs, fs.treeRoot(), "btrfs_dev_replace_start");
        if (h != null) {
            Transactions.commit(h);
        }
        initTgtdev(ctx, target, src);
        if (fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT) && !DiskIo.writeTargetSuper(fs, target)) {
            // proposed: the target gets its superblock (devid 0) before any commit can record the replace: a crash that
            // keeps the source's superblock of such a commit and not the target's still finds the target. Written before
            // the state is STARTED (stop 72, class 60bba383: written after it, a commit in between — the transaction
            // kthread's — had recorded STARTED when the write failed); a target that cannot take it ends the start here
            throw new BtrfsException(Errno.EIO, "replace start: the superblock write to the target " + target.name()
                + " failed");
        }
        r.rwsem.writeLock().lock();
        try {
            if (r.replaceState == State.STARTED || r.replaceState == State.SUSPENDED) {
                throw fs.log().bug("dev-replace.c", 499, "ASSERT(0): a replace is already started");
            }
            r.contReadingFromSrcdevMode = DevReplaceControl.CONT_READING_ALWAYS;
            r.srcdev = src;
            r.srcDevid = SRC_DEVID;
            r.tgtdev = target;
            fs.log().info(fs.sbId(), "dev_replace from " + src.name() + " (devid " + SRC_DEVID + ") to " + target.name()
                + " started");
            // "from now on, the writes to the srcdev are all duplicated to go to the tgtdev as well"
            r.replaceState = State.STARTED;
            r.timeStarted = System.currentTimeMillis() / 1000;
            r.cursorLeft = 0;
            r.committedCursorLeft = 0;
            r.cursorLeftLastWriteOfItem = 0;
            r.cursorRight = 0;
            r.isValid = true;
            r.itemNeedsWriteback = true;
            r.numWriteErrors.set(0);
            r.numWriteErrorsWritten = 0; // (a previous replace's count is not this one's)
            r.numUncorrectableReadErrors.set(0);
            // btrfs_init_dev_replace_tgtdev: a new btrfs_device, its statistics valid and 0
            org.jbtrfs.transaction.DevStats.of(fs.kernel).newTarget(fs.fsid(), target);
            fs.device.setTarget(target);
        } finally {
            r.rwsem.writeLock().unlock();
        }
        try {
            ctx.ordered.waitOrderedRoots();
            fs.kernel.hooks().arrive(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION);
            // "Commit dev_replace state and reserve 1 item for it."
            h = Transactions.start(fs, fs.treeRoot(), 1, "btrfs_dev_replace_start");
        } catch (BtrfsException e) {
            r.rwsem.writeLock().lock();
            try {
                r.replaceState = State.NEVER_STARTED;
                r.srcdev = null;
                r.tgtdev = null;
            } finally {
                r.rwsem.writeLock().unlock();
            }
            if (fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT)) {
                // proposed: a commit (the transaction kthread's) may have written the STARTED state already: keep the
                // target's superblock; a mount that finds no item ignores it
                fs.device.setTarget(null);
            } else {
                destroyTgtdev(fs, target); // leave:
            }
            throw e;
        }
        commitWarnOnError(fs, h, 563);
        // "the disk copy procedure reuses the scrub code"
        Errno ret = scrubForReplace(ctx, 0, src.size());
        fs.kernel.hooks().arrive(Hook.DEV_REPLACE_BEFORE_FINISHING);
        ret = finishing(ctx, ret);
        if (ret == Errno.EINPROGRESS) {
            return DevReplaceResult.SCRUB_INPROGRESS;
        }
        if (ret != null) {
            throw new BtrfsException(ret, "dev_replace from " + src.name() + " to " + target.name() + " ended with "
                + ret.ret());
        }
        return DevReplaceResult.NO_ERROR;
    }

    /**
     * kernel: btrfs_init_dev_replace_tgtdev() — the target opened exclusively (-EBUSY while mounted), not one of this
     * filesystem's devices ("target device is in the filesystem!", -EEXIST), at least the source's size ("target device
     * is smaller than source device!", -EINVAL).
     */
    private static void initTgtdev(FsContext ctx, BlockDevice target, BlockDevice src) {
        FsInfo fs = ctx.fs;
        if (target == src || target == fs.device.target()) {
            fs.log().error(fs.sbId(), "target device is in the filesystem!");
            throw new BtrfsException(Errno.EEXIST, "replace target " + target.name() + " is a device of " + fs.sbId());
        }
        if (ctx.module.isMounted(target)) {
            throw new BtrfsException(Errno.EBUSY, "replace target " + target.name() + " is in use (mounted)");
        }
        if (target.size() < src.size()) {
            fs.log().error(fs.sbId(), "target device is smaller than source device!");
            throw new BtrfsException(Errno.EINVAL, "replace target " + target.name() + " (" + target.size()
                + " bytes) is smaller than " + src.name() + " (" + src.size() + " bytes)");
        }
        ctx.module.rememberReplaceTarget(target); // in fs_devices, as a scan would register it
    }

    /** btrfs_scrub_dev(fs_info, srcdev->devid, start, end, &progress, 0, 1): the copy; its error, or null. */
    private static Errno scrubForReplace(FsContext ctx, long start, long end) {
        try {
            Scrub.scrubDevReplace(ctx, start, end);
            return null;
        } catch (BtrfsException e) {
            return e.errno();
        }
    }

    /**
     * kernel: btrfs_dev_replace_finishing() — under lock_finishing_cancel_unmount: nothing if the replace is no longer
     * STARTED (suspended by an umount or RO remount, or cancelled); else delalloc written and the ordered extents
     * waited for, a commit, and then the end: CANCELED with the target dropped if the copy failed (its error returned),
     * or FINISHED — the target swapped in once the bios in flight drained, the old device's superblock scratched, and
     * the superblocks written by one more commit. Returns the error, or null.
     */
    static Errno finishing(FsContext ctx, Errno scrubRet) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        r.use("btrfs_dev_replace_finishing");
        // "don't allow cancel or unmount to disturb the finishing procedure"
        r.lockFinishingCancelUnmount.lock();
        boolean swapFixed = fs.applied(FixSwitch.DEV_REPLACE_SWAP_BEFORE_SUPERS);
        boolean listLocked = false; // device_list_mutex (and, fixed, tree_log_mutex) held
        try {
            BlockDevice tgt;
            BlockDevice src;
            r.rwsem.readLock().lock();
            try {
                if (r.replaceState != State.STARTED) {
                    return null; // "was the operation canceled, or is it finished?"
                }
                tgt = r.tgtdev;
                src = r.srcdev;
            } finally {
                r.rwsem.readLock().unlock();
            }
            // "flush all outstanding I/O and inode extent mappings before the copy operation is declared as being finished"
            TransHandle h;
            try {
                ctx.writeback.startDelallocRoots();
                ctx.ordered.waitOrderedRoots();
                h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_dev_replace_finishing");
            } catch (BtrfsException e) {
                return e.errno(); // the replace stays STARTED: its kthread or ioctl gives the exclusive operation back
            }
            boolean fixed = fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
            // the loop until src_device's post_commit_list is empty: the port has none
            if (!commitWarnOnError(fs, h, 741) && fixed) {
                // proposed: a commit that failed ends the procedure here, the replace left STARTED as the disk has it
                return Errno.EIO;
            }
            boolean errorsFixed = fs.applied(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS);
            if (scrubRet == null && r.numWriteErrors.get() > 0 && errorsFixed) {
                // proposed: the target missed writes since the copy's last check (scrub_enumerate_chunks' -EIO), this
                // procedure's commit's among them: not a device to swap in. (A write that fails between here and the
                // drain of the bios before the swap is checked once they have drained, below.)
                scrubRet = Errno.EIO;
            }
            fs.kernel.hooks().arrive(Hook.DEV_REPLACE_FINISHING_AFTER_COMMIT);
            if (swapFixed) {
                // proposed: a commit between its btrfs_run_dev_replace (STARTED) and its write_all_supers holds
                // tree_log_mutex: the state change and the swap wait until its superblocks are on the old device list
                fs.treeLogMutex.lock();
            }
            // "Prevent write_all_supers() during the finishing procedure" (chunk_mutex, which keeps new chunks off the
            // source, is not modelled: the port allocates no chunk on a device by devid)
            fs.deviceListMutex.lock();
            listLocked = true;
            r.rwsem.writeLock().lock();
            boolean written = false;
            try {
                r.replaceState = scrubRet != null ? State.CANCELED : State.FINISHED;
                r.tgtdev = null;
                r.srcdev = null;
                r.timeStopped = System.currentTimeMillis() / 1000;
                r.itemNeedsWriteback = true;
                if (scrubRet != null) {
                    if (scrubRet != Errno.ECANCELED) {
                        fs.log().error(fs.sbId(), "btrfs_scrub_dev(" + name(src) + ", " + SRC_DEVID + ", " + name(tgt)
                            + ") failed " + scrubRet.ret());
                    }
                } else {
                    if (!errorsFixed) {
                        logFinished(fs, src, tgt); // (the proposed fix says it once the swap is decided, below)
                    }
                    written = true;
                }
            } finally {
                r.rwsem.writeLock().unlock();
            }
            // btrfs_rm_dev_replace_blocked: the bios in flight drain; then the target is destroyed, or replaces the source
            // (btrfs_dev_replace_update_device_in_mapping_tree, btrfs_rm_dev_replace_remove_srcdev); then unblocked
            if (!written) {
                unlockDeviceList(fs, swapFixed); // error: the mutexes first, then the target destroyed
                listLocked = false;
                if (fixed && !commitState(fs)) {
                    // proposed: the CANCELED state first on disk, then the target gone; a commit that failed keeps the
                    // target (the next mount finds the replace STARTED, as the disk has it, and its target)
                    return scrubRet;
                }
                BlockDevice gone = fs.device.removeBlocked(false);
                if (gone != null) {
                    DiskIo.scratchSuperblocks(gone); // btrfs_destroy_dev_replace_tgtdev
                }
                return scrubRet;
            }
            BlockDevice gone = fs.device.removeBlocked(true, () -> !errorsFixed || r.numWriteErrors.get() == 0);
            boolean dropped = gone == tgt;
            if (dropped) {
                // proposed (stop 72, class 063f1845): a bio in flight at the check above failed its write to the target
                // before the drain — the target was dropped instead: the replace ends CANCELED, as the copy would
                r.rwsem.writeLock().lock();
                try {
                    r.replaceState = State.CANCELED;
                    r.itemNeedsWriteback = true;
                } finally {
                    r.rwsem.writeLock().unlock();
                }
            } else {
                // "Increment dev_stats_ccnt so that btrfs_run_dev_stats() will update on-disk dev stats value during
                // commit transaction": the target's counters, devid 1's now
                org.jbtrfs.transaction.DevStats.markChanged(fs, tgt);
            }
            unlockDeviceList(fs, swapFixed); // "this is again a consistent state where no dev_replace procedure is running"
            listLocked = false;
            if (dropped) {
                return cancelAfterDrain(fs, src, tgt, fixed);
            }
            if (errorsFixed) {
                logFinished(fs, src, tgt);
            }
            if (fixed) {
                // proposed: "write back the superblocks" first; the old device scratched only once the filesystem's
                // state without it is on disk
                if (commitState(fs)) {
                    DiskIo.scratchSuperblocks(gone);
                }
                return null;
            }
            DiskIo.scratchSuperblocks(gone); // btrfs_scratch_superblocks(src_device)
            commitState(fs); // "write back the superblocks" (not checked: IS_ERR(trans) only skips the commit)
            return null;
        } finally {
            if (listLocked) {
                unlockDeviceList(fs, swapFixed); // a panic ended a wait under them
            }
            r.lockFinishingCancelUnmount.unlock();
        }
    }

    /** btrfs_dev_replace_finishing's "dev_replace from … (devid 1) to … finished". */
    private static void logFinished(FsInfo fs, BlockDevice src, BlockDevice tgt) {
        fs.log().info(fs.sbId(), "dev_replace from " + name(src) + " (devid " + SRC_DEVID + ") to " + name(tgt) + " finished");
    }

    /**
     * The proposed {@link FixSwitch#DEV_REPLACE_TARGET_WRITE_ERRORS}' second check: the bios drained, a write to the
     * target had failed — the target was dropped, not swapped in, and the replace set CANCELED. It ends -EIO, as
     * finishing ends a copy that failed: the state committed, then the target scratched
     * ({@link FixSwitch#DEV_REPLACE_SCRATCH_BEFORE_COMMIT} applied: a commit that fails keeps it).
     */
    private static Errno cancelAfterDrain(FsInfo fs, BlockDevice src, BlockDevice tgt, boolean scratchFixed) {
        fs.log().error(fs.sbId(), "btrfs_scrub_dev(" + name(src) + ", " + SRC_DEVID + ", " + name(tgt) + ") failed "
            + Errno.EIO.ret());
        if (scratchFixed && !commitState(fs)) {
            return Errno.EIO;
        }
        DiskIo.scratchSuperblocks(tgt); // btrfs_destroy_dev_replace_tgtdev
        return Errno.EIO;
    }

    /** mutex_unlock of device_list_mutex, then (the proposed {@link FixSwitch#DEV_REPLACE_SWAP_BEFORE_SUPERS}) of tree_log_mutex. */
    private static void unlockDeviceList(FsInfo fs, boolean swapFixed) {
        fs.deviceListMutex.unlock();
        if (swapFixed) {
            fs.treeLogMutex.unlock();
        }
    }

    /**
     * kernel: btrfs_destroy_dev_replace_tgtdev() — the target out of the filesystem's devices (no write goes to it any
     * more) and its superblocks scratched, so no scan finds it as this filesystem's replace target.
     */
    private static void destroyTgtdev(FsInfo fs, BlockDevice tgt) {
        fs.device.setTarget(null);
        DiskIo.scratchSuperblocks(tgt);
    }

    /** btrfs_commit_transaction then WARN_ON(ret) at dev-replace.c:{@code line}: the procedure goes on. False: it failed. */
    private static boolean commitWarnOnError(FsInfo fs, TransHandle h, int line) {
        try {
            Transactions.commit(h);
            return true;
        } catch (BtrfsException e) {
            fs.log().warnOn(true, "dev-replace.c", line, "btrfs_dev_replace_" + (line == 563 ? "start" : line == 741
                ? "finishing" : "cancel"));
            return false;
        }
    }

    /** btrfs_start_transaction(root, 0) and btrfs_commit_transaction: whether the state is on disk now. */
    private static boolean commitState(FsInfo fs) {
        try {
            TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_dev_replace_finishing");
            Transactions.commit(h);
            return true;
        } catch (BtrfsException e) {
            return false;
        }
    }

    /** kernel: btrfs_dev_replace_progress() — per mille of the source copied (0 or 1000 when not running). */
    static long progress1000(FsInfo fs) {
        DevReplaceControl r = fs.devReplace;
        return switch (r.replaceState) {
            case NEVER_STARTED, CANCELED -> 0;
            case FINISHED -> 1000;
            case STARTED, SUSPENDED -> {
                long per = fs.device.source().size() / 1000;
                yield per == 0 ? 0 : r.cursorLeft / per;
            }
        };
    }

    /** kernel: btrfs_dev_replace_status() — under rwsem, read-shared. */
    static DevReplaceStatus status(FsInfo fs) {
        DevReplaceControl r = fs.devReplace;
        r.use("btrfs_dev_replace_status");
        r.rwsem.readLock().lock();
        try {
            State s = r.replaceState == null ? State.NEVER_STARTED : r.replaceState;
            return new DevReplaceStatus(DevReplaceStatus.State.valueOf(s.name()), r.replaceState == null ? 0
                : progress1000(fs), r.timeStarted, r.timeStopped, r.numWriteErrors.get(), r.numUncorrectableReadErrors.get());
        } finally {
            r.rwsem.readLock().unlock();
        }
    }

    /**
     * kernel: btrfs_dev_replace_cancel() — -EROFS on a read-only filesystem; under lock_finishing_cancel_unmount: a
     * running replace has its scrub cancelled (finishing does the rest; NOT_STARTED if no scrub ran); a suspended one is
     * cancelled here — CANCELED, a commit, the target dropped. 5.11 asserts, for the suspended case, that the scrub
     * cancel found a scrub running (ASSERT(ret != -ENOTCONN), dropped upstream in 2022); nothing runs for a suspended
     * replace, so the port would hit it on every such cancel: it is not reachable here (a replace is suspended with its
     * target present only until the next read-write mount resumes it — except when another exclusive operation holds it,
     * which the port's balance and replace exclude), and not modelled.
     */
    static DevReplaceResult cancel(FsContext ctx) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        if (fs.sbRdonly()) {
            throw new BtrfsException(Errno.EROFS, "replace cancel: " + fs.sbId() + " is read-only");
        }
        r.lockFinishingCancelUnmount.lock();
        try {
            r.rwsem.writeLock().lock();
            State s = r.replaceState;
            BlockDevice tgt = r.tgtdev;
            BlockDevice src = r.srcdev;
            if (s == State.STARTED) {
                r.rwsem.writeLock().unlock();
                if (!fs.scrub.cancel()) {
                    return DevReplaceResult.NOT_STARTED;
                }
                fs.log().info(fs.sbId(), "dev_replace from " + name(src) + " (devid " + SRC_DEVID + ") to " + name(tgt)
                    + " canceled");
                return DevReplaceResult.NO_ERROR;
            }
            if (s != State.SUSPENDED) {
                r.rwsem.writeLock().unlock();
                return DevReplaceResult.NOT_STARTED;
            }
            // "Scrub doing the replace isn't running so we need to do the cleanup step of btrfs_dev_replace_finishing() here"
            r.tgtdev = null;
            r.srcdev = null;
            r.replaceState = State.CANCELED;
            r.timeStopped = System.currentTimeMillis() / 1000;
            r.itemNeedsWriteback = true;
            r.rwsem.writeLock().unlock();
            fs.scrub.cancel();
            TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "btrfs_dev_replace_cancel");
            if (!commitWarnOnError(fs, h, 978) && fs.applied(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT)) {
                // proposed (stop 71): the CANCELED state is not on disk — the disk still says SUSPENDED, and the next
                // mount looks for this target: keep it, and fail the ioctl with the commit's error
                throw new BtrfsException(Errno.EIO, "replace cancel: the commit of the cancelled replace failed on "
                    + fs.sbId());
            }
            fs.log().info(fs.sbId(), "suspended dev_replace from " + name(src) + " (devid " + SRC_DEVID + ") to "
                + name(tgt) + " canceled");
            if (tgt != null) {
                destroyTgtdev(fs, tgt);
            }
            return DevReplaceResult.NO_ERROR;
        } finally {
            r.lockFinishingCancelUnmount.unlock();
        }
    }

    /**
     * kernel: btrfs_dev_replace_suspend_for_unmount() — an RO remount's and close_ctree's: a STARTED replace becomes
     * SUSPENDED (its item to be written); the scrub doing the copy is the caller's btrfs_scrub_cancel to stop.
     */
    static void suspendForUnmount(FsInfo fs) {
        DevReplaceControl r = fs.devReplace;
        r.lockFinishingCancelUnmount.lock();
        try {
            r.rwsem.writeLock().lock();
            try {
                if (r.replaceState == State.STARTED) {
                    r.replaceState = State.SUSPENDED;
                    r.timeStopped = System.currentTimeMillis() / 1000;
                    r.itemNeedsWriteback = true;
                    fs.log().info(fs.sbId(), "suspending dev_replace for unmount");
                }
            } finally {
                r.rwsem.writeLock().unlock();
            }
        } finally {
            r.lockFinishingCancelUnmount.unlock();
        }
    }

    /**
     * kernel: btrfs_resume_dev_replace_async() — from btrfs_start_pre_rw_mount: a SUSPENDED (or STARTED) replace is
     * STARTED again and continued in a new btrfs-devrepl kthread, unless its target is missing or another exclusive
     * operation holds the filesystem (then it stays SUSPENDED). Nobody waits for that kthread (the proposed fix counts it).
     */
    static void resumeDevReplaceAsync(FsContext ctx) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        if (fs.applied(FixSwitch.DEV_REPLACE_RESUME_BEFORE_EXCLOP)) {
            resumeHoldingTheExclusiveOperation(ctx);
            return;
        }
        r.rwsem.writeLock().lock();
        try {
            if (r.replaceState == null || r.replaceState == State.NEVER_STARTED || r.replaceState == State.FINISHED
                || r.replaceState == State.CANCELED) {
                return;
            }
            r.replaceState = State.STARTED;
            if (r.tgtdev == null) {
                fs.log().info(fs.sbId(), "cannot continue dev_replace, tgtdev is missing");
                fs.log().info(fs.sbId(), "you may cancel the operation after 'mount -o degraded'");
                r.replaceState = State.SUSPENDED;
                return;
            }
        } finally {
            r.rwsem.writeLock().unlock();
        }
        fs.kernel.hooks().arrive(Hook.DEV_REPLACE_RESUME_BEFORE_EXCLOP);
        // "This could collide with a paused balance, but the exclusive op logic should never allow both to start and
        // pause. We don't want to allow dev-replace to start anyway."
        if (!fs.exclop.start(ExclusiveOperation.Op.DEV_REPLACE)) {
            r.rwsem.writeLock().lock();
            try {
                r.replaceState = State.SUSPENDED;
            } finally {
                r.rwsem.writeLock().unlock();
            }
            fs.log().info(fs.sbId(), "cannot resume dev-replace, other exclusive operation running");
            return;
        }
        startKthread(ctx);
    }

    /**
     * The proposed fix of {@link FixSwitch#DEV_REPLACE_RESUME_BEFORE_EXCLOP}: the exclusive operation first; the state
     * changed only while it is held, and a replace that is no longer SUSPENDED or STARTED (a finishing that ran meanwhile
     * ended it) left alone.
     */
    private static void resumeHoldingTheExclusiveOperation(FsContext ctx) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        r.rwsem.readLock().lock();
        try {
            if (r.replaceState != State.STARTED && r.replaceState != State.SUSPENDED) {
                return;
            }
        } finally {
            r.rwsem.readLock().unlock();
        }
        if (!fs.exclop.start(ExclusiveOperation.Op.DEV_REPLACE)) {
            fs.log().info(fs.sbId(), "cannot resume dev-replace, other exclusive operation running");
            return;
        }
        r.rwsem.writeLock().lock();
        try {
            if (r.replaceState != State.STARTED && r.replaceState != State.SUSPENDED) {
                fs.exclop.finish();
                return;
            }
            if (r.tgtdev == null) {
                fs.log().info(fs.sbId(), "cannot continue dev_replace, tgtdev is missing");
                fs.log().info(fs.sbId(), "you may cancel the operation after 'mount -o degraded'");
                r.replaceState = State.SUSPENDED;
                fs.exclop.finish();
                return;
            }
            r.replaceState = State.STARTED;
        } finally {
            r.rwsem.writeLock().unlock();
        }
        startKthread(ctx);
    }

    /** kthread_run(btrfs_dev_replace_kthread, fs_info, "btrfs-devrepl"), counted for close_ctree by the proposed fix. */
    private static void startKthread(FsContext ctx) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        boolean counted = fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
        if (counted) {
            r.resumeKthreads.started(); // proposed: close_ctree waits for it
        }
        try {
            fs.kernel.kthreadd().run("btrfs-devrepl", Role.KTHREAD, fs.workqueues().device(), self -> devReplaceKthread(ctx));
        } catch (RuntimeException e) {
            if (counted) {
                r.resumeKthreads.done();
            }
            throw e;
        }
    }

    /**
     * kernel: btrfs_dev_replace_kthread() — "continuing dev_replace from … @N%", the copy from the committed cursor,
     * btrfs_dev_replace_finishing (WARN_ON an error other than -ECANCELED — and, with the proposed
     * {@link FixSwitch#DEV_REPLACE_KTHREAD_ENOSPC_WARN}, other than a full device's -ENOSPC), btrfs_exclop_finish.
     */
    private static int devReplaceKthread(FsContext ctx) {
        FsInfo fs = ctx.fs;
        DevReplaceControl r = fs.devReplace;
        try {
            fs.kernel.hooks().arrive(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            r.use("btrfs_dev_replace_kthread");
            if (!continuing(fs, r)) {
                // proposed (stop 67): an RO remount suspended the replace before this kthread ran, and a cancel of the
                // suspended replace may have cleared srcdev since — leave the replace as they left it, release the
                // exclusive operation the resume took
                r.use("btrfs_exclop_finish");
                fs.exclop.finish();
                return 0;
            }
            if (r.restartUnrecorded && fs.applied(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS)) {
                // proposed (stop 78, class 3f309808): the disk still has the old cursor until a commit records the
                // restart; a crash or an abort before that, and the next mount would resume from it over blocks this
                // copy is about to rewrite from the commit roots — of a transaction that may then abort. The target's
                // superblock says it is behind until that commit
                r.restartUnrecorded = false;
                DiskIo.markTargetBehind(fs, fs.device.target());
            }
            Errno ret = scrubForReplace(ctx, r.committedCursorLeft, fs.device.source().size());
            if (ret == Errno.EAGAIN && fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE)) {
                // proposed: the copy found the filesystem closing — the umount suspends the replace (close_ctree's
                // btrfs_dev_replace_suspend_for_unmount), which finishing would instead end CANCELED, its target dropped
                ret = null;
            } else {
                ret = finishing(ctx, ret);
            }
            // proposed: a full device's -ENOSPC (the copy could not set a group read-only) is no bug — finishing
            // reported it, and the ioctl's path stopped warning for it in 4cea9037f82a
            boolean quiet = ret == Errno.ENOSPC && fs.applied(FixSwitch.DEV_REPLACE_KTHREAD_ENOSPC_WARN);
            fs.log().warnOn(ret != null && ret != Errno.ECANCELED && !quiet, "dev-replace.c", 1096,
                "btrfs_dev_replace_kthread");
            r.use("btrfs_exclop_finish");
            fs.exclop.finish();
            return 0;
        } finally {
            if (fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE)) {
                r.resumeKthreads.done();
            }
        }
    }

    /**
     * The kthread's first line, "continuing dev_replace from … @N%": 5.11 reads srcdev, tgtdev and the cursor with no
     * lock (srcdev cleared: the NULL dereference). With the proposed fix of
     * {@link FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE} (stop 67) it reads them under dev_replace.rwsem, read-shared —
     * the lock an RO remount's suspend and a cancel change them under — and only for a replace still STARTED: false,
     * leave the replace alone.
     */
    private static boolean continuing(FsInfo fs, DevReplaceControl r) {
        boolean fixed = fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
        if (fixed) {
            r.rwsem.readLock().lock();
        }
        try {
            if (fixed && r.replaceState != State.STARTED) {
                return false;
            }
            if (r.srcdev == null) {
                // "dev_replace->srcdev->devid": a replace a finishing (or a cancel) ended after the resume took it
                throw fs.log().oops(org.jbtrfs.core.LogEntry.Kind.OOPS,
                    "BUG: kernel NULL pointer dereference, address: 0000000000000050\n#PF: supervisor read access in kernel"
                        + " mode\nRIP: 0010:btrfs_dev_replace_kthread+0x2a/0x120 [btrfs]\nCall Trace:\n"
                        + org.jbtrfs.core.KernelLog.callTrace(new Throwable(), 1));
            }
            long progress = progress1000(fs) / 10;
            fs.log().info(fs.sbId(), "continuing dev_replace from " + name(r.srcdev) + " (devid " + SRC_DEVID
                + ") to target " + name(r.tgtdev) + " @" + progress + "%");
            return true;
        } finally {
            if (fixed) {
                r.rwsem.readLock().unlock();
            }
        }
    }

    /** The proposed fix's wait in close_ctree, after the suspend and the scrub cancel: the resume kthread's last act. */
    static void waitForResumeKthread(FsInfo fs) {
        if (fs.applied(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE)) {
            fs.devReplace.resumeKthreads.waitForAll("wait for the dev-replace resume kthread");
        }
    }
}
