package org.jbtrfs.fs;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.UuidScan;

/** kernel: btrfs_remount() in fs/btrfs/super.c */
final class Remount {
    private Remount() { }

    /**
     * kernel: btrfs_remount() in fs/btrfs/super.c (5.11 with patches 1, 3 and 5), in order. REMOUNTING is
     * set for every remount and cleared on every exit, including the error path that restores the old
     * flags. After the options: btrfs_remount_begin (with autodefrag on before: wait for the defragger, and going
     * RO sync again); on every exit btrfs_remount_cleanup (empty the defrag tree when autodefrag went off or the
     * filesystem is RO; resume or clean up async discard when the remount toggled it). Going RO: stop async discard
     * (btrfs_discard_cleanup), wait for the UUID tree scan, set the RO flag(s), delete unused block groups, wait for
     * the cleaner's pass to end (3/5), run the delayed iputs the sleeping cleaner will never run (5/5), wait for the
     * qgroup rescan worker, which stops because of REMOUNTING (1/5), then commit everything with btrfs_commit_super.
     * Going RW: the checks, btrfs_start_pre_rw_mount, clear the RO flag(s), set FS_OPEN, and (981a37bab5e5, a switch)
     * btrfs_discard_resume.
     */
    static void remount(FsContext ctx, String options) {
        FsInfo fs = ctx.fs;
        // sync_filesystem(sb): write back and wait for all data and metadata, wait for the ordered extents,
        // commit; a no-op on a read-only superblock. btrfs_remount ignores its result: after a failed
        // commit (aborted, forced RO) the remount goes on and finds the filesystem read-only
        Vfs.syncFilesystem(ctx);
        fs.fsState.set(FsState.REMOUNTING);
        boolean oldRo = fs.sbRdonly();
        int oldCommit = fs.commitInterval();
        int oldThreadPool = fs.threadPoolSize();
        long oldOpts = fs.mountOpt.raw();
        String oldCompressType = fs.compressType();
        try {
            MountOptions opts = MountOptions.parse(options, fs.log(), fs.sbId());
            if (opts.commitInterval() > 0) {
                fs.setCommitInterval(opts.commitInterval());
            }
            if (opts.threadPool() > 0) {
                fs.setThreadPoolSize(opts.threadPool());
            }
            SpaceCacheOptions.parse(fs, opts.spaceCache());
            CompressOptions.apply(fs, opts.compress());
            MountOptions.applyAutodefrag(fs, opts.autodefrag());
            MountOptions.applyRescanUuidTree(fs, opts.rescanUuidTree());
            MountOptions.applySkipBalance(fs, opts.skipBalance());
            MountOptions.applyDiscard(fs, opts.discard());
            MountOptions.applyFlushOnCommit(fs, opts.flushOnCommit());
            remountBegin(ctx, oldOpts, opts.readOnly());
            resizeThreadPool(fs, fs.threadPoolSize(), oldThreadPool);
            SpaceCacheOptions.remountCheck(fs, fs.sbRdonly(), opts.readOnly());
            if (opts.readOnly() != fs.sbRdonly()) {
                if (opts.readOnly()) {
                    remountRo(ctx);
                } else {
                    remountRw(ctx);
                }
            }
        } catch (RuntimeException e) {
            restore(ctx, oldRo, oldCommit, oldOpts, oldCompressType, oldThreadPool);
            throw e;
        }
        // out:
        Kthread trans = fs.transactionKthread();
        if (trans != null) {
            trans.wakeUpProcess();
        }
        remountCleanup(ctx, oldOpts);
        SpaceCacheOptions.clearOneshot(fs);
        fs.fsState.clear(FsState.REMOUNTING);
        // port instrumentation, the oracle of DISCARD_RESUME_RO_TO_RW: a writable filesystem asked to discard
        // asynchronously whose discard work may not run
        if (fs.mountOpt.test(MountOpt.DISCARD_ASYNC) && !fs.sbRdonly() && !fs.flags.test(FsFlag.DISCARD_RUNNING)
            && !fs.fsState.test(FsState.ERROR)) {
            fs.markAsyncDiscardOff();
        }
    }

