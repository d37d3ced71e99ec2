package org.jbtrfs.fs;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.UuidScan;

/** Unmounting: close_ctree() in fs/btrfs/disk-io.c. */
final class CloseCtree {
    /** The start of the debug line listing trans_list when patch 4/5's assertion is about to fail (the explorer reads it). */
    private static final String TRANS_LIST_AT_ASSERT = "close_ctree: trans_list at the assertion: ";
    /** The start of the debug line naming who queued the delayed iputs patch 5/5's assertion is about to find. */
    private static final String DELAYED_IPUTS_AT_ASSERT = "close_ctree: delayed iputs at the assertion: ";
    /** The start of the debug line naming the inodes still on a delalloc list when close_ctree asserts there are none. */
    private static final String DELALLOC_AT_ASSERT = "close_ctree: delalloc inodes at the assertion: ";

    private CloseCtree() { }

    /**
     * kernel: close_ctree() in fs/btrfs/disk-io.c (5.11 with patch 4/5), step by step. The order is the
     * whole point: on a read-only filesystem nothing commits here, the kthreads are stopped (stopping does
     * not commit) before the workqueues are destroyed, and the btree inode's final iput comes last — so a
     * transaction someone left open after the last commit reaches the block-group teardown (WARNINGs) and
     * the final writeback (the use-after-free on the destroyed workers queue without a fast crc32c).
     */
    static void closeCtree(FsContext ctx) {
        FsInfo fs = ctx.fs;
        KernelLog log = fs.log();
        fs.kernel.hooks().arrive(Hook.UMOUNT_START);
        // from now on btrfs_fs_closing() is true: the cleaner sleeps, the rescan and drop_snapshot stop early
        fs.flags.set(FsFlag.CLOSING_START);
        // park the cleaner at the end of its pass; not stopped yet, the transaction kthread may still wake it
        fs.cleanerKthread().park();
        fs.kernel.hooks().arrive(Hook.UMOUNT_AFTER_PARK_CLEANER);
        // wait for the qgroup rescan worker (uninterruptible)
        ctx.qgroups.waitForCompletion(false);
        // wait for the uuid_scan task to finish (it stops early: we are closing)
        UuidScan.waitForScan(fs);
        // pause the restriper: we want to resume on mount (a balance not yet running is not waited for)
        Balance.pauseBalance(fs);
        Balance.waitForResumeKthread(fs); // proposed: BALANCE_RESUME_PAUSE_RACE
        // btrfs_dev_replace_suspend_for_unmount(): a running replace is SUSPENDED, to be resumed by the next RW mount;
        // btrfs_scrub_cancel(): a scrub through another mount of this superblock stops — and the replace's copy
        DevReplace.suspendForUnmount(fs);
        fs.scrub.cancel();
        DevReplace.waitForResumeKthread(fs); // proposed: DEV_REPLACE_RESUME_SUSPEND_RACE
        // wait for any defraggers to finish (the parked cleaner ran its last btrfs_run_defrag_inodes), then clear out
        // the tree of defraggable inodes
        ctx.defrag.waitForDefraggers();
        ctx.defrag.cleanupDefragInodes();
        // df94a342efb4: the error cleanup waits for every ordered extent first, so the flushes below wait for
        // their last puts and run the delayed iputs those queue (a patch on top of the flush block)
        boolean errorCleanupEarly = DiskIo.errorCommitSuperEarly(fs);
        boolean cleanedUpEarly = errorCleanupEarly && inError(fs);
        if (cleanedUpEarly) {
            errorCommitSuper(fs);
        }
        if (fs.applied(FixSwitch.DELALLOC_FLUSH_AT_UMOUNT)) {
            // v6.13: a compressed write's async chunk may still be running its last step (sync_filesystem waited
            // for its pages, not for it): its async_cow_free's delayed iput would wake the cleaner after
            // kthread_stop below
            fs.workqueues().delallocWorkers.flush();
        }
        if (fs.applied(FixSwitch.WORKERS_FLUSH_AT_UMOUNT)) {
            // cda76788f8b0 (v6.15): a data bio's checksum-and-submit work may still be queued on fs_info->workers (an
            // aborted filesystem's umount waited for no writeback); its completion queues the ordered extent's finish,
            // whose last put is a delayed iput — flush it before the endio flushes and their btrfs_run_delayed_iputs
            fs.workqueues().workers.flush();
        }
        if (fs.applied(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)) {
            // later kernels: an ordered extent may have completed after sync_filesystem's wait and dropped its
            // last inode reference with btrfs_add_delayed_iput — btrfs_wait_ordered_roots only waits for
            // BTRFS_ORDERED_COMPLETE, the final put comes after. Flush the queues those completions run on,
            // then run the delayed iputs the parked cleaner will not.
            fs.workqueues().endioWriteWorkers.flush();
            fs.workqueues().endioFreespaceWorker.flush();
            ctx.cleaner.delayedIputs().run();
        }
        // cancel_work_sync(&fs_info->async_reclaim_work), then async_data_reclaim_work's: a reclaim flushing now finishes
        // its state first; a reservation made after this queues it again; a queued work is dropped with its tickets
        // waiting (proposed fix inside: ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS)
        fs.asyncReclaim().cancelSync();
        fs.asyncDataReclaim().cancelSync();
        if (fs.preemptReclaim() != null) {
            fs.preemptReclaim().cancelSync(); // 5.12's third reclaim work
        }
        if (reclaimWritebackWaited(fs)) {
            // proposed: a round the cancels waited for may have written pages the umount's sync did not (autodefrag
            // re-dirtied them after it) and waited for none of it — its chunks, its ordered extents, their last puts
            fs.workqueues().delallocWorkers.flush();
            ctx.ordered.waitOrderedRoots();
            fs.workqueues().endioWriteWorkers.flush();
            fs.workqueues().endioFreespaceWorker.flush();
        }
        if (fs.applied(FixSwitch.RECLAIM_IPUTS_AT_UMOUNT) && fs.applied(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)) {
            // a reclaim work flushing delalloc hands each inode it wrote to btrfs_add_delayed_iput: the cancels waited for
            // it after the run above — run them again (on an aborted filesystem nothing later would)
            ctx.cleaner.delayedIputs().run();
        }
        // cancel or finish ongoing discard work
        fs.discard.cleanup();
        if (!fs.sbRdonly()) {
            // the cleaner is parked: delete unused block groups one last time, then commit everything
            ctx.cleaner.unusedBlockGroups().deleteUnusedBgs();
            if (fs.applied(FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL)) {
                // proposed: that pass's reservation may have queued the reclaim work again; let it finish before the
                // commit below, so whatever it joins is committed
                fs.asyncReclaim().cancelSync();
                fs.asyncDataReclaim().cancelSync();
            }
            fs.workqueues().delayedWorkers.flush();
            try {
                DiskIo.commitSuper(fs);
            } catch (BtrfsException e) {
                // the kernel prints only the errno; the port keeps the message and cause at debug level
                log.error(fs.sbId(), "commit super ret " + e.errno().ret());
                log.log(org.jbtrfs.core.LogLevel.DEBUG, org.jbtrfs.core.LogEntry.Kind.TEXT,
                    "commit super failed: " + e.getMessage() + (e.getCause() == null ? "" : ", caused by " + e.getCause())
                        + "\n" + KernelLog.callTrace(e, 0));
            }
        }
        // 5.11: the error cleanup here, after the commit; df94a342efb4 (v6.15) moved it before the flushes and removed
        // this one — an error from the umount's own delete_unused_bgs or commit_super is then left to the transaction
        // kthread's loop, if it runs before kthread_stop (ERROR_DURING_CLOSE_CTREE, proposed: clean up here as well)
        if (inError(fs) && (!errorCleanupEarly || !cleanedUpEarly && fs.applied(FixSwitch.ERROR_DURING_CLOSE_CTREE))) {
            errorCommitSuper(fs);
        }
        fs.kernel.hooks().arrive(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
        fs.transactionKthread().stop();
        fs.cleanerKthread().stop();
        // the cleaner cannot run delayed iputs any more: none may be left (patch 5/5's assertion)
        if (!ctx.cleaner.delayedIputs().isEmpty()) {
            // who queued them, at debug level (what the queueing task's stack in a crash dump would say; the explorer reads it)
            log.log(org.jbtrfs.core.LogLevel.DEBUG, org.jbtrfs.core.LogEntry.Kind.TEXT,
                DELAYED_IPUTS_AT_ASSERT + ctx.cleaner.delayedIputs().pendingWithOrigins());
        }
        log.assertThat(ctx.cleaner.delayedIputs().isEmpty(), "list_empty(&fs_info->delayed_iputs)", "disk-io.c", 4049);
        fs.flags.set(FsFlag.CLOSING_DONE);
        // btrfs_check_quota_leak(): not modelled — the port keeps no per-qgroup reservations to leak
        ctx.qgroups.freeConfig();
        delallocAtUnmount(ctx);
        // invalidate_inode_pages2(btree mapping) drops clean pages only; dirty ones stay for the final iput
        fs.kernel.hooks().arrive(Hook.UMOUNT_BEFORE_STOP_WORKERS);
        fs.workqueues().stopAll();
        if (fs.applied(FixSwitch.TRANS_LIST_ASSERT)) {
            // patch 4/5: "We shouldn't have any transaction open at this point."
            if (!fs.transList().isEmpty()) {
                // what a crash dump would show of trans_list at the BUG, at debug level: a committer still in its tail
                // may take its transaction off the list before anyone inspects what the umount left
                log.log(org.jbtrfs.core.LogLevel.DEBUG, org.jbtrfs.core.LogEntry.Kind.TEXT, TRANS_LIST_AT_ASSERT
                    + fs.transList().stream().map(t -> "transaction " + t.transid + " (" + t.state() + ") handles "
                        + t.handles().stream().map(h -> h.function() + "@" + h.thread()).toList()).toList());
            }
            log.assertThat(fs.transList().isEmpty(), "list_empty(&fs_info->trans_list)", "disk-io.c", 4185);
        }
        fs.flags.clear(FsFlag.OPEN);
        // free_root_pointers(), btrfs_free_fs_roots()
        FsRoots.freeFsRoots(fs);
        // btrfs_free_block_groups(): the WARNINGs and space_info dump when something is still reserved
        fs.space.freeBlockGroups(log, fs.sbId());
        // iput(btree_inode): writes back whatever is still dirty — through the destroyed workers queue
        // when crc32c is not accelerated
        fs.btreeInode.finalIput();
        // btrfs_close_devices() → close_fs_devices(): the in-memory devices stay with the module, their changes-to-write
        // count zeroed (btrfs_close_one_device)
        org.jbtrfs.transaction.DevStats.closeDevices(fs);
    }

    /**
     * kernel: close_ctree()'s ASSERT(list_empty(&fs_info->delalloc_roots)) and its "at unmount delalloc count" (5.11;
     * dio_bytes' line has nothing to count: no direct I/O in the port). By now sync_filesystem wrote every dirty page
     * and evict_inodes dropped every unused inode with its pages; an inode still on a delalloc list was dirtied after the
     * sync and held through the eviction. Which ones, at debug level first (what a crash dump's lists would show).
     */
    private static void delallocAtUnmount(FsContext ctx) {
        KernelLog log = ctx.fs.log();
        java.util.List<InodeData> listed = DelallocInodes.list(ctx.cleaner.inodes());
        if (!listed.isEmpty()) {
            log.log(org.jbtrfs.core.LogLevel.DEBUG, org.jbtrfs.core.LogEntry.Kind.TEXT, DELALLOC_AT_ASSERT + listed.stream()
                .map(d -> "inode " + d.inode.ino() + " (root " + d.inode.root().objectid() + ", i_count " + d.inode.count()
                    + ", delalloc " + d.delallocBytes() + ")").toList());
        }
        log.assertThat(listed.isEmpty(), "list_empty(&fs_info->delalloc_roots)", "disk-io.c", 4162);
        long count = DelallocInodes.bytes(ctx.cleaner.inodes());
        if (count != 0) {
            log.info(ctx.fs.sbId(), "at unmount delalloc count " + count);
        }
    }

    /**
     * Whether close_ctree waits for the writeback of the reclaim rounds its cancels waited for: the proposed
     * {@link FixSwitch#RECLAIM_WRITEBACK_AT_UMOUNT}, a patch on mainline's close_ctree — its flush block
     * ({@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT}, {@link FixSwitch#WORKERS_FLUSH_AT_UMOUNT},
     * {@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT}) and the early error cleanup ({@link FixSwitch#ERROR_COMMIT_SUPER_EARLY}).
     * Its wait for every ordered extent would also take the late puts those fixes are about; applied without them it
     * changes nothing, so each of them, reverted, still shows its own window.
     */
    private static boolean reclaimWritebackWaited(FsInfo fs) {
        return fs.applied(FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT) && fs.applied(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT)
            && fs.applied(FixSwitch.WORKERS_FLUSH_AT_UMOUNT) && fs.applied(FixSwitch.DELALLOC_FLUSH_AT_UMOUNT)
            && fs.applied(FixSwitch.ERROR_COMMIT_SUPER_EARLY);
    }

    /** 5.11's test before btrfs_error_commit_super: BTRFS_FS_STATE_ERROR or BTRFS_FS_STATE_TRANS_ABORTED. */
    private static boolean inError(FsInfo fs) {
        return fs.fsState.test(FsState.ERROR) || fs.fsState.test(FsState.TRANS_ABORTED);
    }

    /** kernel: btrfs_error_commit_super(), announced at {@link Hook#UMOUNT_BEFORE_ERROR_COMMIT_SUPER}. */
    private static void errorCommitSuper(FsInfo fs) {
        if (fs.applied(FixSwitch.DELAYED_WORKERS_AT_ERROR_UMOUNT)) {
            // proposed: as the read-write branch below does before its commit — a delayed-meta work holding a handle
            // ends it now, while the transaction kthread its end wakes on an aborted filesystem still runs
            fs.workqueues().delayedWorkers.flush();
        }
        fs.kernel.hooks().arrive(Hook.UMOUNT_BEFORE_ERROR_COMMIT_SUPER);
        DiskIo.errorCommitSuper(fs);
    }
}
