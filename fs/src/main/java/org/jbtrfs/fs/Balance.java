package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.BalanceArgs;
import org.jbtrfs.core.disk.BalanceItem;
import org.jbtrfs.transaction.BalanceControl;
import org.jbtrfs.transaction.BalanceCtl;
import org.jbtrfs.transaction.ExclusiveOperation;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;

/**
 * Balance's lifecycle, fs/btrfs/volumes.c (v5.11): the balance item in the root tree, fs_info->balance_ctl, the
 * ioctls (start or resume, pause, cancel, progress), the btrfs-balance kthread a read-write mount or an RO→RW remount
 * starts for a paused balance, and the pause of an RO remount and of close_ctree — the paths the seed's races live on.
 *
 * <p>What is not ported: relocation (relocation.c). __btrfs_balance walks the chunks (one per block group in the port,
 * which keeps no chunk tree) with the type, usage and vrange filters; a chunk the filters pick would be relocated, and
 * the port's btrfs_relocate_chunk refuses with EOPNOTSUPP — the balance ends with that status, as it would with any
 * relocation error. Convert, soft, profiles, devid, drange, limit and stripes filters are refused at the ioctl
 * (EOPNOTSUPP). A balance whose filters pick nothing runs whole: it can be paused, cancelled, interrupted by an umount
 * and resumed by the next mount.
 */
final class Balance {
    /** BTRFS_BALANCE_STATE_RUNNING, _PAUSE_REQ, _CANCEL_REQ (btrfs_update_ioctl_balance_args). */
    static final long STATE_RUNNING = 1, STATE_PAUSE_REQ = 2, STATE_CANCEL_REQ = 4;
    private static final long SUPPORTED_ARGS = BalanceArgs.USAGE | BalanceArgs.VRANGE;

    private Balance() { }

    /**
     * kernel: btrfs_ioctl_balance() (BTRFS_IOC_BALANCE_V2) after mnt_want_write_file — take the exclusive operation or
     * find the paused balance to resume, then btrfs_balance() with balance_mutex held. {@code flags} with
     * {@link BalanceCtl#RESUME} resumes the paused balance (ENOTCONN without one); otherwise a balance of the types in
     * {@code flags} with these filters (EINPROGRESS while one is running or paused).
     */
    static BalanceProgress ioctlBalance(FsContext ctx, long flags, BalanceArgs data, BalanceArgs meta, BalanceArgs sys) {
        FsInfo fs = ctx.fs;
        BalanceControl b = fs.balance;
        boolean needUnlock; // for the exclusive operation
        while (true) {
            if (fs.exclop.start(ExclusiveOperation.Op.BALANCE)) {
                b.mutex.lock();
                needUnlock = true;
                break;
            }
            // the exclusive operation is taken: (1) another operation (a dev-replace), (2) a running balance,
            // (3) a paused one — the resume's case
            b.mutex.lock();
            if (b.ctl() == null) {
                b.mutex.unlock();
                throw new BtrfsException(Errno.EINPROGRESS, "BTRFS_ERROR_DEV_EXCL_RUN_IN_PROGRESS on " + fs.sbId());
            }
            if (fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                b.mutex.unlock();
                throw new BtrfsException(Errno.EINPROGRESS, "a balance is running on " + fs.sbId());
            }
            b.mutex.unlock();
            // lock released to let other waiters go on; look again
            b.mutex.lock();
            if (b.ctl() != null && !fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                needUnlock = false; // (3)
                break;
            }
            b.mutex.unlock();
        }
        try {
            BalanceCtl bctl;
            if ((flags & BalanceCtl.RESUME) != 0) {
                bctl = b.ctl();
                if (bctl == null) {
                    throw new BtrfsException(Errno.ENOTCONN, "no paused balance to resume on " + fs.sbId());
                }
                synchronized (b.lock()) {
                    bctl.flags |= BalanceCtl.RESUME;
                }
            } else {
                if (b.ctl() != null) {
                    throw new BtrfsException(Errno.EINPROGRESS, "a balance is paused on " + fs.sbId() + " (resume or cancel it)");
                }
                if ((flags & ~(BalanceCtl.ARGS_MASK | BalanceCtl.TYPE_MASK)) != 0) {
                    throw new BtrfsException(Errno.EINVAL, "balance flags 0x" + Long.toHexString(flags));
                }
                requireSupported(data, "data");
                requireSupported(meta, "metadata");
                requireSupported(sys, "system");
                bctl = new BalanceCtl(flags, data, meta, sys);
            }
            // ownership of bctl and of the exclusive operation goes to btrfs_balance
            needUnlock = false;
            BalanceProgress[] args = new BalanceProgress[1];
            Errno ret = btrfsBalance(ctx, bctl, args);
            if (ret != null) {
                throw new BtrfsException(ret, "balance on " + fs.sbId() + " returned " + ret.ret()
                    + (ret == Errno.ECANCELED ? " (paused or cancelled)" : ""));
            }
            return args[0];
        } finally {
            b.mutex.unlock();
            if (needUnlock) {
                fs.exclop.finish();
            }
        }
    }

