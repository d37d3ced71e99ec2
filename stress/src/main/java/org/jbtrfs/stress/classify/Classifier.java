package org.jbtrfs.stress.classify;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.stress.schedule.Roles;
import org.jbtrfs.transaction.Transaction;

/**
 * Turns an {@link Observation} into symptoms and an attribution, the way a kernel developer reads a
 * crash: what the log says (which WARN, which assertion, which KASAN report), and who opened the
 * transaction that leaked — the handles of a leaked transaction name the kernel function and thread
 * that started it, and each of those belongs to exactly one of the fixes.
 */
public final class Classifier {
    public static final String UNKNOWN = "unknown";

    /**
     * The port's instrumentation symptoms, each the oracle of one fix: it explains that symptom only — a cycle that also
     * failed otherwise needs its own culprit for the rest (or is unexplained) — and the cycle keeps its module.
     */
    public static final java.util.Map<Symptom, FixSwitch> SELF_EXPLAINED = java.util.Map.of(
        Symptom.NEEDLESS_UUID_RESCAN, FixSwitch.UUID_RESCAN_GENERATION_CHECK,
        Symptom.ASYNC_DISCARD_OFF, FixSwitch.DISCARD_RESUME_RO_TO_RW);

    private Classifier() { }

    /** The verdict; {@code candidates}: every switch the evidence points at, applied or not. */
    public record Verdict(Set<Symptom> symptoms, Set<String> bugs, List<String> evidence, Set<FixSwitch> candidates) {
        Verdict(Set<Symptom> symptoms, Set<String> bugs, List<String> evidence) {
            this(symptoms, bugs, evidence, EnumSet.noneOf(FixSwitch.class));
        }
    }