    private static void remountRo(FsContext ctx) {
        FsInfo fs = ctx.fs;
        // cancel_work_sync(&fs_info->async_reclaim_work), then async_data_reclaim_work's: a reclaim flushing now finishes
        // its state first; a reservation made after this queues it again; a queued work is dropped with its tickets
        // waiting (proposed fix inside: ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS)
        fs.asyncReclaim().cancelSync();
        fs.asyncDataReclaim().cancelSync();
        if (fs.preemptReclaim() != null && fs.applied(FixSwitch.PREEMPT_RECLAIM_RO_REMOUNT)) {
            // proposed (5.12): the preemptive work too — a round past its test may still join a transaction, after
            // the commit below if nobody waits for it; REMOUNTING keeps it from being queued again
            fs.preemptReclaim().cancelSync();
        }
        // "this also happens on 'umount -rf' or on shutdown, when the filesystem is busy": stop async discard
        ctx.fs.discard.cleanup();
        // wait for the uuid_scan task to finish (down and up uuid_tree_rescan_sem)
        UuidScan.waitForScan(fs);
        fs.setSbRdonly();
        fs.kernel.hooks().arrive(Hook.REMOUNT_AFTER_SET_RO);
        // the cleaner is about to sleep: delete unused block groups now
        ctx.cleaner.unusedBlockGroups().deleteUnusedBgs();
        if (fs.applied(FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            // patch 3/5: a cleaner pass in progress may still start a transaction; let it finish so the
            // commit below includes it
            // (only the cleaner kthread sets and clears it: the deadlock oracle's edge to the cleaner's task)
            fs.flags.waitOnBit(FsFlag.CLEANER_RUNNING, org.jbtrfs.core.kernel.Blockers.thread(() -> {
                var cleaner = fs.cleanerKthread();
                return cleaner == null ? null : cleaner.thread();
            }));
        }
        if (fs.applied(FixSwitch.FSYNC_RO_REMOUNT_RACE)) {
            // proposed: an fsync past its test may still start a transaction; the commit below must include it
            fs.fsyncsInFlight.waitForZero("wait_var_event(fsyncs in flight)");
        }
        if (fs.applied(FixSwitch.DELAYED_IPUTS_RO_REMOUNT)) {
            // patch 5/5: the cleaner now sleeps for as long as we are RO and would never run these
            ctx.cleaner.delayedIputs().run();
        }
        // btrfs_dev_replace_suspend_for_unmount(): a running replace is SUSPENDED (resumed by the next RW mount); then
        // btrfs_scrub_cancel(): a scrub still reading — the replace's copy among them — stops (-ECANCELED to its caller)
        DevReplace.suspendForUnmount(fs);
        fs.scrub.cancel();
        // btrfs_pause_balance(): a running balance stops before its next chunk, its item kept for the next RW mount
        Balance.pauseBalance(fs);
        if (fs.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT)) {
            // patch 1/5: the worker sees REMOUNTING and stops; its status update is committed below
            ctx.qgroups.waitForCompletion(false);
        }
        if (fs.applied(FixSwitch.DELAYED_WORKERS_RO_REMOUNT)) {
            // proposed, as close_ctree before its commit: a delayed-meta work that took a node may still join a
            // transaction (a new one, after the commit below, if we did not wait for it)
            fs.workqueues().delayedWorkers.flush();
        }
        if (fs.applied(FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL)) {
            // proposed: the reservations since the cancel above (our btrfs_delete_unused_bgs, the cleaner's pass) may
            // have queued the reclaim works again; let them finish before the last commit of the read-only filesystem
            fs.asyncReclaim().cancelSync();
            fs.asyncDataReclaim().cancelSync();
        }
        fs.kernel.hooks().arrive(Hook.REMOUNT_BEFORE_COMMIT_SUPER);
        DiskIo.commitSuper(fs);
        fs.readOnlyWrites.settle(); // instrumentation: the last commit of the read-only filesystem
        fs.kernel.hooks().arrive(Hook.REMOUNT_AFTER_COMMIT_SUPER);
    }