    /** The port's limit: filters it has not ported are refused before anything runs. */
    private static void requireSupported(BalanceArgs a, String type) {
        if (a == null) {
            throw new IllegalArgumentException(type + " args must not be null (BalanceArgs.NONE: no filter)");
        }
        long other = a.flags() & ~SUPPORTED_ARGS;
        if (other != 0) {
            throw new BtrfsException(Errno.EOPNOTSUPP, "balance " + type + " filter flags 0x" + Long.toHexString(other)
                + ": only usage and vrange are ported");
        }
    }

    /**
     * kernel: btrfs_balance() in fs/btrfs/volumes.c, called with balance_mutex held (the ioctl, the resume kthread). A
     * closing filesystem, a pause or a cancel request: EINVAL at once (a resumed balance is reset, its item deleted).
     * Then insert_balance_item — a transaction committed, EEXIST for a resumed balance — balance_ctl published,
     * BTRFS_FS_BALANCE_RUNNING set and the mutex dropped while __btrfs_balance walks the chunks; then the end: "paused"
     * keeps balance_ctl and the item, any other end resets them and gives the exclusive operation back. Returns the
     * status (null: 0).
     */
    static Errno btrfsBalance(FsContext ctx, BalanceCtl bctl, BalanceProgress[] bargs) {
        FsInfo fs = ctx.fs;
        BalanceControl b = fs.balance;
        KernelLog log = fs.log();
        if (fs.fsClosing() != 0 || b.pauseReq.get() != 0 || b.cancelReq.get() != 0) {
            return out(fs, bctl, Errno.EINVAL);
        }
        boolean exists = false;
        try {
            insertBalanceItem(fs, bctl);
        } catch (BtrfsException e) {
            if (e.errno() != Errno.EEXIST) {
                return out(fs, bctl, e.errno());
            }
            exists = true;
        }
        if ((bctl.flags & BalanceCtl.RESUME) == 0) {
            if (exists) {
                throw log.bug("volumes.c", 4151, "BUG_ON(ret == -EEXIST): a balance item without a balance");
            }
            if (b.ctl() != null) {
                throw log.bug("volumes.c", 4152, "BUG_ON(fs_info->balance_ctl)");
            }
            b.setCtl(bctl);
        } else {
            if (!exists) {
                throw log.bug("volumes.c", 4157, "BUG_ON(ret != -EEXIST): a resumed balance without its item");
            }
            synchronized (b.lock()) {
                updateBalanceArgs(bctl);
            }
        }
        log.assertThat(!fs.flags.test(FsFlag.BALANCE_RUNNING), "!test_bit(BTRFS_FS_BALANCE_RUNNING, &fs_info->flags)",
            "volumes.c", 4163);
        fs.flags.set(FsFlag.BALANCE_RUNNING);
        log.info(fs.sbId(), "balance: " + ((bctl.flags & BalanceCtl.RESUME) != 0 ? "resume" : "start") + " " + describe(bctl));
        b.mutex.unlock();
        Errno ret;
        try {
            ret = doBalance(ctx, bctl);
        } finally {
            b.mutex.lock();
        }
        if (ret == Errno.ECANCELED && b.pauseReq.get() != 0) {
            log.info(fs.sbId(), "balance: paused");
        } else if (ret == Errno.ECANCELED || ret == Errno.EINTR) {
            log.info(fs.sbId(), "balance: canceled");
        } else {
            log.info(fs.sbId(), "balance: ended with status: " + (ret == null ? 0 : ret.ret()));
        }
        fs.flags.clear(FsFlag.BALANCE_RUNNING);
        if (bargs != null) {
            bargs[0] = updateIoctlBalanceArgs(fs);
        }
        if ((ret != null && ret != Errno.ECANCELED && ret != Errno.ENOSPC) || balanceNeedClose(b)) {
            resetBalanceState(fs);
            fs.exclop.finish();
        }
        b.wakeUp();
        return ret;
    }