    public static Verdict classify(Observation o, Set<FixSwitch> reverted) {
        Set<Symptom> symptoms = EnumSet.noneOf(Symptom.class);
        Set<FixSwitch> culprits = EnumSet.noneOf(FixSwitch.class);
        List<String> evidence = new ArrayList<>();
        if (o.log.stream().anyMatch(l -> l.message().contains(": Aborting unused transaction("))) {
            // an abort that left its transaction running (5.10-5.13): what follows in that transaction — a drop
            // snapshot retried on its own queued frees (BUG at extent-tree.c:4888, then the dead cleaner), quota enable
            // on the root item a failed disable kept (-EEXIST) — is the unused abort's (stop 69)
            culprits.add(FixSwitch.ABORT_UNUSED_TRANS_HANDLE);
        }
        for (LogEntry e : o.log) {
            switch (e.kind()) {
                case USE_AFTER_FREE -> {
                    symptoms.add(Symptom.USE_AFTER_FREE);
                    if (e.message().contains("in wake_up_process") && e.thread() != null && e.thread().contains("kworker")) {
                        if (e.message().contains("task_struct of btrfs-transaction")
                            && e.message().contains("DelayedInodes.asyncRunDelayedRoot")) {
                            // a delayed-meta work's btrfs_end_transaction on an aborted filesystem, after close_ctree's
                            // cleanup saw its writer gone and stopped the kthread (stop 64: delayed_workers is flushed
                            // only on a read-write filesystem)
                            culprits.add(FixSwitch.DELAYED_WORKERS_AT_ERROR_UMOUNT);
                        } else if (e.message().contains("task_struct of btrfs-transaction")) {
                            // a rescan worker's btrfs_end_transaction after its complete_all woke the transaction
                            // kthread close_ctree had stopped meanwhile (its commit failed: the error state)
                            culprits.add(FixSwitch.QGROUP_RESCAN_END_BEFORE_COMPLETE);
                        } else {
                            // an endio-write worker's btrfs_add_delayed_iput woke the cleaner close_ctree had already
                            // stopped: the ordered extents nobody flushed after the cleaner was parked
                            culprits.add(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT);
                            // or a compressed write's async chunk (its async_cow_free) that close_ctree did not flush
                            culprits.add(FixSwitch.DELALLOC_FLUSH_AT_UMOUNT);
                            // or the ordered extent of a reclaim round's writeback, which nothing waited for (stop 63)
                            culprits.add(FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT);
                        }
                    }
                    if (e.message().startsWith("BUG: KASAN: use-after-free in btrfs_dev_replace_")
                        || e.message().startsWith("BUG: KASAN: use-after-free in btrfs_exclop_finish")) {
                        // a resumed replace's kthread that ended after the umount freed fs_info (stop 65)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
                    }
                    if (e.message().startsWith("BUG: KASAN: use-after-free in balance_kthread")
                        || e.message().startsWith("BUG: KASAN: use-after-free in __btrfs_balance")) {
                        // a resumed balance's kthread that reached balance_mutex after the umount freed fs_info, or
                        // the walk of a balance_ctl the kthread's btrfs_balance reset and freed (stop 64)
                        culprits.add(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
                    }
                    if (e.message().startsWith("BUG: KASAN: use-after-free in btrfs_workqueue_set_max")) {
                        // a remount's btrfs_resize_thread_pool storing into the scrub completion queue a scrub's end
                        // destroyed meanwhile (stop 67)
                        culprits.add(FixSwitch.RESIZE_THREAD_POOL_SCRUB_RACE);
                    }
                    if (e.message().contains("(struct btrfs_root of tree " + org.jbtrfs.core.disk.ItemType.QUOTA_TREE_OBJECTID + ")")) {
                        // the quota root quota enable put after publishing it (its rescan init lost to a rescan ioctl)
                        culprits.add(FixSwitch.QUOTA_ENABLE_RESCAN_EINPROGRESS);
                    }
                }
                case WARNING -> {
                    if (devReplaceCommitWarning(e.message()) && !o.injected.isEmpty()) {
                        break; // the kernel's warning of the commit an injected fault failed
                    }
                    if (e.message().contains("dev-replace.c:1096 btrfs_dev_replace_kthread") && !closingCopy(o.log)
                        && !o.injected.isEmpty()) {
                        break; // the resumed replace's end failed on an injected error (its copy or commit): the kernel's WARN
                    }
                    symptoms.add(Symptom.WARNING);
                    boolean fullDevice = e.message().contains("dev-replace.c:1096 btrfs_dev_replace_kthread")
                        && copyFailedNoSpace(o.log, e);
                    if (fullDevice) {
                        // the resumed copy found the device full (-ENOSPC), which the ioctl's path stopped warning for
                        // in 4cea9037f82a: the kthread's WARN_ON (stop 66)
                        culprits.add(FixSwitch.DEV_REPLACE_KTHREAD_ENOSPC_WARN);
                    }
                    if (e.thread() != null && e.thread().startsWith("btrfs-devrepl") && o.injected.isEmpty() && !fullDevice
                        && (e.message().contains("dev-replace.c:1096 ") || e.message().contains("dev-replace.c:741 "))) {
                        // the resume kthread's end failing with no fault injected: a kthread nobody waited for, its
                        // finishing on a filesystem the umount closed (a cycle later than its start; stop 65, --kernel 5.12)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
                    }
                    if (e.message().contains("dev-replace.c:1096 btrfs_dev_replace_kthread") && closingCopy(o.log)) {
                        // the resume kthread's copy found the filesystem closing (-EAGAIN) before the umount's suspend:
                        // finishing ended the replace CANCELED instead of leaving it suspended (stop 65)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
                    }
                    if (e.message().contains("port-debug/check-after-commit") && (e.message().contains("UNREADABLE_BLOCK: ")
                        || e.message().contains("PARENT_TRANSID: "))) {
                        // the commit probe's stale or missing tree block (stop 73)
                        culprits.addAll(staleBlockCulprits(o));
                    }
                    if (e.message().contains("port-debug/replace-resume-point:1 ") && suspendedOrResumedReplace(o)
                        && !e.message().contains("image: SUPERBLOCK: ")) {
                        // the resume-point probe (stop 75): the target below the item's cursor lacks the committed
                        // image after a copy was suspended (an umount's or an RO remount's) or resumed — the cursor
                        // committed past the chunk the suspend cancelled (stop 78: `--revert
                        // dev-replace-cursor-past-cancelled-chunk` alone, seed 78006, 3 of 11,901 cycles; none with
                        // every fix applied)
                        culprits.add(FixSwitch.DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK);
                    }
                    if (e.message().contains("port-debug/replace-resume-point:1 ")
                        && e.message().contains("image: SUPERBLOCK: ") && e.message().contains("(bad magic)")) {
                        // the probe finds no superblock of the filesystem on the target: nothing wrote one before the
                        // replace started (stop 78: `--revert dev-replace-scratch-before-commit` alone, seed 78008, 2
                        // of 7,845 cycles; `--revert dev-replace-swap-before-supers` alone: none)
                        culprits.add(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
                    }
                    if (e.message().contains("port-debug/check-after-commit") && subvolumeLeavesOnly(e.message())) {
                        // the commit probe's leaked leaf of a subvolume id, as btrfs check's after the umount would
                        // name it (stop 78, `--kernel 5.12`, seed 78007, class ce7466eb)
                        culprits.add(FixSwitch.SUBVOL_CREATE_EXTENT_LEAK);
                    }
                    if (e.message().contains("port-debug/check-after-commit") && e.message().contains("MISSING_EXTENT_ITEM: ")
                        && cleanerReadErrorBefore(o, e)) {
                        // a dead subvolume's drop that met a read error ended its transaction without the root item's
                        // drop_progress and without an abort: the tree on disk names blocks its steps freed (stop 74)
                        culprits.add(FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT);
                    }
                    if (e.message().contains("fs-writeback.c:2468 __writeback_inodes_sb_nr")) {
                        // -o flushoncommit: a commit's writeback_inodes_sb with nobody holding s_umount (stop 67)
                        culprits.add(FixSwitch.FLUSHONCOMMIT_WRITEBACK_WARN);
                    }
                    if (e.message().contains("rcu_sync_exit")) {
                        // a thaw released freeze levels the freeze never took: a superblock frozen read-only was
                        // remounted read-write by btrfs_mount meanwhile
                        culprits.add(FixSwitch.MOUNT_RW_FROZEN);
                    }
                    if (quotaEnableCommitUnderIoctlLock(e.message())) {
                        culprits.add(FixSwitch.QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK);
                    }
                    if (e.message().contains("block-rsv.c:458 btrfs_release_global_block_rsv") && abortedBefore(o.log, e)) {
                        // delayed_refs_rsv.reserved > 0 at umount after an abort: a refill's bytes added once the
                        // abort's cleanup had emptied the reserve (its join then refused), nothing trimmed them
                        culprits.add(FixSwitch.DELAYED_REFS_REFILL_RACE);
                    }
                    if (e.message().contains("btrfs_qgroup_account_extents")) {
                        // a qgroup extent record without old roots: btrfs_qgroup_trace_extent_post's walk failed — a
                        // subvolume drop's reference whose search descended into a leaf the drop had freed
                        culprits.add(FixSwitch.BACKREF_DELETING_COMMIT_ROOT);
                    }
                }
                case SLAB_LEAK, STATE_LEAK -> symptoms.add(Symptom.SLAB_LEAK);
                case HUNG_TASK -> symptoms.add(Symptom.HUNG_TASK);
                case ASSERTION -> {
                    if (e.message().contains("list_empty(&fs_info->trans_list)")) {
                        symptoms.add(Symptom.TRANS_LIST_ASSERT);
                        if (balanceKthreadListed(o.log)) {
                            // a resumed balance's kthread, past the umount's pause, resetting the balance in close_ctree
                            // (del_balance_item's transaction; stop 78, `--kernel 5.12`, seed 78005, class 80b2be22)
                            culprits.add(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
                        }
                        if (asyncCommitStillListed(o.log)) {
                            // committed, its kworker not yet past list_del_init: what the umount left may not show it
                            culprits.add(FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD);
                        }
                        if (abortedInCloseCtree(o.log, e) && !reverted.contains(FixSwitch.ERROR_COMMIT_SUPER_EARLY)) {
                            // the umount's own delete_unused_bgs (or delayed iputs) aborted and its commit_super failed:
                            // no late btrfs_error_commit_super since df94a342efb4 (stop 69; 5.11's order has it)
                            culprits.add(FixSwitch.ERROR_DURING_CLOSE_CTREE);
                        }
                    } else if (e.message().contains("list_empty(&fs_info->delayed_iputs)")) {
                        symptoms.add(Symptom.DELAYED_IPUTS_ASSERT);
                        culprits.add(FixSwitch.DELAYED_IPUTS_RO_REMOUNT);
                        // an ordered extent's last put after the last btrfs_run_delayed_iputs
                        culprits.add(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT);
                        // a compressed write's async chunk still running: its delayed iput after the last run
                        culprits.add(FixSwitch.DELALLOC_FLUSH_AT_UMOUNT);
                        // or the writeback of a reclaim work's delalloc round the cancels waited for, whose ordered
                        // extent ended after btrfs_commit_super's run (autodefrag re-dirtied the pages after the sync)
                        culprits.add(FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT);
                        if (abortedBefore(o.log, e)) {
                            // after an abort: btrfs_error_commit_super's wait returned before the last put
                            culprits.add(FixSwitch.ERROR_COMMIT_SUPER_EARLY);
                            // or a data bio's work on fs_info->workers that none of the waits saw ran after the flushes
                            culprits.add(FixSwitch.WORKERS_FLUSH_AT_UMOUNT);
                            // or a reclaim work flushing delalloc, waited for by the cancels after the last run
                            culprits.add(FixSwitch.RECLAIM_IPUTS_AT_UMOUNT);
                        }
                    } else {
                        symptoms.add(Symptom.ERROR);
                        if (e.message().contains("!test_bit(BTRFS_FS_BALANCE_RUNNING")) {
                            // a resumed balance's kthread that took balance_mutex while the user's resume of the same
                            // balance walked: btrfs_balance on a running balance_ctl (stop 64)
                            culprits.add(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
                        }
                    }
                }
                // a BUG right after its assertion is the same report; any other BUG or oops is an error
                case BUG -> {
                    if (!afterAssertion(o.log, e)) {
                        symptoms.add(Symptom.ERROR);
                    }
                    if (e.message().contains("kernel BUG at fs/btrfs/extent-tree.c:4888!")
                        || e.message().contains("kernel BUG at fs/btrfs/extent-tree.c:5458!")) {
                        // btrfs_drop_snapshot's walk found a block of the tree without references: a dropped root
                        // dropped again, its blocks freed by the first drop (stop 41: the walk looks counts up as
                        // btrfs_lookup_extent_info does; before, the second drop failed at btrfs_del_root)
                        culprits.add(FixSwitch.ORPHAN_ROOTS_INODES_IN_MEMORY);
                    }
                    if (e.message().contains("kernel BUG at fs/btrfs/dev-replace.c:499!")
                        && o.log.stream().anyMatch(l -> l.message().contains("cannot resume dev-replace, other exclusive operation"))) {
                        // a replace start's ASSERT(0) on a replace STARTED or SUSPENDED: a resume that set it STARTED
                        // without the exclusive operation wrote SUSPENDED back when it failed to get it — over the
                        // FINISHED or CANCELED the ioctl's finishing had set meanwhile (stop 76, class 6cef65bc)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_BEFORE_EXCLOP);
                    }
                    if (e.message().contains("kernel BUG at fs/btrfs/volumes.c:") && balanceTask(e)) {
                        // the resume kthread's btrfs_balance on a balance_ctl that is not the paused one it was started
                        // for (a new balance's: its item exists) or on one reset meanwhile (stop 64)
                        culprits.add(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
                    }
                    if (e.message().contains("soft lockup") && e.message().contains("RIP: btrfs_discard_workfn")) {
                        // the discard worker taking the same group of the unused list for ever: async discard was
                        // stopped (umount, RO remount, nodiscard, an abort) while it moved a group that got an extent
                        culprits.add(FixSwitch.DISCARD_WORKER_INFINITE_LOOP);
                    }
                    if (e.message().contains("soft lockup") && e.message().contains("btrfs_async_reclaim_data_space")) {
                        // the async data reclaim work on an aborted filesystem: joins refused, no chunk, never full
                        culprits.add(FixSwitch.DATA_RECLAIM_ABORTED_LOOP);
                    }
                }
                case OOPS, DOUBLE_FREE -> {
                    symptoms.add(Symptom.ERROR);
                    if (e.message().contains("RIP: 0010:btrfs_dev_replace_kthread")) {
                        // a resumed replace the ioctl's finishing ended while the resume had set it STARTED without the
                        // exclusive operation: srcdev cleared (stop 65)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_BEFORE_EXCLOP);
                        // or a kthread that had not run when an RO remount suspended the replace and a cancel of the
                        // suspended replace cleared srcdev (stop 67: its proposed fix's first test)
                        culprits.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
                    }
                    if (e.message().contains("RIP: 0010:btrfs_update_ioctl_balance_args")) {
                        // a balance ioctl's end found balance_ctl cleared: the resume kthread reset the balance the
                        // ioctl was running (stop 64)
                        culprits.add(FixSwitch.BALANCE_RESUME_PAUSE_RACE);
                    }
                    if (e.message().contains("never initialised: RESCAN without ON")) {
                        // a status item written while quota disable waited for the worker (QUOTA_ENABLED clear,
                        // quota_root still set), left on disk by a power cut or an abort: the mount resumes a
                        // rescan it never initialised
                        culprits.add(FixSwitch.QGROUP_STATUS_RESCAN_WITHOUT_ON);
                    }
                    if (rescanWorkerNullQuotaRoot(e.message())) {
                        // the rescan worker's status update after quota disable set quota_root to NULL: the
                        // disable's wait returned while a worker ran — one the RO remount let run on (1/5
                        // reverted), or a resumed rescan whose completion was not re-armed — or the worker was
                        // queued after that wait and rescanned nothing (b7adbf9ada35's race); the oops alone
                        // does not tell them apart
                        culprits.add(rescanWorkerFix(reverted));
                        culprits.add(FixSwitch.QUOTA_RESCAN_DISABLE_NULL_DEREF);
                        culprits.add(FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED); // a re-queued run nobody waited for
                    }
                }
                case TEXT -> {
                    if (errorLine(e, o)) {
                        symptoms.add(Symptom.ERROR);
                        if (e.message().contains("in btrfs_drop_snapshot: errno=-2")
                            || e.message().contains("Transaction aborted (error ENOENT: item") && e.message().contains("ROOT_ITEM")
                            || e.message().contains("Transaction aborted (error __btrfs_free_extent: extent (")
                                && e.message().contains(") not found")) {
                            // a dropped root dropped again: the second drop fails to delete the root item, or its
                            // delayed refs free the tree blocks the first drop freed (time-to-find, seed 4: a drop
                            // queued by find_orphan_roots under an open file and again by its last iput)
                            culprits.add(FixSwitch.ORPHAN_ROOTS_INODES_IN_MEMORY);
                        }
                        if (e.message().contains("open_ctree failed: EIO: dev-replace target missing")
                            || e.message().endsWith("replace devid present without an active replace item")
                            || e.message().endsWith("found replace target device without a valid replace item")) {
                            // the mount's own report of the leftover replaceLeftover names (stop 65)
                            culprits.add(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
                            if (e.message().contains("dev-replace target missing") && replaceFinished(o)) {
                                culprits.add(FixSwitch.DEV_REPLACE_SWAP_BEFORE_SUPERS);
                            }
                        }
                        if (e.message().contains("unable to fixup (regular) error at logical") || treeBlockCheckFailed(e.message())
                            || e.message().contains("bad tree block start")) {
                            // a copy or a read that met an older (or no) block where a replace wrote (stop 73)
                            culprits.addAll(staleBlockCulprits(o));
                            if (!e.message().contains("unable to fixup") && readErrorBefore(o, e) && replaceInLog(o.log)) {
                                // a read that failed on the source took the target's bytes at a place the copy had
                                // not reached: another filesystem's, or garbage (the extra mirror, stop 73)
                                culprits.add(FixSwitch.DEV_REPLACE_EXTRA_MIRROR);
                            }
                        }
                        if (readFailedReport(e.message()) && zeroedTreeBlockBefore(o, e) && readErrorBefore(o, e)
                            && replaceInLog(o.log)) {
                            // the rescan's read of a tree block the source failed took the target's zeros at a place
                            // the copy had not reached, and the worker ended -EIO (stop 77, `--kernel 5.12`, class
                            // 48ebc08f, then -117: the port failed such a read -EUCLEAN until stop 78; the extra
                            // mirror's, as the read errors' own lines above)
                            culprits.add(FixSwitch.DEV_REPLACE_EXTRA_MIRROR);
                        }
                        if (e.message().endsWith("Missing references.")) {
                            // a drop resumed from a root item whose drop_progress lags the frees a failed drop committed
                            // (stop 74)
                            culprits.add(FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT);
                        }
                        if (e.message().contains("btrfs_scrub_dev(") && e.message().endsWith(") failed -11")) {
                            // a resumed replace's copy that found the filesystem closing: finishing cancelled it (stop 65)
                            culprits.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
                        }
                    } else if (e.message().startsWith("VFS: Busy inodes after unmount")) {
                        // an inode reference outlived close_ctree: an ordered extent's last put queued a
                        // delayed iput after the cleaner was stopped
                        culprits.add(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT);
                        culprits.add(FixSwitch.DELALLOC_FLUSH_AT_UMOUNT);
                        culprits.add(FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT);
                        if (abortedBefore(o.log, e)) {
                            culprits.add(FixSwitch.ERROR_COMMIT_SUPER_EARLY);
                            culprits.add(FixSwitch.WORKERS_FLUSH_AT_UMOUNT);
                            culprits.add(FixSwitch.RECLAIM_IPUTS_AT_UMOUNT);
                        }
                    }
                }
                default -> { }
            }
        }
        // the leaked transactions and who opened them
        Inspection leaked = o.afterUmount != null ? o.afterUmount : o.beforeUmount;
        if (leaked != null) {
            readOnlyWrites(leaked, "at its umount (" + o.umountLane + ")", symptoms, evidence, culprits, reverted);
        }
        if (leaked != null && !leaked.openTransactions().isEmpty()) {
            for (Inspection.TransactionInfo t : leaked.openTransactions()) {
                evidence.add("leaked transaction " + t.transid() + " (" + t.state() + ") opened by " + t.handles());
                if (t.completed()) {
                    // committed, not yet off trans_list: its committer's tail ran after close_ctree's assertion — the
                    // async commit's kworker, which nothing at umount waits for (fdfbf020664b)
                    if (t.handles().stream().anyMatch(h -> h.function().equals(START_SYNC))) {
                        culprits.add(FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD);
                    }
                    continue;
                }
                for (Inspection.Handle h : t.handles()) {
                    culprits.addAll(openers(h, reverted));
                    culprits.addAll(failedRemountEviction(h, o));
                }
            }
        }
        if (o.roLeak != null) {
            readOnlyWrites(o.roLeak, "before its RW remount (" + o.roLeakLane + ")", symptoms, evidence, culprits, reverted);
        }
        if (o.roLeak != null && !o.roLeak.openTransactions().isEmpty()) {
            symptoms.add(Symptom.RO_LEAK);
            for (Inspection.TransactionInfo t : o.roLeak.openTransactions()) {
                if (t.completed()) {
                    continue; // committed, its committer still in its tail (RoLeakCheck): not what leaked
                }
                evidence.add("transaction " + t.transid() + " (" + t.state() + ") open on the read-only filesystem at its RW remount ("
                    + o.roLeakLane + "), opened by " + t.handles());
                for (Inspection.Handle h : t.handles()) {
                    culprits.addAll(openers(h, reverted));
                    culprits.addAll(failedRemountEviction(h, o));
                }
            }
        }
        if (leaked != null && !leaked.delayedIputs().isEmpty()) {
            evidence.add("delayed iputs still queued: inodes " + leaked.delayedIputs());
        }
        for (LogEntry e : o.log) {
            if (e.kind() == LogEntry.Kind.TEXT && e.message().startsWith(DELAYED_IPUTS_AT_ASSERT)) {
                evidence.add(e.message()); // who queued them
            }
        }
        if (!o.slabsInUse.isEmpty()) {
            symptoms.add(Symptom.SLAB_LEAK);
            evidence.add("slab objects still in use after umount: " + o.slabsInUse);
        }
        if (o.needlessUuidRescan != null) {
            // explains this symptom only (bugs below): a cycle whose mount rescanned needlessly and that failed otherwise
            // too must have that failure explained on its own
            symptoms.add(Symptom.NEEDLESS_UUID_RESCAN);
            evidence.add("a mount rescanned its UUID tree although it was current (seen at the umount of "
                + o.needlessUuidRescan + "): transactions started by the mount moved fs_info->generation past the "
                + "superblock's uuid_tree_generation");
        }
        if (o.asyncDiscardOff != null) {
            // explains this symptom only, as the needless rescan
            symptoms.add(Symptom.ASYNC_DISCARD_OFF);
            evidence.add("a remount left the writable discard=async filesystem with BTRFS_FS_DISCARD_RUNNING clear (seen at the"
                + " umount of " + o.asyncDiscardOff + "): async discard off until the next mount");
        }
        if (!o.fsck.isEmpty()) {
            symptoms.add(Symptom.FSCK);
            for (String p : o.fsck) {
                evidence.add("btrfs check after umount: " + p);
            }
            if (o.fsck.stream().allMatch(p -> p.startsWith(Check.Kind.DELETED_ROOT_WITHOUT_ORPHAN + ":"))) {
                // a deleted subvolume no mount will drop: the dead-root leak, read from the image instead of the live
                // filesystem (the lanes look at the live one only at some cycle ends)
                culprits.add(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP);
            }
            if (o.fsck.stream().allMatch(Classifier::subvolumeLeafLeaked)) {
                // tree blocks owned by a subvolume id, their extent items written, no tree referring to them: a
                // create_subvol whose root item insert failed left its new root's leaf allocated (stop 69)
                culprits.add(FixSwitch.SUBVOL_CREATE_EXTENT_LEAK);
            }
            if (o.fsck.stream().anyMatch(p -> p.startsWith("SUPERBLOCK:") && p.contains("(bad magic)"))
                && o.log.stream().anyMatch(l -> l.message().contains("dev_replace from "))) {
                // no superblock of the filesystem where it should be, after a replace: the old device scratched before
                // the state without it was on disk (stop 65)
                culprits.add(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
            }
            if (o.fsck.stream().anyMatch(Classifier::staleOnDisk) && replaceInLog(o.log)) {
                // blocks missing on the disk a replace moved the filesystem to: a copy cancelled mid-chunk and resumed
                // past it (stop 65)
                culprits.add(FixSwitch.DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK);
                if (targetMayHaveMissedWrites(o)) {
                    culprits.add(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS);
                }
            }
            if (o.fsck.stream().anyMatch(Classifier::staleOnDisk)) {
                // a block older than its referrer, or none, after what the replaces did (stop 73); a data sector that fails
                // its sum is the same loss for data (stop 76)
                culprits.addAll(staleBlockCulprits(o));
            }
        }
        if (!o.deadRootLeaks.isEmpty()) {
            symptoms.add(Symptom.DEAD_ROOT_LEAK);
            culprits.add(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP);
            evidence.add("deleted subvolumes never dropped (root item refs 0, no orphan item, cleaner idle): " + o.deadRootLeaks);
        }
        if (o.unload != null) {
            if (!o.unload.slabLeaks().isEmpty() || !o.unload.stateLeaks().isEmpty()) {
                symptoms.add(Symptom.SLAB_LEAK);
                evidence.add("rmmod: slab leaks " + o.unload.slabLeaks().stream().map(l -> l.cache() + "=" + l.remaining()).toList()
                    + (o.unload.stateLeaks().isEmpty() ? "" : ", " + o.unload.stateLeaks().size() + " state leaks"));
                if (defragRecordLeaked(o.unload)) {
                    culprits.add(FixSwitch.ADD_INODE_DEFRAG_CLOSING_RACE);
                }
            }
            if (!o.unload.threadsAlive().isEmpty()) {
                symptoms.add(Symptom.ERROR);
                evidence.add("threads of the module alive after rmmod: " + o.unload.threadsAlive());
            }
        }
        if (o.umountError != null) {
            evidence.add("umount: " + o.umountError);
            if (!(o.umountError instanceof KernelBug) && !(o.umountError instanceof KernelOops)) {
                symptoms.add(Symptom.ERROR);
                evidence.add(stack(o.umountError));
            }
        }
        if (!o.replaceHistory.isEmpty() && (o.workloadError != null && replaceFailure(o.workloadError, o)
            || o.laneErrors().stream().anyMatch(le -> replaceFailure(le.error(), o)))) {
            evidence.add("replace lines of this filesystem's earlier cycles since its mkfs: " + o.replaceHistory);
        }
        if (o.workloadError != null) {
            symptoms.add(Symptom.ERROR);
            evidence.add("workload: " + stack(o.workloadError));
            culprits.addAll(replaceLeftover(o.workloadError, o));
            culprits.addAll(staleTarget(o.workloadError, o));
            culprits.addAll(staleSource(o.workloadError, o));
        }
        for (Observation.LaneError le : o.laneErrors()) {
            symptoms.add(Symptom.ERROR);
            evidence.add("lane " + le.lane() + ", '" + le.op() + "': " + stack(le.error()));
            culprits.addAll(replaceLeftover(le.error(), o));
            culprits.addAll(staleTarget(le.error(), o));
            culprits.addAll(staleSource(le.error(), o));
        }
        if (o.hang != null) {
            symptoms.add(Symptom.HUNG_TASK);
            evidence.add("hung task: " + o.hang.lane() + " in '" + o.hang.op() + "'" + (o.hang.frame() == null ? "" : ", blocked in " + o.hang.frame())
                + "; the module was panicked and reloaded");
            FixSwitch f = stallCause(o.hang.frame());
            if (f != null) {
                culprits.add(f);
            }
            if (thawKeptTheLevels(o)) {
                culprits.add(FixSwitch.THAW_FORCED_READONLY);
            }
            if (o.hang.frame() != null && o.hang.frame().startsWith("DelayedWork.cancelSync <- Discard.")) {
                // btrfs_discard_cleanup waiting for a discard work that never returns: the same spin
                culprits.add(FixSwitch.DISCARD_WORKER_INFINITE_LOOP);
            }
            if (o.hang.frame() != null && o.hang.frame().startsWith("DelayedWork.cancelSync <- AsyncDataReclaim.")
                || o.notes.stream().anyMatch(n -> DATA_WORK_SPINNING.matcher(n).find())) {
                // an umount's cancel_work_sync waiting for the async data reclaim work, or data tickets waiting while it
                // runs: on an aborted filesystem it allocates no chunk, never sees full and never returns (stop 56)
                culprits.add(FixSwitch.DATA_RECLAIM_ABORTED_LOOP);
            }
            if (o.notes.stream().anyMatch(n -> ASLEEP_ON_NOTHING.matcher(n).find())
                && (o.hang.frame() != null && o.hang.frame().contains("waitForCompletion")
                    || o.notes.stream().anyMatch(n -> n.contains("(qgroup_rescan_completion)")))) {
                // a wait for the rescan asleep on a completion no worker will complete: a fresh qgroup_rescan_init
                // re-armed it and its ioctl failed before queueing (the hang report's qgroup state says so)
                culprits.add(FixSwitch.QGROUP_RESCAN_FAILED_INIT_REARM);
            }
            if (o.notes.stream().anyMatch(n -> RECLAIM_WAITS_FOR_IPUTS.matcher(n).find())
                && o.notes.stream().anyMatch(n -> CLEANER_ON_A_TICKET.matcher(n).find())) {
                // the reclaim work waits for a delayed iput only the cleaner would run, the cleaner for a ticket only
                // the work serves
                culprits.add(FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK);
            }
            if (o.notes.stream().anyMatch(n -> RECLAIM_WAITS_FOR_IPUTS.matcher(n).find() && CLEANER_PARKED.matcher(n).find()
                && UMOUNT_CANCELS_RECLAIM.matcher(n).find())) {
                // the umount's cancel_delayed_work_sync waits for the reclaim work, the work for a delayed iput only the
                // cleaner would run, and close_ctree has parked the cleaner (stop 78, `--kernel 5.12`, seed 78009,
                // class a4348355): the proposed fix's wait runs the iputs itself; a362bb864b8d flushes the ordered
                // extents whose last put queues such an iput before the umount gets there
                culprits.add(FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK);
                culprits.add(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT);
            }
            if (o.notes.stream().anyMatch(n -> STRANDED_TICKETS.matcher(n).find())) {
                // tickets waiting under a set space_info->flush with the reclaim work neither queued nor running: a
                // cancel_work_sync (RO remount, close_ctree) dropped the work they queued, and no reservation queues it again
                culprits.add(FixSwitch.ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS);
            }
            if (o.notes.stream().anyMatch(n -> DEAD_RESCAN_WORKER.matcher(n).find())
                && o.hang.frame() != null && o.hang.frame().contains("waitForCompletion")) {
                // a wait for a rescan marked running whose worker is neither queued nor executing, quota_root NULL: the
                // worker oopsed on the NULL quota root (in an earlier cycle of this filesystem) and never completed —
                // queued after quota disable's wait, as the oops's own attribution says
                culprits.add(rescanWorkerFix(reverted));
                culprits.add(FixSwitch.QUOTA_RESCAN_DISABLE_NULL_DEREF);
                culprits.add(FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED);
            }
            if (quotaEnableWaitsForAQgroupCreate(o.hang)) {
                // quota enable commits holding qgroup_ioctl_lock; a qgroup create or destroy joined its transaction and waits for
                // the mutex, the commit for the create's handle
                culprits.add(FixSwitch.QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK);
            }
            if (quotaDisableWaitsForTheWorker(o.hang) && aQgroupIoctlWaitsForTheMutex(o.hang)
                && !reverted.contains(FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK)) {
                // v5.17's quota disable waits for the worker without a handle but holding qgroup_ioctl_lock, which a
                // qgroup create or destroy holding a handle waits for; a commit waits for it, the worker for the commit
                culprits.add(FixSwitch.QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK);
            }
            if (quotaDisableWaitsForTheWorker(o.hang)) {
                // quota disable waits for the rescan worker holding its transaction handle (5.11's order); the
                // worker waits for the commit, the commit for that handle — and every task that needs the
                // commit (a create, a remount, an umount) hangs behind them
                culprits.add(FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK);
            }
        }
        List<Observation.Stall> stalls = o.stalls();
        for (Observation.Stall st : stalls) {
            symptoms.add(Symptom.STALL);
            if (st.lostWakeup() != null) {
                evidence.add(String.format(java.util.Locale.ROOT, "stall: %s '%s' blocked in %s for a lost wake-up (%s) — the module was"
                    + " panicked after %.3f s to end it; in the kernel it lasts until the next wake-up", st.lane(), st.op(), st.frame(),
                    st.lostWakeup(), st.nanos() / 1e9));
            } else {
                evidence.add(String.format(java.util.Locale.ROOT, "stall: %s '%s' blocked %.2f s in %s, then completed", st.lane(), st.op(),
                    st.nanos() / 1e9, st.frame()) + (st.context() == null ? "" : "; kernel threads then:\n" + st.context()));
            }
        }
        if (!stalls.isEmpty()) {
            // the first stall names the class (Signature); later ones may be its consequences
            FixSwitch f = stallCause(stalls.get(0).frame());
            if (f != null) {
                culprits.add(f);
            }
        }
        evidence.addAll(o.notes);
        Set<String> bugs = new LinkedHashSet<>();
        Set<Symptom> others = EnumSet.copyOf(symptoms);
        others.removeAll(SELF_EXPLAINED.keySet());
        for (var self : SELF_EXPLAINED.entrySet()) {
            if (!symptoms.contains(self.getKey())) {
                continue;
            }
            FixSwitch f = self.getValue();
            culprits.add(f);
            if (reverted.contains(f)) {
                bugs.add(f.kebab());
            } else {
                evidence.add("the evidence points at " + f.kebab() + ", which is applied");
                bugs.add(UNKNOWN);
            }
        }
        if (!others.isEmpty()) {
            boolean explained = false;
            for (FixSwitch f : culprits) {
                if (SELF_EXPLAINED.containsValue(f)) {
                    continue;
                }
                if (reverted.contains(f)) {
                    bugs.add(f.kebab());
                    explained = true;
                } else {
                    evidence.add("the evidence points at " + f.kebab() + ", which is applied");
                }
            }
            if (!explained) {
                bugs.add(UNKNOWN);
            }
        }
        return new Verdict(symptoms, bugs, evidence, culprits);
    }

    /**
     * The rescan worker's btrfs_start_transaction(fs_info->quota_root, 1) on a NULL quota root: the oops in
     * start_transaction with the worker in its call trace — or, quota_root cleared between that start and its status
     * update (stop 53, seed 53003 {@code --kernel 5.12}: a Java NullPointerException then, unexplained), the oops in
     * update_qgroup_status_item's btrfs_search_slot.
     */
    static boolean rescanWorkerNullQuotaRoot(String oops) {
        return oops.contains("NULL pointer dereference") && (oops.contains("start_transaction")
            && oops.contains("btrfs_qgroup_rescan_worker")
            || oops.contains("RIP: 0010:btrfs_search_slot") && oops.contains("QgroupItems.updateStatusItem")
            && oops.contains("QgroupRescan.worker"));
    }

    /**
     * A filesystem's qgroup state in a hang report with a waiter on the rescan completion, no rescan running and the
     * completion not done (an idle filesystem shows the same with no waiter: "(waiters 0)").
     */
    private static final java.util.regex.Pattern ASLEEP_ON_NOTHING =
        java.util.regex.Pattern.compile("qgroup_rescan_running false, completion done false \\(waiters [1-9]");

    /** The hang report's kernel sleeps (WaitGraph.describeSleeps): a kworker in the reclaim's RUN_DELAYED_IPUTS wait. */
    private static final java.util.regex.Pattern RECLAIM_WAITS_FOR_IPUTS =
        java.util.regex.Pattern.compile("(?m)^\\S*kworker\\S*: btrfs_wait_on_delayed_iputs$");

    /** The hang report's data space_info line for tickets the async data reclaim work, running, does not serve. */
    private static final java.util.regex.Pattern DATA_WORK_SPINNING =
        java.util.regex.Pattern.compile("data tickets [1-9][0-9]*, flush true, data reclaim work busy");

    /** The same report: the cleaner kthread asleep on a metadata reservation ticket. */
    /** The hang report's umount (or remount) in cancel_delayed_work_sync of the async reclaim work. */
    private static final java.util.regex.Pattern UMOUNT_CANCELS_RECLAIM =
        java.util.regex.Pattern.compile("(?m): cancel_delayed_work_sync\\(async_reclaim_work\\)$");

    /** The hang report's cleaner, parked (close_ctree's kthread_park). */
    private static final java.util.regex.Pattern CLEANER_PARKED =
        java.util.regex.Pattern.compile("(?m)^btrfs-cleaner\\S*: schedule\\(\\) in PARKED$");

    private static final java.util.regex.Pattern CLEANER_ON_A_TICKET =
        java.util.regex.Pattern.compile("(?m)^\\S*cleaner\\S*: wait_reserve_ticket$");

    /**
     * The hang report's space_info line (SpaceReservations.debugState, dataDebugState since stop 56) for tickets no work
     * will flush for: metadata tickets and the async reclaim work, or data tickets and the async data reclaim work.
     */
    private static final java.util.regex.Pattern STRANDED_TICKETS =
        java.util.regex.Pattern.compile("(metadata tickets [1-9][0-9]*, flush true, reclaim work idle"
            + "|data tickets [1-9][0-9]*, flush true, data reclaim work idle)");

    /**
     * A filesystem's qgroup state in a hang report with a waiter on a rescan marked running whose worker is neither
     * queued nor executing, and no quota root: the worker died (its oops on the NULL quota root).
     */
    private static final java.util.regex.Pattern DEAD_RESCAN_WORKER = java.util.regex.Pattern.compile(
        "qgroup_rescan_running true, completion done false \\(waiters [1-9][0-9]*\\), work not queued, runs not returned 0, quota_root NULL");

    /**
     * A hang whose report shows quota enable committing (btrfs_quota_enable in btrfs_commit_transaction) and a qgroup
     * create or destroy waiting for qgroup_ioctl_lock: {@link FixSwitch#QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK}.
     */
    static boolean quotaEnableWaitsForAQgroupCreate(Observation.Hang h) {
        String r = h.report() == null ? "" : h.report();
        return aQgroupIoctlWaitsForTheMutex(h) && r.contains("Qgroups.quotaEnable") && r.contains("TransactionCommit.commit");
    }

    /**
     * The hang report shows a qgroup create or destroy (BTRFS_IOC_QGROUP_CREATE) in btrfs_create_qgroup or
     * btrfs_remove_qgroup, its handle held.
     */
    private static boolean aQgroupIoctlWaitsForTheMutex(Observation.Hang h) {
        String r = h.report();
        return r != null && (r.contains("Qgroups.btrfsCreateQgroup") || r.contains("Qgroups.btrfsRemoveQgroup"));
    }

    /**
     * Lockdep's cycle between qgroup_ioctl_lock and a transaction's writers (btrfs' transaction-state annotations): quota
     * enable's commit under the mutex against a handle that then takes it.
     */
    static boolean quotaEnableCommitUnderIoctlLock(String message) {
        if (!message.startsWith(org.jbtrfs.core.kernel.Lockdep.CIRCULAR)) {
            return false;
        }
        String cycle = message.lines().findFirst().orElse(""); // the report's first line names the cycle
        return cycle.contains("&fs_info->qgroup_ioctl_lock") && cycle.contains("btrfs_trans_num_");
    }

    /** The hung task is quota disable waiting for the rescan worker, or its report shows one doing so. */
    static boolean quotaDisableWaitsForTheWorker(Observation.Hang h) {
        boolean self = h.frame() != null && h.frame().contains("QgroupRescan.waitForCompletion") && "quota disable".equals(h.op());
        String r = h.report() == null ? "" : h.report();
        return self || r.contains("QgroupRescan.waitForCompletion") && r.contains("Qgroups.quotaDisable");
    }

    /**
     * A log line that makes the cycle fail as an error: at KERN_ERR or above, and not the report of a
     * normal outcome or of an injected fault.
     */
    static boolean errorLine(LogEntry e, Observation o) {
        LogEntry verdict = scrubVerdict(e, o);
        if (verdict != null) {
            return errorLine(verdict, o);
        }
        return e.level().ordinal() <= LogLevel.ERR.ordinal()
            && !(e.kind() == LogEntry.Kind.TEXT && (outcome(e.message()) || injectedReport(e.message(), o.injected)
                || o.powerCutSinceMkfs && afterAPowerCut(e.message())
                // a scrub's superblock of an older generation than the last commit's (scrub_checksum_super counts a
                // generation error and prints no warning): the cut dropped the superblock's write (hunt 78003, class
                // 5d689521); only scrub counts generation errors
                || o.powerCutSinceMkfs && counted(e, o, GEN)
                || lostSectorReport(e.message(), o) || counted(e, o, CORRUPT) && zerosReadBefore(o, e)
                || o.inPowerCut(e.seq()) && (treeBlockCheckFailed(e.message()) || readFailedReport(e.message())
                    || e.message().contains("fixed up error at logical ")
                    // a data read that found what the cut left under a dropped write (check_data_csum's corruption
                    // error; the port reads the disk where the kernel's page cache may still hold the pages)
                    || counted(e, o, CORRUPT) || counted(e, o, GEN)
                    // a replace's copy that could not repair a block the cut left stale ends -EIO (stop 73, the later
                    // upstream DEV_REPLACE_UNREPAIRED_METADATA)
                    || e.message().contains("btrfs_scrub_dev(") && e.message().endsWith(") failed -5"))
                // the copy's "stripe … has unrepaired metadata sector at …" that ends it -EIO (the later upstream
                // DEV_REPLACE_UNREPAIRED_METADATA) follows its "unable to fixup", which is judged on its own (stop 74)
                || e.message().contains(" has unrepaired metadata sector at ")
                || injectedCommitFailureBefore(o, e) && (treeBlockCheckFailed(e.message()) || unfixedBlock(e.message()))
                || unfixedBlock(e.message()) && readErrorBefore(o, e)));
    }

    /**
     * A scrub's or a replace copy's "unable to fixup" of a data sector a replace's copy had already lost to the disk's
     * read errors ({@link Observation#unreadableInReplaceCopy}: the sector holds the zeros 5.11 wrote there, and every
     * later scrub finds them; stop 77).
     */
    static boolean lostSectorReport(String message, Observation o) {
        long at = unfixedAt(message);
        return at >= 0 && o.unreadableInReplaceCopy.contains(at);
    }

    /**
     * For a device-statistics line a scrub printed for a block (scrub_handle_errored_block's btrfs_dev_stat_inc_and_print,
     * right after its "i/o error", "checksum error" or "checksum/header error at logical L" warning on the same thread):
     * the scrub's verdict on that block — its next "unable to fixup … at logical L" or "fixed up error at logical L" on
     * the thread, or, a read-only scrub printing none, the "unable to fixup" line it stands for. The count is judged as
     * the verdict is: it is the same report. Null for any other line.
     */
    private static LogEntry scrubVerdict(LogEntry e, Observation o) {
        if (e.kind() != LogEntry.Kind.TEXT || o.log == null || !DEV_STAT_ERRORS.matcher(e.message()).find()) {
            return null;
        }
        LogEntry before = null;
        LogEntry after = null;
        for (LogEntry l : o.log) {
            if (!java.util.Objects.equals(l.thread(), e.thread()) || l == e) {
                continue;
            }
            if (l.seq() < e.seq()) {
                before = l;
            } else if (l.seq() > e.seq() && after == null) {
                after = l;
            }
        }
        java.util.regex.Matcher w = before == null ? null : SCRUB_WARNING.matcher(before.message());
        if (w == null || !w.find()) {
            return null;
        }
        long at = Long.parseLong(w.group(1));
        if (after != null && (unfixedAt(after.message()) == at || after.message().contains("fixed up error at logical " + at + " "))) {
            return after;
        }
        // right after the count, as the kernel would print it
        return new LogEntry(e.seq() + 1, LogLevel.ERR, e.nanos(), e.thread(), LogEntry.Kind.TEXT,
            "unable to fixup (regular) error at logical " + at + " on dev D", e.owner());
    }

    /** scrub_print_warning's line for a block: "i/o error", "checksum error" or "checksum/header error at logical L on dev D". */
    private static final java.util.regex.Pattern SCRUB_WARNING = java.util.regex.Pattern.compile(
        "(?:^|: )(?:i/o error|checksum error|checksum/header error) at logical (\\d+) on dev ");

    /** The logical address of a scrub's or a replace copy's "unable to fixup (regular) error at logical L", else -1. */
    public static long unfixedAt(String message) {
        java.util.regex.Matcher m = UNFIXED_AT.matcher(message);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The line before {@code e} of the same thread is check_data_csum's "csum failed … csum 0x… expected …" of a sector
     * that read zeros, on a filesystem whose replace copy lost sectors to the disk's read errors (those zeros, stop 77):
     * the corruption error {@code e} counts is that loss read again.
     */
    private static boolean zerosReadBefore(Observation o, LogEntry e) {
        if (o.unreadableInReplaceCopy.isEmpty() || o.log == null) {
            return false;
        }
        LogEntry before = null;
        for (LogEntry l : o.log) {
            if (l.seq() >= e.seq()) {
                break;
            }
            if (java.util.Objects.equals(l.thread(), e.thread())) {
                before = l;
            }
        }
        return before != null && before.message().contains("csum failed root ")
            && before.message().contains(" csum 0x" + ZERO_SECTOR_CSUM_LE + " expected csum ");
    }

    private static final java.util.regex.Pattern UNFIXED_AT = java.util.regex.Pattern.compile(
        "unable to fixup \\(regular\\) error at logical (\\d+) ");

    /** The counters of a device-statistics line, in btrfs_dev_stat_values' order. */
    static final int WR = 0;
    static final int RD = 1;
    static final int CORRUPT = 3;
    static final int GEN = 4;

    /**
     * Whether {@code e} is btrfs_dev_stat_print_on_error's line for an increment of counter {@code which}. The
     * counters persist across mounts (stop 78: the device tree's dev stats item), so a line's values say what was
     * counted only against the device's line before it — an earlier error line, a mount's btrfs_dev_stat_print_on_load
     * line — or, for its first line in the cycle, the counters at the cycle's start ({@link Observation#devStatsAtStart};
     * unknown: each non-zero counter). A line that shows nothing new (two increments racing to print) repeats the
     * increments of the device's line before it.
     */
    static boolean counted(LogEntry e, Observation o, int which) {
        java.util.Set<Integer> inc = increments(o).get(e.seq());
        return inc != null && inc.contains(which);
    }

    /** Each device-statistics line's increments in {@code o}'s log, by seq (computed once per log). */
    private static java.util.Map<Long, java.util.Set<Integer>> increments(Observation o) {
        List<LogEntry> log = o.log == null ? List.of() : o.log;
        if (o.incrementsOf == log && o.devStatIncrements != null) {
            return o.devStatIncrements;
        }
        java.util.Map<Long, java.util.Set<Integer>> out = new java.util.HashMap<>();
        java.util.Map<String, int[]> last = new java.util.HashMap<>();
        java.util.Map<String, java.util.Set<Integer>> lastInc = new java.util.HashMap<>();
        for (LogEntry l : log) {
            java.util.regex.Matcher loaded = DEV_STATS_LOADED.matcher(l.message());
            if (l.kind() == LogEntry.Kind.TEXT && loaded.find()) {
                // a mount's btrfs_init_dev_stats replaced the counters with the disk's, zeros included (the port's
                // debug line; the kernel prints non-zero ones only): the next line counts from these
                int[] v = new int[5];
                for (int i = 0; i < 5; i++) {
                    v[i] = Integer.parseInt(loaded.group(i + 2));
                }
                last.put(loaded.group(1), v);
                lastInc.put(loaded.group(1), java.util.Set.of());
                continue;
            }
            java.util.regex.Matcher m = DEV_STAT_VALUES.matcher(l.message());
            if (l.kind() != LogEntry.Kind.TEXT || !m.find()) {
                continue;
            }
            String dev = m.group(1);
            int[] v = new int[5];
            for (int i = 0; i < 5; i++) {
                v[i] = Integer.parseInt(m.group(i + 2));
            }
            int[] before = last.containsKey(dev) ? last.get(dev) : o.devStatsAtStart.getOrDefault(dev, new int[5]);
            java.util.Set<Integer> inc = new java.util.HashSet<>();
            for (int i = 0; i < 5; i++) {
                if (v[i] > before[i]) {
                    inc.add(i);
                }
            }
            if (l.level() != LogLevel.ERR) {
                inc.clear(); // btrfs_dev_stat_print_on_load's: the disk's counters, nothing counted now
            } else if (inc.isEmpty()) {
                inc = lastInc.getOrDefault(dev, java.util.Set.of());
            }
            last.put(dev, v);
            lastInc.put(dev, inc);
            out.put(l.seq(), java.util.Set.copyOf(inc));
        }
        o.devStatIncrements = out;
        o.incrementsOf = log;
        return out;
    }

    /** The port's debug line of the counters a mount loaded (DevStats.LOADED). */
    private static final java.util.regex.Pattern DEV_STATS_LOADED = java.util.regex.Pattern.compile(
        "^" + java.util.regex.Pattern.quote(org.jbtrfs.transaction.DevStats.LOADED)
            + "(\\S+) wr (\\d+), rd (\\d+), flush (\\d+), corrupt (\\d+), gen (\\d+)$");

    /** A device-statistics line (on error or on load): its device and five counters. */
    private static final java.util.regex.Pattern DEV_STAT_VALUES = java.util.regex.Pattern.compile(
        "bdev (\\S+) errs: wr (\\d+), rd (\\d+), flush (\\d+), corrupt (\\d+), gen (\\d+)$");

    /** A scrub's or a replace copy's report of a block it could not repair. */
    static boolean unfixedBlock(String message) {
        return unfixedAt(message) >= 0;
    }

    /**
     * The thread that met the trans_list assertion ({@code assertion}, close_ctree's) aborted a transaction and then
     * logged close_ctree's "commit super ret": the error arose inside that umount, after the early error cleanup
     * ({@link FixSwitch#ERROR_DURING_CLOSE_CTREE}).
     */
    static boolean abortedInCloseCtree(List<LogEntry> log, LogEntry assertion) {
        String t = assertion.thread();
        if (t == null) {
            return false;
        }
        long aborted = log.stream().filter(l -> t.equals(l.thread()) && l.seq() < assertion.seq()
            && l.message().contains("Transaction aborted (error ")).mapToLong(LogEntry::seq).min().orElse(-1);
        return aborted >= 0 && log.stream().anyMatch(l -> t.equals(l.thread()) && l.seq() > aborted
            && l.seq() < assertion.seq() && l.message().contains("commit super ret "));
    }

    /**
     * A btrfs check problem that says the disk lacks what the committed filesystem wrote there: a tree block older than
     * its referrer or unreadable, or a data sector whose sum does not match (--check-data-csum).
     */
    /** crc32c of a zero 4 KiB sector, as btrfs check prints a sector's sum. */
    private static final long ZERO_SECTOR_CSUM = org.jbtrfs.core.kernel.Crc32c.of(org.jbtrfs.core.Crc32cImpl.ACCELERATED)
        .compute(new byte[4096], 0, 4096) & 0xffffffffL;
    /** {@link #ZERO_SECTOR_CSUM} as the kernel prints a data checksum (CSUM_FMT: its bytes as stored, little-endian). */
    private static final String ZERO_SECTOR_CSUM_LE = org.jbtrfs.core.kernel.Crc32c.csumFmt(ZERO_SECTOR_CSUM);
    private static final java.util.regex.Pattern DATA_MISMATCH = java.util.regex.Pattern.compile(
        "^" + Check.Kind.DATA_CSUM_MISMATCH + ": mirror \\d+ bytenr (\\d+) csum (\\d+) expected");

    /**
     * btrfs check's data sector that fails its sum holding zeros where a replace's copy could not read it from any copy
     * ({@link Observation#unreadableInReplaceCopy}, its "unable to fixup (regular) error at logical L"): the failing
     * disk's loss, not a bug (stop 77, once the workloads' data named itself). 5.11's scrub_handle_errored_block hands
     * such a page to scrub_write_page_to_dev_replace, which clears an io_error page and writes the zeros, and the replace
     * finishes: the data is gone with the disk that failed to read it, and the sums catch it (mainline's
     * flush_scrub_stripes leaves the sector unwritten instead; 8eb3dd17eadd ends the replace only for metadata). Only
     * the read-error path writes zeros — a block that failed its sum on every copy is copied as read.
     */
    public static boolean lostInReplaceCopy(String problem, Observation o) {
        java.util.regex.Matcher m = DATA_MISMATCH.matcher(problem);
        return m.find() && Long.parseLong(m.group(2)) == ZERO_SECTOR_CSUM
            && o.unreadableInReplaceCopy.contains(Long.parseLong(m.group(1)));
    }

    private static boolean staleOnDisk(String p) {
        return p.startsWith("PARENT_TRANSID:") || p.startsWith("UNREADABLE_BLOCK:")
            || p.startsWith(Check.Kind.DATA_CSUM_MISMATCH + ":")
            // another tree's block where the referrer points: an older life of the address (stop 77, `--kernel 5.12`,
            // class fbc9ec27: the root tree's root after a replace's source missed a write)
            || p.startsWith(Check.Kind.TREE_STRUCTURE + ":") && p.contains(": owner mismatch, have ");
    }

    /**
     * btrfs check's "extent item for tree block N (owner M) but no tree references it" for a subvolume's block (M at
     * least BTRFS_FIRST_FREE_OBJECTID): the leaf create_subvol allocated before its root item insert failed
     * ({@link FixSwitch#SUBVOL_CREATE_EXTENT_LEAK}).
     */
    static boolean subvolumeLeafLeaked(String problem) {
        java.util.regex.Matcher m = UNREFERENCED_TREE_BLOCK.matcher(problem);
        return m.matches() && Long.parseLong(m.group(1)) >= 256;
    }

    /** btrfs check's line for an unreferenced tree block (Check.Kind.UNREFERENCED_EXTENT_ITEM), its owner captured. */
    private static final java.util.regex.Pattern UNREFERENCED_TREE_BLOCK = java.util.regex.Pattern
        .compile("UNREFERENCED_EXTENT_ITEM: extent item for tree block \\d+ \\(owner (\\d+)\\) but no tree references it");


    /**
     * -EIO injected and a read error counted before {@code e} ("bdev D errs: wr N, rd M" with M &gt; 0): a scrub's or a
     * replace copy's block the injected read failure left unreadable (stop 73, {@code bio-read-eio}).
     */
    private static boolean readErrorBefore(Observation o, LogEntry e) {
        return o.injected.contains(org.jbtrfs.core.Errno.EIO) && o.log != null && o.log.stream()
            .anyMatch(l -> l.seq() < e.seq() && counted(l, o, RD));
    }

    /** A tree block read before {@code e} found zeros where it should be ("bad tree block start … have 0"). */
    private static boolean zeroedTreeBlockBefore(Observation o, LogEntry e) {
        return o.log != null && o.log.stream().anyMatch(l -> l.seq() < e.seq() && l.message().contains("bad tree block start")
            && l.message().endsWith(" have 0"));
    }

    /** The cleaner's read failed before {@code e} (its btrfs_dev_stat_print_on_error line): a drop's walk met it. */
    private static boolean cleanerReadErrorBefore(Observation o, LogEntry e) {
        return o.log != null && o.log.stream().anyMatch(l -> l.seq() < e.seq() && "btrfs-cleaner".equals(l.thread())
            && counted(l, o, RD));
    }


    /** An injected fault is armed and a commit of this cycle failed before {@code e} ({@link #commitFailedBefore}). */
    private static boolean injectedCommitFailureBefore(Observation o, LogEntry e) {
        return !o.injected.isEmpty() && o.log != null && commitFailedBefore(o.log, e);
    }

    /**
     * A worker's report of a tree block read that failed its checks, logged inside a power cut (stop 66: the qgroup
     * rescan worker's "qgroup scan failed with -5" after its read of a block a replace in the cut never copied,
     * `--replay 4:132` of the cursor switch's time-to-find run): the read's -EIO (or -EUCLEAN) is the cut's.
     */
    static boolean readFailedReport(String message) {
        return message.endsWith("qgroup scan failed with -5") || message.endsWith("qgroup scan failed with -117");
    }

    /**
     * verify_parent_transid's (or validate_extent_buffer's fsid check's) report of a tree block read that found another
     * block than the one its referrer names (stop 66). An outcome in two cases, the lane's error then too: while the
     * disks dropped writes — the disk returned an earlier life of the block, or another filesystem's: the cut dropped
     * what was written there since, or the replace's copy to the disk it swapped in (LaneWorker#readInAPowerCut,
     * ReplaceInAPowerCutTest) —; and after an injected fault aborted the transaction in this cycle —
     * btrfs_cleanup_one_transaction dropped its dirty blocks, never written, and the next read of one meets the disk
     * (LaneWorker#unwrittenBlockRead). A scrub's or a replace copy's "unable to fixup" after such an abort is the same
     * read: btrfs_write_and_wait_transaction's -EIO ({@code write-and-wait-transaction-eio}) fails after
     * switch_commit_roots, and the copy of btrfs_dev_replace_start, which goes on past its failed commit, reads the
     * commit roots' blocks the disk never received (stop 66). The level check of btrfs_read_node_slot's read is the same
     * read: a kthread that meets it aborts its own transaction with -EUCLEAN, "tree level mismatch detected" (stop 70,
     * class {@code 7f38f0fd}: the cleaner, after a replace start's commit failed on the injected
     * {@code write-and-wait-transaction-eio}, 1 of 45,221 cycles; LaneWorker#unwrittenBlockRead names it for the lanes).
     */
    static boolean treeBlockCheckFailed(String message) {
        return message.contains("parent transid verify failed on ") || message.contains("bad fsid on block ")
            // validate_extent_buffer's address check: zeros (a place never written) or another block (stop 78: btrfs_err
            // in 5.11, the port had it a warning)
            || message.contains("bad tree block start, want ")
            || message.contains("tree level mismatch detected, bytenr=")
            // btrfs_verify_level_key's first key check: the disk's block has the generation the parent names — a block of
            // the aborted transaction itself, freed and reallocated in it, whose earlier life reached the disk (stop 74,
            // class 65c5942d: an fs tree leaf's place holding the quota tree's leaf after write-and-wait-transaction-eio)
            || message.contains("tree first key mismatch detected, bytenr=");
    }

    /**
     * The kernel's report of what a power cut left, at a mount after it: "qgroup generation mismatch" — the cut came
     * after a commit that ran with the quota tree on disk and quota_root not yet published (a rescan ioctl's commit
     * between btrfs_quota_enable's commit and its publishing: btrfs_run_qgroups skips the status item), before any
     * commit that updated it. btrfs_read_qgroup_config's check exists for a status older than the superblock; quota
     * enable's status item is INCONSISTENT already, so marking it so changes nothing (stop 35; 5.11 and mainline).
     */
    static boolean afterAPowerCut(String message) {
        return message.endsWith("qgroup generation mismatch, marked as inconsistent")
            // a scrub reading blocks whose writes the cut dropped (dm-flakey drop_writes: the commit roots say more than the
            // disk holds); a scrub that finds errors with no cut on is the scrub lane's failure (ScrubLane)
            || message.contains("unable to fixup (regular) error at logical")
            // the same read of a replace's copy that found the block on the other mirror (stop 73, the extra mirror)
            || message.contains("fixed up error at logical ");
    }

    /**
     * The kernel's report of an error an armed fault-injection site returned ({@code --faults}): the
     * transaction abort it caused ("Transaction aborted (error EIO: ...)"), __btrfs_handle_fs_error's
     * "errno=-5", close_ctree's "commit super ret -5". What the fault does, not a failure; a WARN, an
     * assertion, a leak or a hang after it still is.
     */
    static boolean injectedReport(String message, Set<org.jbtrfs.core.Errno> injected) {
        if (injected.isEmpty()) {
            return false;
        }
        if (message.endsWith("Remounting read-write after error is not allowed")) {
            return true; // the filesystem an injected error forced read-only refuses to go back (EINVAL)
        }
        if (injected.contains(org.jbtrfs.core.Errno.EIO) && message.contains("failed: EIO: read error on ")
            && message.endsWith(" (injected)")) {
            return true; // an operation's report of the injected read error (open_ctree's "open_ctree failed: EIO: …")
        }
        if (injected.contains(org.jbtrfs.core.Errno.EIO) && message.endsWith("error reading free space cache")) {
            return true; // a v1 cache page the injected read error left unread: the cache is rebuilt (stop 73)
        }
        if (injected.contains(org.jbtrfs.core.Errno.EIO) && message.contains("fixed up error at logical ")) {
            // a replace's copy took the target's copy of a block the source had older: a write the injected -EIO failed
            // on the source alone (stop 73, scrub_handle_errored_block's repair)
            return true;
        }
        if (message.endsWith("Failed to delete root orphan item")) {
            // btrfs_find_orphan_roots' btrfs_del_orphan_item failed (an injected error in its COW): the error line
            // before __btrfs_handle_fs_error's "errno=" line, which names the errno (stop 69)
            return true;
        }
        if (injected.contains(org.jbtrfs.core.Errno.EIO) && (DEV_STAT_ERRORS.matcher(message).find()
            || message.contains("error writing primary super block to device "))) {
            // a bio the injected fail_make_request failed ({@code bio-write-eio}, stop 71): btrfs_end_bio's device error
            // counters, wait_dev_supers' report of the superblock write
            return true;
        }
        if (message.equals("VFS:Filesystem freeze failed")) {
            // freeze_super's report of ->freeze_fs's error: btrfs_freeze's commit failed (seed 91091: its injected EIO)
            return true;
        }
        if (message.endsWith("qgroup generation mismatch, marked as inconsistent")) {
            // an abort stopped the commits between quota enable's commit and its publishing of quota_root (the
            // next commit skips btrfs_run_qgroups): the next mount finds the status older than the superblock, as
            // after a crash there — the check that exists for it
            return true;
        }
        // after the abort, btrfs_start_transaction answers -EROFS (the rescan worker's "fail to start transaction
        // for status update: -30")
        java.util.Set<org.jbtrfs.core.Errno> consequences = java.util.EnumSet.copyOf(injected);
        consequences.add(org.jbtrfs.core.Errno.EROFS);
        for (org.jbtrfs.core.Errno e : consequences) {
            // "Transaction aborted (error EIO: ...)", "... errno=-5 EIO", "commit super ret -5",
            // "could not do orphan cleanup -12", "fail to start transaction for status update: -28"
            if (message.contains("(error " + e.name() + ":") || message.contains("(error " + e.name() + ")")
                || message.contains("errno=" + e.ret() + " ") || message.endsWith("errno=" + e.ret())
                || message.endsWith(" " + e.ret())) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code message} is btrfs_dev_stat_print_on_error's line ({@link #DEV_STAT_ERRORS}). */
    static boolean devStatLine(String message) {
        return DEV_STAT_ERRORS.matcher(message).find();
    }

    /** btrfs_dev_stat_print_on_error's line: "bdev sdc errs: wr 1, rd 0, flush 0, corrupt 0, gen 0". */
    private static final java.util.regex.Pattern DEV_STAT_ERRORS = java.util.regex.Pattern
        .compile("bdev \\S+ errs: wr \\d+, rd \\d+, flush \\d+, corrupt \\d+, gen \\d+$");

    /** The transactions {@code in} shows committed on the read-only filesystem ({@code when}): RO_WRITE, named by their openers. */
    private static void readOnlyWrites(Inspection in, String when, Set<Symptom> symptoms, List<String> evidence,
                                       Set<FixSwitch> culprits, Set<FixSwitch> reverted) {
        for (Inspection.TransactionInfo t : in.committedReadOnly()) {
            symptoms.add(Symptom.RO_WRITE);
            evidence.add("transaction " + t.transid() + " committed on the read-only filesystem, seen " + when + ", opened by "
                + t.handles());
            for (Inspection.Handle h : t.handles()) {
                culprits.addAll(openers(h, reverted));
            }
        }
    }

    /**
     * Error-level lines the kernel prints as the normal result of a user's racing request, not of a bug:
     * "qgroup scan failed with -4" is the rescan worker seeing quota disable (-EINTR).
     */
    static boolean outcome(String message) {
        return message.endsWith("qgroup scan failed with -4")
            // a device replace whose copy could not set a block group read-only and found no room for a new chunk: the
            // device is full (the replace ends CANCELED, -ENOSPC to its ioctl) — btrfs-progs issue 870 shows it on a
            // real kernel ("failed setting block group ro: -28", "btrfs_scrub_dev(...) failed -28")
            || message.contains("btrfs_scrub_dev(") && message.endsWith(") failed -28")
            // a replace started while a scrub of the device runs: btrfs_scrub_dev's -EINPROGRESS, which finishing reports
            // before the ioctl answers BTRFS_IOCTL_DEV_REPLACE_RESULT_SCRUB_INPROGRESS
            || message.contains("btrfs_scrub_dev(") && message.endsWith(") failed -115")
            // a replace onto a device the filesystem has (the disk a replace resumed by the mount just made its own):
            // btrfs_init_dev_replace_tgtdev's -EEXIST
            || message.endsWith("target device is in the filesystem!");
    }

    /**
     * The fix whose absence makes an umount or remount wait in {@code frame}: kthread_park of the cleaner
     * (its wake-up lost between should_park and set_current_state) or kthread_stop of the transaction
     * kthread (lost before schedule_timeout) in close_ctree; btrfs_discard_cleanup's cancel_delayed_work_sync
     * waiting for a discard worker that spins on one group (the hang's rule, for a spin that ended: stop 52,
     * {@code --kernel 5.12}, seed 52006, a 1.00 s stall with the worker RUNNABLE in peek_discard_list). Other stalls
     * are unexplained.
     */
    public static FixSwitch stallCause(String frame) {
        if (frame != null && frame.startsWith("DelayedWork.cancelSync <- Discard.")) {
            return FixSwitch.DISCARD_WORKER_INFINITE_LOOP;
        }
        if (frame != null && frame.endsWith("TransactionCommit.commitAsync")) {
            // START_SYNC waiting for the commit its kick of the transaction kthread asked for: the kick was lost
            return FixSwitch.COMMIT_TRANS_LOST_WAKEUP;
        }
        if (frame != null && frame.startsWith("Kthread.stop") && frame.endsWith("OpenCtree.stop")) {
            // a failed mount's kthread_stop of the transaction kthread (open_ctree's fail_trans_kthread): the same lost
            // stop wake-up, the kthread's sleep to its next commit interval (stop 73, --kernel 5.12 with bio-read-eio:
            // mounts failing on an injected read error)
            return FixSwitch.TRANS_KTHREAD_LOST_STOP_WAKEUP;
        }
        if (frame == null || !frame.endsWith("CloseCtree.closeCtree")) {
            return null;
        }
        if (frame.startsWith("Kthread.park")) {
            return FixSwitch.CLEANER_LOST_PARK_WAKEUP;
        }
        if (frame.startsWith("Kthread.stop")) {
            return FixSwitch.TRANS_KTHREAD_LOST_STOP_WAKEUP;
        }
        return null;
    }

    /** The start of close_ctree's debug line listing trans_list at patch 4/5's assertion (CloseCtree). */
    static final String TRANS_LIST_AT_ASSERT = "close_ctree: trans_list at the assertion: ";
    /** CloseCtree's debug line naming who queued the delayed iputs left at patch 5/5's assertion. */
    static final String DELAYED_IPUTS_AT_ASSERT = "close_ctree: delayed iputs at the assertion: ";

    /**
     * Whether close_ctree's list of trans_list at the assertion shows a COMPLETED transaction of BTRFS_IOC_START_SYNC:
     * its async commit's kworker had woken the waiters (the umount's sync among them) and not yet taken it off the list.
     */
    static boolean asyncCommitStillListed(List<LogEntry> log) {
        return log.stream().anyMatch(e -> e.message().startsWith(TRANS_LIST_AT_ASSERT)
            && COMPLETED_START_SYNC.matcher(e.message()).find());
    }

    /** close_ctree's debug line of trans_list shows a handle of the resumed balance's kthread (its balance item's). */
    static boolean balanceKthreadListed(List<LogEntry> log) {
        return log.stream().anyMatch(e -> e.message().startsWith(TRANS_LIST_AT_ASSERT)
            && BALANCE_KTHREAD_HANDLE.matcher(e.message()).find());
    }

    private static final java.util.regex.Pattern BALANCE_KTHREAD_HANDLE =
        java.util.regex.Pattern.compile("(insert|del)_balance_item@btrfs-balance");

    /**
     * The function whose handle btrfs_commit_transaction_async() hands to its kworker: BTRFS_IOC_START_SYNC's attach (the
     * async commit's nested join returns that same handle).
     */
    static final String START_SYNC = "btrfs_ioctl_start_sync";

    /** A COMPLETED transaction with a START_SYNC handle in close_ctree's debug line of trans_list. */
    private static final java.util.regex.Pattern COMPLETED_START_SYNC =
        java.util.regex.Pattern.compile("\\(COMPLETED\\) handles \\[[^\\]]*" + START_SYNC + "@");

    /**
     * The fix whose absence lets {@code h}'s opener start a transaction after the last commit: the
     * kernel functions of the seed's three leak paths, and for the cleaner only when it was the cleaner.
     */
    static FixSwitch opener(Inspection.Handle h) {
        return switch (h.function()) {
            case "btrfs_find_orphan_roots" -> FixSwitch.ORPHAN_ROOTS_RO_MOUNT;
            case "btrfs_qgroup_rescan_worker" -> FixSwitch.QGROUP_RESCAN_RO_REMOUNT;
            case "btrfs_sync_file" -> FixSwitch.FSYNC_RO_REMOUNT_RACE; // an fsync past its test across an RO remount
            // a read-only scrub marking a block group read-only on a read-only filesystem (2d192fc4c1ab)
            case "btrfs_inc_block_group_ro" -> FixSwitch.SCRUB_RO_MOUNT_TRANSACTION;
            // a delayed-meta work that took its node before the remount's commits
            case "btrfs_async_run_delayed_root" -> FixSwitch.DELAYED_WORKERS_RO_REMOUNT;
            // the async reclaim work queued again by a reservation after the umount's or remount's cancel_work_sync,
            // joining in its next flush state after the last commit (stop 54)
            case "flush_space" -> FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL;
            // an ordered extent finished after the umount's last commit: writeback nobody at the umount waited for (stop 63)
            case "btrfs_finish_ordered_io" -> FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT;
            // a resumed balance's kthread that took balance_mutex after the RO remount's or umount's pause (stop 64)
            case "insert_balance_item", "del_balance_item" -> FixSwitch.BALANCE_RESUME_PAUSE_RACE;
            // a replace ioctl past its SB_RDONLY test across an RO remount (no write access held, stop 65)
            case "btrfs_dev_replace_start" -> FixSwitch.DEV_REPLACE_START_WRITE_ACCESS;
            // the end of a replace: the resume kthread's after the suspend, or the ioctl's on the RO-remounted filesystem
            case "btrfs_dev_replace_finishing" -> devReplaceKthread(h) ? FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE
                : FixSwitch.DEV_REPLACE_START_WRITE_ACCESS;
            case "btrfs_start_trans_remove_block_group", "btrfs_evict_inode", "btrfs_commit_inode_delayed_inode",
                "btrfs_drop_snapshot" ->
                h.thread().equals(Roles.CLEANER) ? FixSwitch.CLEANER_RO_REMOUNT_RACE : null;
            default -> null;
        };
    }

    /**
     * An orphan's iput in an RO->RW remount's btrfs_orphan_cleanup (start_pre_rw_mount) joined the transaction, then
     * the cleanup failed: the remount restores SB_RDONLY and commits nothing — the same leak as
     * btrfs_find_orphan_roots' (time-to-find, remount-rw-failure-commit, seed 5). Seen at the umount (patch 4/5's
     * assertion) or, when the lane remounts read-write again first, by the RO-leak oracle before that remount (stop
     * 51, seed 51001 {@code --kernel 5.11}: class {@code leak:btrfs_evict_inode@lifecycle} was unexplained). An
     * eviction by the cleaner (its delayed iputs) is not a remount's.
     */
    static Set<FixSwitch> failedRemountEviction(Inspection.Handle h, Observation o) {
        if (h.function().equals("btrfs_evict_inode") && !h.thread().equals(Roles.CLEANER)
            && o.log.stream().anyMatch(e -> e.message().contains("could not do orphan cleanup"))) {
            return Set.of(FixSwitch.REMOUNT_RW_FAILURE_COMMIT);
        }
        return Set.of();
    }

    /**
     * Every fix that keeps {@code h}'s opener from starting a transaction after the last commit: the
     * rescan worker's is patch 1/5 (the remount neither stops nor waits for it) or, with 1/5 applied, the
     * proposed re-arm of the resumed rescan's completion (the remount's wait returns at once). Of those,
     * the reverted ones if any.
     */
    static Set<FixSwitch> openers(Inspection.Handle h, Set<FixSwitch> reverted) {
        FixSwitch f = opener(h);
        if (f == null) {
            return Set.of();
        }
        if (f == FixSwitch.QGROUP_RESCAN_RO_REMOUNT) {
            // or a run queued again while the previous one executed, which nobody waited for
            return Set.of(rescanWorkerFix(reverted), FixSwitch.QGROUP_RESCAN_REQUEUE_WAITED);
        }
        if (f == FixSwitch.ORPHAN_ROOTS_RO_MOUNT) {
            // on an RO mount (2/5 reverted), or left by an RO→RW remount that failed after it (the restore keeps
            // SB_RDONLY and commits nothing)
            return Set.of(f, FixSwitch.REMOUNT_RW_FAILURE_COMMIT);
        }
        if (f == FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT) {
            // a reclaim round's writeback, or what close_ctree's flush block waits for: an ordered extent's finish,
            // a data bio's checksum work, a compressed write's chunk
            return Set.of(f, FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT, FixSwitch.WORKERS_FLUSH_AT_UMOUNT,
                FixSwitch.DELALLOC_FLUSH_AT_UMOUNT);
        }
        if (f == FixSwitch.SCRUB_RO_MOUNT_TRANSACTION && devReplaceKthread(h)) {
            // a replace's copy: the resume kthread's, started after the suspend (inside close_ctree, or on the
            // RO-remounted filesystem where 5.11's btrfs_inc_block_group_ro joins)
            return Set.of(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE, f);
        }
        if (f == FixSwitch.SCRUB_RO_MOUNT_TRANSACTION && h.thread().startsWith("lane:replace")) {
            // the replace ioctl's copy on the RO-remounted filesystem
            return Set.of(FixSwitch.DEV_REPLACE_START_WRITE_ACCESS, f);
        }
        if (f == FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL) {
            // or 5.12's preemptive work, which the RO remount does not cancel: a round past its test (stop 57)
            return Set.of(f, FixSwitch.PREEMPT_RECLAIM_RO_REMOUNT);
        }
        return Set.of(f);
    }

    /**
     * The fix that keeps the qgroup rescan worker from running past a wait that should have outlasted it: patch
     * 1/5 (the RO remount stops and waits for it) when reverted, otherwise the proposed re-arm of a resumed
     * rescan's completion.
     */
    static FixSwitch rescanWorkerFix(Set<FixSwitch> reverted) {
        return reverted.contains(FixSwitch.QGROUP_RESCAN_RO_REMOUNT) ? FixSwitch.QGROUP_RESCAN_RO_REMOUNT
            : FixSwitch.QGROUP_RESCAN_RESUME_REARM;
    }

    /**
     * A mount that found what an earlier replace left on disk (stop 65): an item saying STARTED whose target was scratched
     * ("tgtdev ... is missing", -EIO), or no superblock of the filesystem on the device it was made on and none of devid 1
     * on its spare ("bad magic", -EINVAL) — the superblocks finishing scratched before the state was committed; and, when
     * a replace finished on this filesystem (this cycle or an earlier one since its mkfs), a missing target is also a
     * commit's STARTED superblock written to the swapped-in device (stop 72, class {@code b63cd7f4}).
     */
    static Set<FixSwitch> replaceLeftover(Throwable t, Observation o) {
        String m = t.getMessage() == null ? "" : t.getMessage();
        if (t instanceof org.jbtrfs.core.BtrfsException b && b.errno() == org.jbtrfs.core.Errno.EIO
            && m.contains("dev-replace target missing") && replaceFinished(o)) {
            return Set.of(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT, FixSwitch.DEV_REPLACE_SWAP_BEFORE_SUPERS);
        }
        if (t instanceof org.jbtrfs.core.BtrfsException b && (b.errno() == org.jbtrfs.core.Errno.EIO
            && m.contains("dev-replace target missing") || b.errno() == org.jbtrfs.core.Errno.EINVAL
            && (m.contains("no valid btrfs found on ") && m.endsWith("(bad magic)")
                // stop 66 (--kernel 5.12, seed 66016, 10449:1): the source scratched, the mount falls back to the
                // filesystem's other disk and finds the replace target's superblock there
                || m.contains(" is the target of a device replace (devid 0)")) || b.errno() == org.jbtrfs.core.Errno.EUCLEAN
            && (m.contains("present without an active replace item") || m.contains("without a valid replace item")))) {
            return Set.of(FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
        }
        return Set.of();
    }

    /**
     * A tree block read that found an older (or no) block on the disk a replace moved the filesystem to — "parent transid
     * verify failed", EIO — in a cycle whose log shows a replace: what a resumed copy that skipped the rest of a cancelled
     * chunk leaves (stop 65).
     */
    static Set<FixSwitch> staleReplaceTarget(Throwable t, List<LogEntry> log) {
        if (staleBlockRead(t) && replaceInLog(log)) {
            // (stop 66, --kernel 5.12: a block the target never received reads as zeros — "have 0", -EIO since stop 78;
            // stop 71, class 07640784: an older life of the block, its first key not the one its parent names)
            return Set.of(FixSwitch.DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK);
        }
        return Set.of();
    }

    /**
     * A tree block read that found an older life of the block, or none: "parent transid verify failed" (-EIO), a block of
     * zeros ("bad tree block start, want N have 0": read_extent_buffer_pages' -EIO) or another block's first key
     * (-EUCLEAN).
     */
    private static boolean staleBlockRead(Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage();
        return t instanceof org.jbtrfs.core.BtrfsException b && (b.errno() == org.jbtrfs.core.Errno.EIO
            && (m.contains("parent transid verify failed") || m.contains("bad tree block start") && m.endsWith(" have 0"))
            || b.errno() == org.jbtrfs.core.Errno.EUCLEAN && m.contains("tree first key mismatch detected"));
    }

    /** An error a replace may have left: a missing or stray target, a stale block (what the evidence's replace history is for). */
    private static boolean replaceFailure(Throwable t, Observation o) {
        String m = t.getMessage() == null ? "" : t.getMessage();
        return m.contains("dev-replace") || m.contains("replace target") || staleBlockRead(t);
    }

    /**
     * A stale tree block on a filesystem whose replace source failed a write since its mkfs: the write the target alone
     * took, gone with the target when the replace did not finish ({@link FixSwitch#DEV_REPLACE_SOURCE_WRITE_ERRORS}, stop
     * 73).
     */
    static Set<FixSwitch> staleSource(Throwable t, Observation o) {
        return staleBlockRead(t) ? staleBlockCulprits(o) : Set.of();
    }

    /**
     * What may have left an older (or no) tree block where a replace wrote, by what the filesystem's replaces did since
     * its mkfs: a write the source failed and only the target took ({@link FixSwitch#DEV_REPLACE_SOURCE_WRITE_ERRORS},
     * stop 73); a read repaired from the target's extra mirror — an uncopied place, another life of the block
     * ({@link FixSwitch#DEV_REPLACE_EXTRA_MIRROR}); a copy that could not repair a block and finished anyway
     * ({@link FixSwitch#DEV_REPLACE_UNREPAIRED_METADATA}).
     */
    static Set<FixSwitch> staleBlockCulprits(Observation o) {
        Set<FixSwitch> s = java.util.EnumSet.noneOf(FixSwitch.class);
        if (sourceMissedWrites(o)) {
            s.add(FixSwitch.DEV_REPLACE_SOURCE_WRITE_ERRORS);
        }
        List<String> lines = epochReplaceLines(o);
        if (lines.stream().anyMatch(l -> l.contains("read error corrected: ino "))) {
            s.add(FixSwitch.DEV_REPLACE_EXTRA_MIRROR);
        }
        if (replaceFinished(o) && lines.stream().anyMatch(l -> l.contains("unable to fixup (regular) error at logical"))) {
            s.add(FixSwitch.DEV_REPLACE_UNREPAIRED_METADATA);
        }
        return s;
    }

    /** The replace lines of the epoch's earlier cycles, then this cycle's log. */
    private static List<String> epochReplaceLines(Observation o) {
        List<String> lines = new java.util.ArrayList<>(o.replaceHistory);
        if (o.log != null) {
            o.log.forEach(l -> lines.add(l.message()));
        }
        return lines;
    }

    /** A replace's source failed a write on this filesystem: in this cycle's log, or in an earlier cycle's since the mkfs. */
    public static boolean sourceMissedWrites(Observation o) {
        // the replace (its start or resume line) may be an earlier cycle's, its source's write error this one's
        return o.sourceMissedWritesSinceMkfs || sourceWriteFailed(epochReplaceLines(o));
    }

    /**
     * {@link #staleReplaceTarget}, and beside it {@link FixSwitch#DEV_REPLACE_TARGET_WRITE_ERRORS} when the target may
     * have missed writes ({@link #targetMayHaveMissedWrites}).
     */
    private static Set<FixSwitch> staleTarget(Throwable t, Observation o) {
        Set<FixSwitch> s = staleReplaceTarget(t, o.log);
        if (s.isEmpty() || !targetMayHaveMissedWrites(o)) {
            return s;
        }
        Set<FixSwitch> both = java.util.EnumSet.copyOf(s);
        both.add(FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS);
        return both;
    }

    /**
     * A replace finished in this cycle on a filesystem whose cycles injected -EIO since its mkfs (the
     * {@code bio-write-eio} fault among them): a write to the target may have failed alone, the bio done without it
     * ({@link FixSwitch#DEV_REPLACE_TARGET_WRITE_ERRORS}, stop 71; the write's cycle may be an earlier one of the epoch).
     */
    static boolean targetMayHaveMissedWrites(Observation o) {
        return o.injected.contains(org.jbtrfs.core.Errno.EIO) && replaceFinishedInLog(o.log);
    }

    /**
     * A hang in sb_start_write (the freeze levels' percpu rwsem) after a thaw, on a filesystem forced read-only: the
     * thaw of a superblock an abort made read-only while frozen kept the levels ({@link FixSwitch#THAW_FORCED_READONLY},
     * stop 71, class {@code 760222ad}).
     */
    static boolean thawKeptTheLevels(Observation o) {
        return o.hang != null && o.hang.frame() != null && o.hang.frame().contains("PercpuRwSemaphore.downRead")
            && o.log != null && o.log.stream().anyMatch(l -> l.message().endsWith("forced readonly"));
    }

    private static boolean replaceInLog(List<LogEntry> log) {
        return log != null && log.stream().anyMatch(l -> l.message().contains("dev_replace from "));
    }

    /**
     * Whether a log has a replace's "dev_replace from … finished" (btrfs_dev_replace_finishing's swap): the runner keeps
     * it across an epoch's cycles ({@link Observation#replaceFinishedSinceMkfs}).
     */
    public static boolean replaceFinishedInLog(List<LogEntry> log) {
        return log != null && log.stream().anyMatch(l -> l.message().contains("dev_replace from ")
            && l.message().endsWith(" finished"));
    }

    /**
     * Whether a log has a write error of a replace's source ("bdev SRC errs: wr N" with SRC named by "dev_replace from SRC"
     * or "continuing dev_replace from SRC" in the same log): a write the source missed while the target took it (stop
     * 73); the runner keeps it across an epoch's cycles ({@link Observation#sourceMissedWritesSinceMkfs}).
     */
    public static boolean sourceWriteFailedInLog(List<LogEntry> log) {
        return log != null && sourceWriteFailed(log.stream().map(LogEntry::message).toList());
    }

    /** {@link #sourceWriteFailedInLog} over lines: a write error of a device some line names a replace's source. */
    static boolean sourceWriteFailed(List<String> lines) {
        Set<String> sources = new java.util.HashSet<>();
        for (String l : lines) {
            java.util.regex.Matcher m = REPLACE_SOURCE.matcher(l);
            if (m.find()) {
                sources.add(m.group(1));
            }
        }
        return !sources.isEmpty() && lines.stream().anyMatch(l -> {
            java.util.regex.Matcher m = DEV_STAT_WRITE_ERRORS.matcher(l);
            return m.find() && sources.contains(m.group(1));
        });
    }

    /** The source named by a replace's start or resume line. */
    private static final java.util.regex.Pattern REPLACE_SOURCE = java.util.regex.Pattern
        .compile("dev_replace from (\\S+) \\(devid 1\\)");

    /** btrfs_dev_stat_print_on_error's line with a write error counted: its device. */
    private static final java.util.regex.Pattern DEV_STAT_WRITE_ERRORS = java.util.regex.Pattern
        .compile("bdev (\\S+) errs: wr [1-9]\\d*, ");

    /**
     * A line about a replace — its start, resume, suspend, end, a target ignored or missing at a mount, a device's
     * errors, a read repair, a block no mirror could repair — or an abort.
     */
    public static boolean replaceLine(String message) {
        return message.contains("dev_replace") || message.contains("tgtdev") || message.contains("replace target")
            || message.contains("btrfs_scrub_dev(") || DEV_STAT_ERRORS.matcher(message).find()
            || message.contains("read error corrected: ino ") || message.contains("unable to fixup (regular) error at logical")
            // and the aborts around them: what a later mount of the replace's disks meets may be an abort's
            || message.contains("Transaction aborted (error ");
    }

    /**
     * A replace's copy was suspended ("suspending dev_replace for unmount": an umount's or an RO remount's) or resumed
     * ("continuing dev_replace from …") in this cycle's log or an earlier cycle's since the mkfs.
     */
    static boolean suspendedOrResumedReplace(Observation o) {
        java.util.function.Predicate<String> p = l -> l.contains("continuing dev_replace from ")
            || l.contains("suspending dev_replace for unmount");
        return o.replaceHistory.stream().anyMatch(p) || o.log != null && o.log.stream().map(LogEntry::message).anyMatch(p);
    }

    /**
     * The commit probe's first line lists only "extent item for tree block N (owner M) but no tree references it" of
     * subvolume ids ({@link #subvolumeLeafLeaked}).
     */
    static boolean subvolumeLeavesOnly(String warning) {
        String first = warning.lines().findFirst().orElse("");
        int at = first.indexOf(": ", first.indexOf(" transaction "));
        if (at < 0) {
            return false;
        }
        String[] problems = first.substring(at + 2).split("; ");
        return java.util.Arrays.stream(problems).allMatch(Classifier::subvolumeLeafLeaked);
    }

    /** A replace finished on this filesystem: in this cycle's log, or in an earlier cycle's since the mkfs. */
    private static boolean replaceFinished(Observation o) {
        return o.replaceFinishedSinceMkfs || replaceFinishedInLog(o.log);
    }

    /** A handle of the btrfs-devrepl kthread (a replace resumed by a mount, stop 65). */
    private static boolean devReplaceKthread(Inspection.Handle h) {
        return h.thread() != null && h.thread().startsWith("btrfs-devrepl");
    }

    /**
     * A WARN_ON(ret) after a failed btrfs_commit_transaction in dev-replace.c (btrfs_dev_replace_start :563,
     * btrfs_dev_replace_finishing :741, btrfs_dev_replace_cancel :978): only a failed commit reaches it — an injected
     * fault's, the kernel's own warning of it (stop 65).
     */
    static boolean devReplaceCommitWarning(String message) {
        return message.contains("fs/btrfs/dev-replace.c:563 ") || message.contains("fs/btrfs/dev-replace.c:741 ")
            || message.contains("fs/btrfs/dev-replace.c:978 ");
    }

    /** A line logged by the btrfs-balance kthread or a task running a balance ioctl (the balance lanes). */
    private static boolean balanceTask(LogEntry e) {
        return e.thread() != null && e.thread().contains("balance");
    }

    /** A replace's copy that found the filesystem closing: finishing's "btrfs_scrub_dev(...) failed -11". */
    private static boolean closingCopy(List<LogEntry> log) {
        return log.stream().anyMatch(l -> l.message().contains("btrfs_scrub_dev(") && l.message().endsWith(") failed -11"));
    }

    /**
     * Whether the last replace copy that ended before {@code e} failed for want of space: finishing's
     * "btrfs_scrub_dev(src, 1, tgt) failed -28" (a block group it could not set read-only, no chunk to allocate).
     */
    private static boolean copyFailedNoSpace(List<LogEntry> log, LogEntry e) {
        String last = null;
        for (LogEntry l : log == null ? List.<LogEntry>of() : log) {
            if (l.seq() < e.seq() && l.message().contains("btrfs_scrub_dev(")) {
                last = l.message();
            }
        }
        return last != null && last.endsWith(") failed -28");
    }

    /**
     * A transaction aborted before {@code e}, or the filesystem put in the error state by btrfs_handle_fs_error: a commit
     * whose tree block writes failed (btrfs_write_and_wait_transaction's report comes first, then btrfs_scrub_continue
     * lets a paused scrub read the switched commit roots, and only then cleanup_transaction aborts: stop 66, --kernel
     * 5.12, class fb3f5a5e), or any other caller's — once the filesystem is in the error state, the transaction kthread's
     * btrfs_cleanup_transaction drops the running transaction's dirty blocks unwritten, as an abort's cleanup does (stop
     * 72, class daf498b9: reset_balance_state's failed del_balance_item, an injected -ENOSPC, then a lookup's read of a
     * block that transaction had COWed: "bad fsid on block").
     */
    private static boolean commitFailedBefore(List<LogEntry> log, LogEntry e) {
        return abortedBefore(log, e) || log.stream().anyMatch(l -> l.seq() < e.seq() && fsErrorReport(l.message()));
    }

    /** btrfs_handle_fs_error's report: "error (device sdc) in btrfs_commit_transaction: errno=-5 EIO". */
    private static boolean fsErrorReport(String message) {
        return message.contains("error (device ") && message.contains(") in ") && message.contains(": errno=");
    }

    /** A transaction abort logged before {@code e}: the umount went through btrfs_error_commit_super. */
    private static boolean abortedBefore(List<LogEntry> log, LogEntry e) {
        for (LogEntry l : log) {
            if (l.seq() < e.seq() && l.message().contains("Transaction aborted")) {
                return true;
            }
        }
        return false;
    }

    private static boolean afterAssertion(List<LogEntry> log, LogEntry bug) {
        for (LogEntry e : log) {
            if (e.seq() == bug.seq() - 1) {
                return e.kind() == LogEntry.Kind.ASSERTION;
            }
        }
        return false;
    }

    public static String stack(Throwable t) {
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        String s = sw.toString();
        // the frames below the driver's loop say nothing
        String[] lines = s.split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length && i < 30; i++) {
            sb.append(lines[i]).append('\n');
        }
        return sb.toString().stripTrailing();
    }

    /**
     * An autodefrag record left at rmmod, and nothing else: one inserted after close_ctree's btrfs_cleanup_defrag_inodes by
     * a writeback that tested __need_auto_defrag before the umount began (stop 68,
     * {@link FixSwitch#ADD_INODE_DEFRAG_CLOSING_RACE}). With other objects left too, the umount did not get through
     * close_ctree (a panic, a hang: the records were never cleaned up) — that is the other leak's story.
     */
    public static boolean defragRecordLeaked(org.jbtrfs.fs.UnloadReport unload) {
        return unload.stateLeaks().isEmpty() && !unload.slabLeaks().isEmpty()
            && unload.slabLeaks().stream().allMatch(l -> l.cache().equals("btrfs_inode_defrag"));
    }

}