    private static void remountRw(FsContext ctx) {
        FsInfo fs = ctx.fs;
        if (fs.fsState.test(FsState.ERROR)) {
            fs.log().error(fs.sbId(), "Remounting read-write after error is not allowed");
            throw new BtrfsException(Errno.EINVAL, "Remounting read-write after error is not allowed");
        }
        fs.readOnlyWrites.unsettle(); // instrumentation: the commits from here on are the remount's own
        // rw_devices == 0, too many missing devices, log root present: single healthy device here
        if (OpenCtree.v510(fs)) {
            // 5.10: no btrfs_start_pre_rw_mount — cleanup_fs_roots, relocation recovery, balance and
            // dev-replace resume, the qgroup rescan resume, the uuid tree; no btrfs_find_orphan_roots and no
            // orphan cleanup of the tree root (open_ctree loaded the dead roots, even on an RO mount)
            OpenCtree.cleanupFsRoots(ctx);
            Balance.resumeBalanceAsync(ctx);
            DevReplace.resumeDevReplaceAsync(ctx);
            ctx.qgroups.rescanResume();
            if (fs.uuidRoot() == null) {
                // btrfs_remount's own "creating UUID tree" (since long before 5.10; 44c0ca211a4d moved it, with the
                // rest of this block, into btrfs_start_pre_rw_mount): a filesystem first mounted read-only gets its
                // tree here
                OpenCtree.createUuidTree(fs, "failed to create the UUID tree ");
            }
        } else {
            try {
                OpenCtree.startPreRwMount(ctx);
            } catch (BtrfsException e) {
                if (fs.applied(FixSwitch.REMOUNT_RW_FAILURE_COMMIT)) {
                    // proposed fix: what btrfs_start_pre_rw_mount did before failing (btrfs_find_orphan_roots
                    // deleting a stray orphan item) is committed before the restore keeps SB_RDONLY; otherwise its
                    // transaction stays on a read-only filesystem that close_ctree does not commit
                    try {
                        DiskIo.commitSuper(fs);
                    } catch (BtrfsException commitError) {
                        // aborted: the filesystem is in error, close_ctree's btrfs_error_commit_super cleans up
                    }
                }
                throw e;
            }
        }
        fs.kernel.hooks().arrive(Hook.REMOUNT_RW_AFTER_PRE_RW_MOUNT);
        fs.clearSbRdonly();
        fs.flags.set(FsFlag.OPEN);
        if (fs.applied(FixSwitch.DISCARD_RESUME_RO_TO_RW)) {
            // 981a37bab5e5: "If we've gone from readonly -> read/write, we need to get our sync/async discard lists in
            // the right state." (btrfs_discard_resume tests the option itself)
            fs.discard.resume();
        }
    }

    /**
     * kernel: btrfs_remount_begin() in fs/btrfs/super.c — when autodefrag was on and is being turned off or the
     * filesystem goes read-only, wait for the defragger (the cleaner's btrfs_run_defrag_inodes, which stops at
     * REMOUNTING) and, going read-only, sync_filesystem again: the pages it re-dirtied after the first sync.
     */
    private static void remountBegin(FsContext ctx, long oldOpts, boolean readOnly) {
        FsInfo fs = ctx.fs;
        if (rawTest(oldOpts, MountOpt.AUTO_DEFRAG) && (!fs.mountOpt.test(MountOpt.AUTO_DEFRAG) || readOnly)) {
            ctx.defrag.waitForDefraggers();
            if (readOnly) {
                Vfs.syncFilesystem(ctx);
            }
        }
    }

    /**
     * kernel: btrfs_remount_cleanup() in fs/btrfs/super.c — "cleanup all defragable inodes if the autodefragment is
     * close or the filesystem is read only"; async discard toggled on resumes it, toggled off cleans it up. (An
     * RO→RW remount that does not toggle it does not resume it: 5.11's btrfs_remount has no btrfs_discard_resume, so
     * async discard stays off after an RO remount until the next mount — upstream since 2023.)
     */
    private static void remountCleanup(FsContext ctx, long oldOpts) {
        FsInfo fs = ctx.fs;
        if (rawTest(oldOpts, MountOpt.AUTO_DEFRAG) && (!fs.mountOpt.test(MountOpt.AUTO_DEFRAG) || fs.sbRdonly())) {
            ctx.defrag.cleanupDefragInodes();
        }
        if (!rawTest(oldOpts, MountOpt.DISCARD_ASYNC) && fs.mountOpt.test(MountOpt.DISCARD_ASYNC)) {
            fs.discard.resume();
        } else if (rawTest(oldOpts, MountOpt.DISCARD_ASYNC) && !fs.mountOpt.test(MountOpt.DISCARD_ASYNC)) {
            fs.discard.cleanup();
        }
    }

