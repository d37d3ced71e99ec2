package org.jbtrfs.fs;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.BlockGroups;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.FreeSpaceTree;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Mkfs;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransactionKthread;
import org.jbtrfs.transaction.UuidScan;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.workqueue.FsWorkqueues;

/**
 * Mounting: btrfs_mount_root → open_ctree (fs/btrfs/disk-io.c) and btrfs_start_pre_rw_mount, in
 * kernel order (v5.11 with every fix; each reverted switch restores its earlier placement).
 */
final class OpenCtree {
    private OpenCtree() { }

    /**
     * kernel: open_ctree() in fs/btrfs/disk-io.c (called from btrfs_mount_root / btrfs_fill_super).
     * On failure everything started so far is torn down in the kernel's unwinding order and the error
     * is thrown: nothing keeps running.
     */
    static FsContext openCtree(BtrfsModule module, BlockDevice dev, MountOptions opts) {
        Kernel kernel = module.kernel();
        // read and validate the primary superblock (btrfs_read_dev_super + btrfs_validate_super)
        SuperBlock sb = DiskIo.readSuper(dev, kernel.crc32c());
        if (sb.devid == org.jbtrfs.core.disk.DevReplaceItem.DEV_REPLACE_DEVID) {
            // the kernel assembles a filesystem from any of its devices; the port mounts one through its devid 1
            throw new BtrfsException(Errno.EINVAL, dev.name() + " is the target of a device replace (devid 0): mount the "
                + "filesystem through its source device");
        }
        // btrfs_init_fs_info(); btrfs_mount_root decides CSUM_IMPL_FAST from the crc32c driver's name
        FsInfo fs = new FsInfo(kernel, dev, sb, Mkfs.spaceManager(dev.size()));
        fs.setSbRdonlyFlag(opts.readOnly());
        // (no "using crc32c (...) checksum algorithm" line: that message is a 2022 kernel's)
        // btrfs_parse_options(), the free space cache options: they need the superblock (EINVAL before
        // anything was started)
        SpaceCacheOptions.parse(fs, opts.spaceCache());
        CompressOptions.apply(fs, opts.compress());
        MountOptions.applyAutodefrag(fs, opts.autodefrag());
        MountOptions.applyRescanUuidTree(fs, opts.rescanUuidTree());
        MountOptions.applySkipBalance(fs, opts.skipBalance());
        MountOptions.applyDiscard(fs, opts.discard());
        MountOptions.applyFlushOnCommit(fs, opts.flushOnCommit());
        // compat_ro features this kernel does not know refuse a read-write mount
        long unsupported = sb.compatRoFlags & ~SuperBlock.COMPAT_RO_SUPP;
        if (!opts.readOnly() && unsupported != 0) {
            kernel.log().error(dev.name(), "cannot mount read-write because of unsupported optional features ("
                + Long.toHexString(unsupported) + ")");
            throw new BtrfsException(Errno.EINVAL, "unsupported compat_ro features 0x" + Long.toHexString(unsupported)
                + " on " + dev.name());
        }
        // init_mount_fs_info(): patch 3/5 — an RO mount starts with BTRFS_FS_STATE_RO set
        if (opts.readOnly() && fs.applied(FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            fs.fsState.set(FsState.RO);
        }
        if ((sb.flags & SuperBlock.FLAG_ERROR) != 0) {
            fs.fsState.set(FsState.ERROR);
        }
        // btrfs_parse_options()
        if (opts.commitInterval() > 0) {
            fs.setCommitInterval(opts.commitInterval());
        }
        if (opts.threadPool() > 0) {
            fs.setThreadPoolSize(opts.threadPool()); // before btrfs_init_workqueues sizes the queues from it
        }
        if (sb.logRoot != 0) {
            throw new BtrfsException(Errno.EINVAL, "tree-log replay is not supported by this port (" + dev.name() + ")");
        }
        FsContext ctx = new FsContext(module, fs);
        try {
            // btrfs_init_workqueues()
            fs.setWorkqueues(FsWorkqueues.init(module.workerPool(), dev.name(), fs.threadPoolSize()));
            // init_tree_roots(): the tree root, then btrfs_read_roots() (extent, quota → QUOTA_ENABLED)
            fs.setTreeRoot(new Root(ItemType.ROOT_TREE_OBJECTID, fs.btreeInode.readTreeBlock(sb.root, sb.generation), null));
            FsRoots.initRootFreeObjectid(fs, fs.treeRoot());
            fs.setExtentRoot(FsRoots.readRoot(fs, ItemType.EXTENT_TREE_OBJECTID));
            if (fs.extentRoot() == null) {
                throw new BtrfsException(Errno.EUCLEAN, "failed to read extent root on " + dev.name());
            }
            fs.setQuotaRoot(FsRoots.readRoot(fs, ItemType.QUOTA_TREE_OBJECTID));
            // the UUID tree, if a read-write mount made one (ENOENT is no error)
            fs.setUuidRoot(FsRoots.readRoot(fs, ItemType.UUID_TREE_OBJECTID));
            fs.setDevRoot(FsRoots.readRoot(fs, ItemType.DEV_TREE_OBJECTID));
            if (fs.devRoot() == null) {
                throw new BtrfsException(Errno.EUCLEAN, "failed to read dev root on " + dev.name());
            }
            // the csum root (without -o rescue=ignorebadroots, which the port does not model, its absence fails the mount)
            fs.setCsumRoot(FsRoots.readRoot(fs, ItemType.CSUM_TREE_OBJECTID));
            if (fs.csumRoot() == null) {
                throw new BtrfsException(Errno.EUCLEAN, "failed to read csum root on " + dev.name());
            }
            if (fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)) {
                fs.setFreeSpaceRoot(FsRoots.readRoot(fs, ItemType.FREE_SPACE_TREE_OBJECTID));
                if (fs.freeSpaceRoot() == null) {
                    throw new BtrfsException(Errno.EUCLEAN, "failed to read free space tree root on " + dev.name());
                }
            }
            // after init_tree_roots: a UUID tree whose generation is the superblock's is current (75ec1db8717a)
            UuidScan.markCurrentIfGenerationsMatch(fs);
            // btrfs_recover_balance(): a balance item makes the balance paused, holding the exclusive operation
            Balance.recoverBalance(fs);
            // btrfs_init_dev_stats(): each device's error counters from the device tree
            org.jbtrfs.transaction.DevStats.initDevStats(fs);
            // btrfs_init_dev_replace(): the dev-replace item, and a replace's target among the devices
            DevReplace.initDevReplace(module, fs);
            // btrfs_read_block_groups()
            BlockGroups.readBlockGroups(fs);
            // the cleaner and then the transaction kthread; the cleaner finds FS_OPEN clear and sleeps
            ctx.cleaner.startKthread();
            fs.setTransactionKthread(TransactionKthread.start(fs));
            // btrfs_read_qgroup_config()
            ctx.qgroups.readConfig();
            // v5.10 (patch 2/5 reverted): find orphan roots for RO and RW mounts alike
            if (!fs.applied(FixSwitch.ORPHAN_ROOTS_RO_MOUNT)) {
                ctx.cleaner.deadRoots().findOrphanRoots();
            }
            // v5.10, RW: btrfs_cleanup_fs_roots() (and relocation recovery) before the default subvolume is read
            if (v510(fs) && !opts.readOnly()) {
                cleanupFsRoots(ctx);
            }
            // the default subvolume
            fs.setFsRoot(FsRoots.getFsRoot(fs, ItemType.FS_TREE_OBJECTID, true));
        } catch (RuntimeException e) {
            failMount(ctx, e);
            throw e;
        }
        // an RO mount returns here (clear_oneshot): BTRFS_FS_OPEN is never set, so the cleaner never works
        if (opts.readOnly()) {
            SpaceCacheOptions.clearOneshot(fs);
            fs.readOnlyWrites.settle(); // instrumentation: nothing may commit from here on
            return ctx;
        }
        try {
            startPreRwMount(ctx);
        } catch (RuntimeException e) {
            // kernel: a failure of btrfs_start_pre_rw_mount goes through close_ctree
            CloseCtree.closeCtree(ctx);
            throw e;
        }
        // an RW mount's async discard starts here (never on an RO mount: it returned above)
        fs.discard.resume();
        try {
            uuidTreeAtMount(ctx);
        } catch (RuntimeException e) {
            CloseCtree.closeCtree(ctx);
            throw e;
        }
        kernel.hooks().arrive(Hook.MOUNT_BEFORE_FS_OPEN);
        fs.flags.set(FsFlag.OPEN);
        SpaceCacheOptions.clearOneshot(fs);
        return ctx;
    }