    /** btrfs_balance()'s out label: a resumed balance is reset (its item deleted), a new one dropped. */
    private static Errno out(FsInfo fs, BalanceCtl bctl, Errno ret) {
        if ((bctl.flags & BalanceCtl.RESUME) != 0) {
            resetBalanceState(fs);
        }
        fs.exclop.finish();
        return ret;
    }

    /** kernel: balance_need_close() — a cancel request, or the normal end (no pause and no cancel requested). */
    private static boolean balanceNeedClose(BalanceControl b) {
        return b.cancelReq.get() != 0 || (b.pauseReq.get() == 0 && b.cancelReq.get() == 0);
    }

    /**
     * kernel: update_balance_args() — a resumed balance turns on soft mode for the types being converted and, for the
     * others without a usage filter, usage=90: the chunks balanced before the interruption are reasonably full.
     */
    private static void updateBalanceArgs(BalanceCtl bctl) {
        bctl.data = withResumeUsage(bctl.data);
        bctl.meta = withResumeUsage(bctl.meta);
        bctl.sys = withResumeUsage(bctl.sys);
    }

    private static BalanceArgs withResumeUsage(BalanceArgs a) {
        long f = a.flags();
        if ((f & BalanceArgs.CONVERT) != 0) {
            f |= BalanceArgs.SOFT;
            return new BalanceArgs(a.profiles(), a.usage(), a.devid(), a.pstart(), a.pend(), a.vstart(), a.vend(), a.target(),
                f, a.limit(), a.stripesMin(), a.stripesMax());
        }
        if ((f & (BalanceArgs.USAGE | BalanceArgs.USAGE_RANGE)) == 0) {
            return new BalanceArgs(a.profiles(), 90, a.devid(), a.pstart(), a.pend(), a.vstart(), a.vend(), a.target(),
                f | BalanceArgs.USAGE, a.limit(), a.stripesMin(), a.stripesMax());
        }
        return a;
    }

    /**
     * kernel: __btrfs_balance() — the chunks from the highest logical address down, twice: a counting pass (expected),
     * then the balancing pass, which tests the pause and cancel requests before each chunk (ECANCELED), counts it
     * considered, and relocates the ones should_balance_chunk picks, each under delete_unused_bgs_mutex.
     */
    private static Errno doBalance(FsContext ctx, BalanceCtl bctl) {
        FsInfo fs = ctx.fs;
        BalanceControl b = fs.balance;
        synchronized (b.lock()) {
            bctl.expected = 0;
            bctl.considered = 0;
            bctl.completed = 0;
        }
        for (boolean counting : new boolean[] {true, false}) {
            for (BlockGroup chunk : chunksDescending(fs)) {
                fs.kernel.hooks().arrive(Hook.BALANCE_NEXT_CHUNK);
                if ((!counting && b.pauseReq.get() != 0) || b.cancelReq.get() != 0) {
                    return Errno.ECANCELED;
                }
                fs.deleteUnusedBgsMutex.lock();
                try {
                    if (fs.space.lookupBlockGroup(chunk.start()) != chunk) {
                        continue; // removed meantime: the chunk tree's search no longer finds it, the walk goes on below
                    }
                    if (!counting) {
                        bctl.use("__btrfs_balance");
                        synchronized (b.lock()) {
                            bctl.considered++;
                        }
                    }
                    if (!shouldBalanceChunk(fs, bctl, chunk)) {
                        continue;
                    }
                    if (counting) {
                        bctl.use("__btrfs_balance");
                        synchronized (b.lock()) {
                            bctl.expected++;
                        }
                        continue;
                    }
                    Errno ret = relocateChunk(fs, chunk);
                    if (ret != null) {
                        return ret;
                    }
                    synchronized (b.lock()) {
                        bctl.completed++;
                    }
                } finally {
                    fs.deleteUnusedBgsMutex.unlock();
                }
            }
        }
        return null;
    }