    /**
     * kernel: btrfs_resize_thread_pool() in fs/btrfs/super.c — nothing when the size did not change; else store it,
     * log it, and btrfs_workqueue_set_max on the queues sized from it at open_ctree (not the ones pinned to 1, nor
     * flush_delalloc, fixup, endio-raid56, rmw: 5.11's list), then on fs_info->scrub_wr_completion_workers as it
     * reads it, with no lock: a scrub ending meanwhile destroys that queue under the store (the use-after-free
     * {@link FixSwitch#RESIZE_THREAD_POOL_SCRUB_RACE} removes, as 5.19 did).
     */
    static void resizeThreadPool(FsInfo fs, int newSize, int oldSize) {
        if (newSize == oldSize) {
            return;
        }
        fs.setThreadPoolSize(newSize);
        fs.log().info(fs.sbId(), "resize thread pool " + oldSize + " -> " + newSize);
        var wq = fs.workqueues();
        wq.workers.setMax(newSize);
        wq.delallocWorkers.setMax(newSize);
        wq.cachingWorkers.setMax(newSize);
        wq.endioWorkers.setMax(newSize);
        wq.endioMetaWorkers.setMax(newSize);
        wq.endioMetaWriteWorkers.setMax(newSize);
        wq.endioWriteWorkers.setMax(newSize);
        wq.endioFreespaceWorker.setMax(newSize);
        wq.delayedWorkers.setMax(newSize);
        wq.readaheadWorkers.setMax(newSize);
        if (!fs.applied(FixSwitch.RESIZE_THREAD_POOL_SCRUB_RACE)) {
            // btrfs_workqueue_set_max(fs_info->scrub_wr_completion_workers, ...): null (no scrub) is a no-op
            var scrubWrComp = fs.scrub.wrCompletionWorkersUnlocked();
            if (scrubWrComp != null) {
                fs.kernel.hooks().arrive(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX);
                scrubWrComp.setMax(newSize);
            }
        }
    }

    /** btrfs_raw_test_opt(): a bit of a saved mount_opt word. */
    private static boolean rawTest(long raw, MountOpt o) { return (raw & (1L << o.ordinal())) != 0; }

    /**
     * The restore label: a filesystem that is read-only now stays read-only ("don't reset SB_RDONLY on
     * error"); patch 3/5 also clears BTRFS_FS_STATE_RO when the saved flags were read-write.
     */
    private static void restore(FsContext ctx, boolean oldRo, int oldCommit, long oldOpts, String oldCompressType,
                                int oldThreadPool) {
        FsInfo fs = ctx.fs;
        boolean ro = oldRo || fs.sbRdonly();
        fs.setSbRdonlyFlag(ro);
        if (fs.applied(FixSwitch.CLEANER_RO_REMOUNT_RACE) && !ro) {
            fs.fsState.clear(FsState.RO);
        }
        fs.setCommitInterval(oldCommit);
        restoreMountOpt(fs, oldOpts); // fs_info->mount_opt = old_opts
        fs.setCompressType(oldCompressType); // fs_info->compress_type = old_compress_type
        resizeThreadPool(fs, oldThreadPool, fs.threadPoolSize());
        remountCleanup(ctx, oldOpts);
        fs.fsState.clear(FsState.REMOUNTING);
    }

    private static void restoreMountOpt(FsInfo fs, long raw) {
        for (MountOpt o : MountOpt.values()) {
            if (rawTest(raw, o)) {
                fs.mountOpt.set(o);
            } else {
                fs.mountOpt.clear(o);
            }
        }
    }
}