    /**
     * kernel: btrfs_start_pre_rw_mount() in fs/btrfs/disk-io.c — what an RW mount and an RO→RW remount
     * do before the filesystem opens for writing. With the March 2021 fix btrfs_find_orphan_roots runs
     * first, so dead roots are in fs_roots_radix before btrfs_orphan_cleanup(tree_root) could take their
     * orphan items for stale ones; without it (5.11) it runs last. With patch 2/5 reverted it is not
     * here at all (open_ctree ran it).
     */
    static void startPreRwMount(FsContext ctx) {
        FsInfo fs = ctx.fs;
        boolean orphanRootsHere = fs.applied(FixSwitch.ORPHAN_ROOTS_RO_MOUNT);
        boolean deadRootsFirst = fs.applied(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP);
        boolean cacheOpt = fs.mountOpt.test(MountOpt.SPACE_CACHE);
        // clear_cache, or a free space tree not marked valid: clear it
        boolean clearFreeSpaceTree = false;
        if (fs.mountOpt.test(MountOpt.CLEAR_CACHE) && fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)) {
            clearFreeSpaceTree = true;
        } else if (fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)
            && !fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE_VALID)) {
            fs.log().warn(fs.sbId(), "free space tree is invalid");
            clearFreeSpaceTree = true;
        }
        if (clearFreeSpaceTree) {
            fs.log().info(fs.sbId(), "clearing free space tree");
            FreeSpaceTree.clearFreeSpaceTree(fs);
        }
        if (orphanRootsHere && deadRootsFirst) {
            ctx.cleaner.deadRoots().findOrphanRoots();
        }
        if (!v510(fs)) {
            cleanupFsRoots(ctx); // 5.10 ran it in open_ctree, before reading the default subvolume
        }
        fs.cleanupWorkSem.readLock().lock();
        try {
            ctx.cleaner.orphanCleanup().orphanCleanup(fs.fsRoot());
            ctx.cleaner.orphanCleanup().orphanCleanup(fs.treeRoot());
        } finally {
            fs.cleanupWorkSem.readLock().unlock();
        }
        // btrfs_recover_relocation() under cleaner_mutex: not modelled
        // space_cache=v2 on a filesystem without the tree: create it (5.11 also on RO→RW remount)
        if (fs.mountOpt.test(MountOpt.FREE_SPACE_TREE) && !fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)) {
            fs.log().info(fs.sbId(), "creating free space tree");
            FreeSpaceTree.createFreeSpaceTree(fs);
        }
        // space_cache=v1 asked for and on disk disagree: record it, or remove every v1 cache inode
        // (orphans and delayed iputs, the cleaner runs them) and zero cache_generation (5.11)
        if (cacheOpt != fs.freeSpaceCacheV1Active()) {
            if (cacheOpt) {
                ctx.cleaner.freeSpaceInodes().enableSpaceCacheV1();
            } else {
                ctx.cleaner.freeSpaceInodes().disableSpaceCacheV1();
            }
        }
        // btrfs_resume_balance_async(): a paused balance goes on in the btrfs-balance kthread; then
        // btrfs_resume_dev_replace_async(): a suspended replace goes on in the btrfs-devrepl kthread
        Balance.resumeBalanceAsync(ctx);
        DevReplace.resumeDevReplaceAsync(ctx);
        ctx.qgroups.rescanResume();
        // 5.11: a filesystem that never had a read-write mount gets its UUID tree here, on a mount or an RO->RW remount
        // (5.10's open_ctree did it itself, and its remount not at all)
        if (!v510(fs) && fs.uuidRoot() == null) {
            createUuidTree(fs, "failed to create the UUID tree ");
        }
        if (orphanRootsHere && !deadRootsFirst) {
            ctx.cleaner.deadRoots().findOrphanRoots();
        }
    }

    /**
     * "creating UUID tree" and btrfs_create_uuid_tree(); a failure is warned about ({@code failed}: the caller's
     * wording: 5.10's open_ctree has a colon, its btrfs_remount and 5.11's start_pre_rw_mount none) and fails the mount
     * or remount.
     */
    static void createUuidTree(FsInfo fs, String failed) {
        fs.log().info(fs.sbId(), "creating UUID tree");
        try {
            UuidScan.createUuidTree(fs);
        } catch (BtrfsException e) {
            fs.log().warn(fs.sbId(), failed + e.errno().ret());
            throw e;
        }
    }

    /**
     * The UUID tree step of open_ctree after btrfs_start_pre_rw_mount (a read-write mount only). 5.11: with a UUID
     * tree, "checking UUID tree" and the rescan kthread when {@link UuidScan#checkNeeded} says so (the tree itself was
     * created in start_pre_rw_mount). 5.10: create it when missing ("creating UUID tree"), else check it when asked or
     * when the generations differ, else mark it current.
     */
    private static void uuidTreeAtMount(FsContext ctx) {
        FsInfo fs = ctx.fs;
        if (v510(fs) && fs.uuidRoot() == null) {
            createUuidTree(fs, "failed to create the UUID tree: ");
        } else if (fs.uuidRoot() != null && UuidScan.checkNeeded(fs)) {
            fs.log().info(fs.sbId(), "checking UUID tree");
            UuidScan.checkUuidTree(fs);
        } else if (v510(fs)) {
            fs.flags.set(FsFlag.UPDATE_UUID_TREE_GEN);
        }
    }

    /**
     * kernel: btrfs_cleanup_fs_roots() in fs/btrfs/disk-io.c — orphan cleanup of every live subvolume
     * already in fs_roots_radix (roots with refs 0 are dead and skipped).
     */
    static void cleanupFsRoots(FsContext ctx) {
        for (Root r : ctx.fs.fsRootsRadix.values()) {
            if (r.refs() > 0) {
                ctx.cleaner.orphanCleanup().orphanCleanup(r);
            }
        }
    }

    /** The 5.10 code paths (no btrfs_start_pre_rw_mount yet), whatever the switches. */
    static boolean v510(FsInfo fs) { return fs.kernel.config().version() == KernelVersion.V5_10; }

    /**
     * The error labels at the end of open_ctree, in the kernel's order: free the qgroup config; stop the
     * transaction kthread, clean up transactions and free the fs roots; stop the cleaner (and write back
     * the btree inode's pages); stop every workqueue and free the block groups; iput the btree inode.
     */
    private static void failMount(FsContext ctx, RuntimeException why) {
        FsInfo fs = ctx.fs;
        fs.log().error(fs.sbId(), "open_ctree failed: " + why.getMessage());
        ctx.qgroups.freeConfig();
        stop(fs.transactionKthread());
        Transactions.cleanupTransaction(fs);
        FsRoots.freeFsRoots(fs);
        stop(fs.cleanerKthread());
        if (fs.workqueues() != null) {
            fs.workqueues().stopAll();
        }
        fs.space.freeBlockGroups(fs.log(), fs.sbId());
        fs.btreeInode.finalIput();
    }

    /** kthread_stop() of a kthread the mount started (a dead one is the caller's problem to report). */
    private static void stop(Kthread k) {
        if (k != null && !k.isFreed()) {
            k.stop();
        }
    }
}