    /** The chunk items of the chunk tree, last first: the port's block groups (one chunk each), highest start first. */
    private static List<BlockGroup> chunksDescending(FsInfo fs) {
        List<BlockGroup> all = new ArrayList<>(fs.space.blockGroups());
        all.sort(Comparator.comparingLong(BlockGroup::start).reversed());
        return all;
    }

    /**
     * kernel: should_balance_chunk() with the filters the port has: the type, usage (chunk_usage_filter: used below
     * usage percent of the length, below 1 byte for usage=0) and vrange (chunk_vrange_filter: overlapping).
     */
    static boolean shouldBalanceChunk(FsInfo fs, BalanceCtl bctl, BlockGroup chunk) {
        long type = chunk.type().flag();
        if ((type & bctl.flags & BalanceCtl.TYPE_MASK) == 0) {
            return false;
        }
        BalanceArgs a = (type & BalanceCtl.DATA) != 0 ? bctl.data : (type & BalanceCtl.SYSTEM) != 0 ? bctl.sys : bctl.meta;
        if ((a.flags() & BalanceArgs.USAGE) != 0) {
            long used = fs.space.used(chunk);
            // usage and usage_min share their bytes: the low 32 bits of usage are usage_min
            long thresh = (int) a.usage() == 0 ? 1 : a.usage() > 100 ? chunk.length() : chunk.length() * a.usage() / 100;
            if (used >= thresh) {
                return false;
            }
        }
        if ((a.flags() & BalanceArgs.VRANGE) != 0
            && !(Long.compareUnsigned(chunk.start(), a.vend()) < 0
                && Long.compareUnsigned(chunk.start() + chunk.length(), a.vstart()) > 0)) {
            return false;
        }
        return true;
    }

    /** kernel: btrfs_relocate_chunk() — relocation.c is not ported: the balance ends with EOPNOTSUPP. */
    private static Errno relocateChunk(FsInfo fs, BlockGroup chunk) {
        fs.log().info(fs.sbId(), "relocating block group " + chunk.start() + " flags " + chunk.type().name().toLowerCase(java.util.Locale.ROOT)
            + " (port: relocation is not ported)");
        return Errno.EOPNOTSUPP;
    }

    /**
     * kernel: insert_balance_item() — btrfs_start_transaction(tree root, 0), the item (EEXIST when there: a resumed
     * balance), btrfs_commit_transaction whatever happened.
     */
    private static void insertBalanceItem(FsInfo fs, BalanceCtl bctl) {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 0, "insert_balance_item");
        BtrfsException failed = null;
        try {
            Trees.insert(h, fs.treeRoot(), BalanceItem.KEY, bctl.item().encode()); // btrfs_insert_empty_item: EEXIST
        } catch (BtrfsException e) {
            failed = e;
        }
        try {
            Transactions.commit(h);
        } catch (BtrfsException e) {
            if (failed == null) {
                failed = e;
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * kernel: del_balance_item() — btrfs_start_transaction_fallback_global_rsv(tree root, 0), delete the item (ENOENT
     * when gone), btrfs_commit_transaction whatever happened.
     */
    private static Errno delBalanceItem(FsInfo fs) {
        TransHandle h;
        try {
            h = Transactions.startFallbackGlobalRsv(fs, fs.treeRoot(), 0, "del_balance_item");
        } catch (BtrfsException e) {
            return e.errno();
        }
        Errno ret = null;
        try {
            Trees.delete(h, fs.treeRoot(), BalanceItem.KEY);
        } catch (BtrfsException e) {
            ret = e.errno();
        }
        try {
            Transactions.commit(h);
        } catch (BtrfsException e) {
            if (ret == null) {
                ret = e.errno();
            }
        }
        return ret;
    }

    /**
     * kernel: reset_balance_state() — balance_ctl cleared and freed, the item deleted; a failure to delete it is
     * btrfs_handle_fs_error's.
     */
    private static void resetBalanceState(FsInfo fs) {
        BalanceControl b = fs.balance;
        BalanceCtl bctl = b.ctl();
        if (bctl == null) {
            throw fs.log().bug("volumes.c", 3347, "BUG_ON(!fs_info->balance_ctl)");
        }
        b.setCtl(null);
        bctl.free(fs.log()); // kfree(bctl): a balance still walking with it uses it freed
        Errno ret = delBalanceItem(fs);
        if (ret != null) {
            Transactions.handleFsError(fs, "reset_balance_state", ret);
        }
    }

    /**
     * kernel: balance_kthread() — the btrfs-balance kthread of a resumed balance: balance_mutex, then btrfs_balance of
     * balance_ctl if there still is one. With {@link FixSwitch#BALANCE_RESUME_PAUSE_RACE} (proposed) a pause that came
     * first — an RO remount's or close_ctree's btrfs_pause_balance, which now waits for this kthread — leaves the balance
     * paused (btrfs_balance would reset a resumed balance it finds asked to pause), and the kthread's last act tells the
     * waiters it is done.
     */
    static int balanceKthread(FsContext ctx) {
        FsInfo fs = ctx.fs;
        BalanceControl b = fs.balance;
        boolean fixed = fs.applied(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
        try {
            fs.kernel.hooks().arrive(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            b.use("balance_kthread"); // mutex_lock(&fs_info->balance_mutex) of an fs_info btrfs_free_fs_info freed
            b.mutex.lock();
            try {
                BalanceCtl bctl = b.ctl();
                if (bctl == null) {
                    return 0;
                }
                if (fixed && (b.pauseReq.get() != 0 || fs.flags.test(FsFlag.BALANCE_RUNNING)
                    || (bctl.flags & BalanceCtl.RESUME) == 0)) {
                    // proposed: an RO remount or an umount asked first — the balance stays paused; or the balance it
                    // finds is not the paused one it was started for: the user resumed that one (running now, or ended
                    // and a new one started)
                    return 0;
                }
                Errno ret = btrfsBalance(ctx, bctl, null);
                return ret == null ? 0 : ret.ret();
            } finally {
                b.mutex.unlock();
            }
        } finally {
            if (fixed) {
                b.resumeKthreads.done();
            }
        }
    }

    /**
     * kernel: btrfs_resume_balance_async() — from btrfs_start_pre_rw_mount (5.10: open_ctree and btrfs_remount): a
     * paused balance (balance_ctl set) is resumed in a new btrfs-balance kthread, unless skip_balance; the RESUME flag is
     * set first (an RO→RW remount's balance was paused by the RO remount, not recovered from disk).
     */
    static void resumeBalanceAsync(FsContext ctx) {
        FsInfo fs = ctx.fs;
        BalanceControl b = fs.balance;
        b.mutex.lock();
        try {
            if (b.ctl() == null) {
                return;
            }
        } finally {
            b.mutex.unlock();
        }
        if (fs.mountOpt.test(org.jbtrfs.core.kernel.MountOpt.SKIP_BALANCE)) {
            fs.log().info(fs.sbId(), "balance: resume skipped");
            return;
        }
        synchronized (b.lock()) {
            b.ctl().flags |= BalanceCtl.RESUME;
        }
        boolean counted = fs.applied(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
        if (counted) {
            b.resumeKthreads.started(); // proposed: the pause and close_ctree wait for it
        }
        try {
            fs.kernel.kthreadd().run("btrfs-balance", Role.KTHREAD, fs.workqueues().device(), self -> balanceKthread(ctx));
        } catch (RuntimeException e) {
            if (counted) {
                b.resumeKthreads.done(); // no kthread: nothing to wait for
            }
            throw e;
        }
    }

    /**
     * kernel: btrfs_recover_balance() — open_ctree, after init_tree_roots: a balance item in the root tree becomes
     * balance_ctl with RESUME set and takes the exclusive operation ("cannot set exclusive op status" otherwise); it
     * stays paused until a read-write mount resumes it, a cancel or an umount.
     */
    static void recoverBalance(FsInfo fs) {
        byte[] raw = Trees.lookup(fs, fs.treeRoot(), BalanceItem.KEY);
        if (raw == null) {
            return;
        }
        BalanceItem item = BalanceItem.decode(raw);
        BalanceCtl bctl = new BalanceCtl(item.flags() | BalanceCtl.RESUME, item.data(), item.meta(), item.sys());
        if (!fs.exclop.start(ExclusiveOperation.Op.BALANCE)) {
            fs.log().warn(fs.sbId(), "balance: cannot set exclusive op status, resume manually");
        }
        fs.balance.mutex.lock();
        try {
            if (fs.balance.ctl() != null) {
                throw fs.log().bug("volumes.c", 4323, "BUG_ON(fs_info->balance_ctl)");
            }
            fs.balance.setCtl(bctl);
        } finally {
            fs.balance.mutex.unlock();
        }
    }

    /**
     * kernel: btrfs_pause_balance() — the ioctl's, an RO remount's and close_ctree's: a running balance is asked to
     * pause and waited for (it pauses before its next chunk); a paused or not-yet-running one: ENOTCONN at once.
     * Returns false for ENOTCONN.
     */
    static boolean pauseBalance(FsInfo fs) {
        BalanceControl b = fs.balance;
        b.mutex.lock();
        try {
            if (b.ctl() == null) {
                return false;
            }
            if (!fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                if (fs.applied(FixSwitch.BALANCE_RESUME_PAUSE_RACE) && b.resumeKthreads.running() > 0) {
                    // proposed: a resume kthread not yet in btrfs_balance — ask it to leave the balance paused, wait
                    b.pauseReq.incrementAndGet();
                    b.mutex.unlock();
                    try {
                        b.waitEvent("btrfs_pause_balance", () -> b.resumeKthreads.running() == 0);
                    } finally {
                        b.mutex.lock();
                    }
                    b.pauseReq.decrementAndGet();
                    return true;
                }
                return false;
            }
            b.pauseReq.incrementAndGet();
            b.mutex.unlock();
            try {
                b.waitEvent("btrfs_pause_balance", () -> !fs.flags.test(FsFlag.BALANCE_RUNNING));
            } finally {
                b.mutex.lock();
            }
            if (fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                throw fs.log().bug("volumes.c", 4352, "BUG_ON(test_bit(BTRFS_FS_BALANCE_RUNNING))");
            }
            b.pauseReq.decrementAndGet();
            return true;
        } finally {
            b.mutex.unlock();
        }
    }

    /**
     * The proposed fix's wait in close_ctree, after btrfs_pause_balance: a resume kthread whose balance the pause stopped
     * may still be leaving; its last act is to say so.
     */
    static void waitForResumeKthread(FsInfo fs) {
        if (fs.applied(FixSwitch.BALANCE_RESUME_PAUSE_RACE)) {
            fs.balance.resumeKthreads.waitForAll("wait for the balance resume kthread");
        }
    }

    /**
     * kernel: btrfs_cancel_balance() — EROFS on a read-only filesystem (the paused item could not be deleted); a
     * running balance is asked to cancel and waited for (it deletes its item itself); a paused one is reset here.
     */
    static void cancelBalance(FsInfo fs) {
        BalanceControl b = fs.balance;
        b.mutex.lock();
        try {
            if (b.ctl() == null) {
                throw new BtrfsException(Errno.ENOTCONN, "no balance on " + fs.sbId());
            }
            if (fs.sbRdonly()) {
                throw new BtrfsException(Errno.EROFS, "a paused balance on read-only " + fs.sbId() + " cannot be cancelled");
            }
            b.cancelReq.incrementAndGet();
            if (fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                b.mutex.unlock();
                try {
                    b.waitEvent("btrfs_cancel_balance", () -> !fs.flags.test(FsFlag.BALANCE_RUNNING));
                } finally {
                    b.mutex.lock();
                }
            } else {
                b.mutex.unlock();
                b.mutex.lock(); // lock released to let other waiters go on; look again
                if (b.ctl() != null) {
                    resetBalanceState(fs);
                    fs.exclop.finish();
                    fs.log().info(fs.sbId(), "balance: canceled");
                }
            }
            if (b.ctl() != null || fs.flags.test(FsFlag.BALANCE_RUNNING)) {
                throw fs.log().bug("volumes.c", 4405, "BUG_ON(fs_info->balance_ctl || BTRFS_FS_BALANCE_RUNNING)");
            }
            b.cancelReq.decrementAndGet();
        } finally {
            b.mutex.unlock();
        }
    }

    /** kernel: btrfs_ioctl_balance_progress() — ENOTCONN without a balance. */
    static BalanceProgress progress(FsInfo fs) {
        fs.balance.mutex.lock();
        try {
            return progressLocked(fs);
        } finally {
            fs.balance.mutex.unlock();
        }
    }

    /**
     * kernel: btrfs_update_ioctl_balance_args() as btrfs_balance calls it for its ioctl: it dereferences
     * fs_info->balance_ctl, which someone else's reset_balance_state may have cleared meanwhile — a NULL pointer
     * dereference, the task killed there (holding balance_mutex).
     */
    private static BalanceProgress updateIoctlBalanceArgs(FsInfo fs) {
        if (fs.balance.ctl() == null) {
            throw fs.log().oops(org.jbtrfs.core.LogEntry.Kind.OOPS,
                "BUG: kernel NULL pointer dereference, address: 0000000000000000\n#PF: supervisor read access in kernel mode\n"
                    + "RIP: 0010:btrfs_update_ioctl_balance_args+0x1d/0x150 [btrfs]\nCall Trace:\n"
                    + KernelLog.callTrace(new Throwable(), 1));
        }
        return progressLocked(fs);
    }

    /** kernel: btrfs_update_ioctl_balance_args() under balance_mutex (the progress ioctl tested balance_ctl first). */
    private static BalanceProgress progressLocked(FsInfo fs) {
        BalanceControl b = fs.balance;
        BalanceCtl bctl = b.ctl();
        if (bctl == null) {
            throw new BtrfsException(Errno.ENOTCONN, "no balance on " + fs.sbId());
        }
        long state = 0;
        if (fs.flags.test(FsFlag.BALANCE_RUNNING)) {
            state |= STATE_RUNNING;
        }
        if (b.pauseReq.get() != 0) {
            state |= STATE_PAUSE_REQ;
        }
        if (b.cancelReq.get() != 0) {
            state |= STATE_CANCEL_REQ;
        }
        synchronized (b.lock()) {
            return new BalanceProgress(bctl.flags, state, bctl.expected, bctl.considered, bctl.completed);
        }
    }

    /** describe_balance_start_or_resume()'s text: "-f", then "-d", "-m", "-s" with each type's filters. */
    static String describe(BalanceCtl bctl) {
        List<String> parts = new ArrayList<>();
        if ((bctl.flags & BalanceCtl.FORCE) != 0) {
            parts.add("-f");
        }
        if ((bctl.flags & BalanceCtl.DATA) != 0) {
            parts.add("-d" + describe(bctl.data));
        }
        if ((bctl.flags & BalanceCtl.METADATA) != 0) {
            parts.add("-m" + describe(bctl.meta));
        }
        if ((bctl.flags & BalanceCtl.SYSTEM) != 0) {
            parts.add("-s" + describe(bctl.sys));
        }
        return String.join(" ", parts);
    }

    /** describe_balance_args(): the filters, comma-separated. */
    private static String describe(BalanceArgs a) {
        List<String> f = new ArrayList<>();
        if ((a.flags() & BalanceArgs.SOFT) != 0) {
            f.add("soft");
        }
        if ((a.flags() & BalanceArgs.USAGE) != 0) {
            f.add("usage=" + a.usage());
        }
        if ((a.flags() & BalanceArgs.VRANGE) != 0) {
            f.add("vrange=" + Long.toUnsignedString(a.vstart()) + ".." + Long.toUnsignedString(a.vend()));
        }
        return String.join(",", f);
    }
}
