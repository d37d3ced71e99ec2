package org.jbtrfs.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The fixes, one constant per patch. Applied is the kernel after the patch; reverted is the kernel's
 * code before it. The first six are the seed's ({@link Origin#SEED}); the others fix kernel bugs the
 * port found beyond the seed, each either fixed upstream later ({@link Origin#LATER_UPSTREAM}) or
 * proposed here and not upstream ({@link Origin#PROPOSED}).
 */
public enum FixSwitch {
    /** 1/5 "btrfs: fix transaction leak and crash after RO remount caused by qgroup rescan": stop and wait for the rescan worker on RO remount. */
    QGROUP_RESCAN_RO_REMOUNT(Origin.SEED),
    /** 2/5 "btrfs: fix transaction leak and crash after cleaning up orphans on RO mount": btrfs_find_orphan_roots only from start_pre_rw_mount. */
    ORPHAN_ROOTS_RO_MOUNT(Origin.SEED),
    /** 3/5 "btrfs: fix race between RO remount and the cleaner task": wait on CLEANER_RUNNING, atomic FS_STATE_RO. */
    CLEANER_RO_REMOUNT_RACE(Origin.SEED),
    /** 4/5 "btrfs: add assertion for empty list of transactions at late stage of umount". */
    TRANS_LIST_ASSERT(Origin.SEED),
    /** 5/5 "btrfs: run delayed iputs when remounting RO to avoid leaking them". */
    DELAYED_IPUTS_RO_REMOUNT(Origin.SEED),
    /** March 2021 "btrfs: fix subvolume/snapshot deletion not triggered on mount": find_orphan_roots before orphan cleanup. */
    DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP(Origin.SEED),
    /**
     * Proposed, not upstream: cleaner_kthread() tests kthread_should_park() and kthread_should_stop()
     * before set_current_state(TASK_INTERRUPTIBLE), so a kthread_park() whose wake_up_process lands between
     * the test and the sleep is lost, and close_ctree waits in kthread_park() until the transaction kthread
     * next wakes the cleaner (up to commit_interval seconds). The fix re-tests both after setting the
     * state ("set state, test, schedule"). Found by the port's wake-up semantics (kthread_park in
     * kernel/kthread.c, cleaner_kthread in fs/btrfs/disk-io.c, v5.11 and mainline alike).
     */
    CLEANER_LOST_PARK_WAKEUP(Origin.PROPOSED),
    /**
     * Proposed, not upstream: transaction_kthread() tests kthread_should_stop() and then sleeps in
     * schedule_timeout_interruptible(), which sets TASK_INTERRUPTIBLE only then; a kthread_stop() in between
     * loses its wake-up and close_ctree waits for the whole delay (up to commit_interval seconds). The fix
     * sets the state before the test. Same source as {@link #CLEANER_LOST_PARK_WAKEUP}.
     */
    TRANS_KTHREAD_LOST_STOP_WAKEUP(Origin.PROPOSED),
    /**
     * NOT one of the six seed patches: upstream later, e804861bd4e69cc5fe1053eedcb024982dde8e48 "btrfs: fix
     * deadlock between quota disable and qgroup rescan worker" (Shin'ichiro Kawasaki, v5.17, also in the
     * 5.4/5.10/5.15 stable trees): btrfs_quota_disable clears QUOTA_ENABLED and waits for the rescan
     * worker before it starts its transaction, instead of while holding the handle. Reverted (v5.11 and
     * every kernel before the fix): quota disable holds a TRANS_START handle while it waits for the
     * worker, the worker's next btrfs_start_transaction waits for a commit in progress
     * (wait_current_trans), and that commit waits in COMMIT_START for quota disable's handle — a
     * three-task deadlock. Reverted in the v5.11 profile, applied in {@code KernelConfig.defaults()}.
     */
    QUOTA_DISABLE_RESCAN_DEADLOCK(Origin.LATER_UPSTREAM),
    /**
     * Later upstream, not in 5.10/5.11/5.12 (close_ctree of v6.x: a362bb864b8d "btrfs: fix hang during unmount when
     * stopping a space reclaim worker", v6.0, whose title's hang — the async reclaim's RUN_DELAYED_IPUTS state waiting for
     * a delayed iput only the parked cleaner would run — needs the async reclaim the port has since stop 54, not reproduced
     * here; extended by
     * cda76788f8b0 "btrfs: fix non-empty delayed iputs list on unmount due to async workers"): after parking the cleaner, flush
     * endio_write_workers and endio_freespace_worker and run the delayed iputs. Without it, an ordered
     * extent whose completion drops its last reference after sync_filesystem's btrfs_wait_ordered_roots
     * returned (it waits for BTRFS_ORDERED_COMPLETE, which btrfs_finish_ordered_io sets before its puts)
     * leaves a delayed iput nothing runs: the delayed_iputs assertion at umount, or, once the cleaner is
     * stopped, a leaked inode ("Busy inodes after unmount"). Reachable after an RO remount and at RW umount
     * with every patch of the series applied. Found by porting the data path (docs/writeback.md).
     */
    ENDIO_WRITE_FLUSH_AT_UMOUNT(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream: btrfs_qgroup_rescan_resume() queues the paused rescan worker without
     * re-arming qgroup_rescan_completion, which the worker's complete_all() left done when an RO remount
     * paused it. Since 5.11 btrfs_start_pre_rw_mount() calls it on an RO→RW remount too (its comment
     * still says "only called from open_ctree"), so the next RO remount's
     * btrfs_qgroup_wait_for_completion() returns at once while the worker runs, and the worker's status
     * update transaction is started after the remount's btrfs_commit_super(): the patch 1/5 leak, with
     * patch 1/5 applied. The fix re-arms the completion (init_completion) under qgroup_rescan_lock before
     * queueing the worker, as qgroup_rescan_init() does. Found by the explorer's lifecycle lane
     * (qgroup.c v5.11, v5.12 and 6.x alike).
     */
    QGROUP_RESCAN_RESUME_REARM(Origin.PROPOSED),
    /**
     * Proposed, not upstream: btrfs_find_orphan_roots() puts every root with refs 0 on dead_roots, also one
     * whose inodes are still in memory. Patch 2/5 moved it into btrfs_start_pre_rw_mount(), so it now runs
     * on an RO→RW remount too, where a subvolume deleted during this mount may still have a file open: the
     * cleaner drops the tree under the open inode, and at its last iput inode_tree_del() adds the root
     * again (btrfs_add_dead_root() only checks that it is not on the list) — a second
     * btrfs_drop_snapshot() of a dropped tree: walk_down_proc() finds no reference for the freed root block,
     * BUG_ON(wc->refs[level] == 0), and the cleaner dies (before stop 41 the port's walk looked no count up and
     * failed at btrfs_del_root() with -ENOENT, a transaction abort). The fix leaves a root with inodes in memory
     * to inode_tree_del() (root-tree.c and inode.c, v5.11, v5.12 and 6.x alike).
     */
    ORPHAN_ROOTS_INODES_IN_MEMORY(Origin.PROPOSED),
    /**
     * NOT one of the six seed patches: upstream later, b7adbf9ada35 "btrfs: fix race between quota rescan and
     * disable leading to NULL pointer deref" (Filipe Manana, v6.2, in the 5.4+ stable trees; Fixes:
     * e804861bd4e6): btrfs_qgroup_rescan_worker() starts its status-update transaction only if it rescanned
     * at least one leaf. Reverted (v5.11, v5.12 and every kernel before it): a worker queued after
     * btrfs_quota_disable() rescans no leaf (-EINTR in 5.11's loop with QUOTA_ENABLED clear, or stopped by
     * REMOUNTING) and calls btrfs_start_transaction(fs_info->quota_root, 1) on the quota root the disable set to
     * NULL: a NULL pointer dereference in start_transaction(), the kworker dies before complete_all(), and the
     * next wait for the rescan (an RO remount, close_ctree) waits for ever. Two ways there: an RO→RW remount's
     * btrfs_qgroup_rescan_resume() (tests only RESCAN, which quota disable leaves set for a rescan paused on a
     * read-write filesystem) — how the explorer found it ({@code --latency off --filesystems 2}, seed 8008) — or
     * a rescan ioctl that passed qgroup_rescan_init() (tests ON, not QUOTA_ENABLED) and queued its worker after
     * the disable's wait returned at once (qgroup_rescan_running not yet set) — the upstream report's.
     */
    QUOTA_RESCAN_DISABLE_NULL_DEREF(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream: a rescan whose work is queued again while it executes runs twice under one
     * qgroup_rescan_running and one qgroup_rescan_completion, and the first run's end (running false,
     * complete_all) leaves the second waited for by nobody. It happens when a rescan ioctl is in flight across
     * quota disable and enable: btrfs_quota_enable() assigns qgroup_flags = ON | INCONSISTENT, dropping the ioctl's
     * RESCAN bit, so its own qgroup_rescan_init() passes and both queue the work. The second run's status update
     * then starts after close_ctree's commit (the trans_list assertion) or on the NULL quota root of a later
     * disable. By the other order, the enable's own rescan runs to its end (complete_all) between the ioctl's
     * qgroup_rescan_init, which re-armed the completion, and the ioctl's queueing: the ioctl's run starts with
     * qgroup_rescan_running set and the completion done, and an RO remount's or close_ctree's wait returns at once.
     * The fix: whoever marks a rescan running and queues it (the ioctl, btrfs_quota_enable) does so under
     * qgroup_rescan_lock and re-arms the completion there (reinit_completion), and the worker ends the rescan
     * (running false, complete_all) only if its work is not pending again (work_pending). Found by the explorer's
     * second quota process (qgroup.c v5.11; mainline's btrfs_quota_enable assigns qgroup_flags alike).
     */
    QGROUP_RESCAN_REQUEUE_WAITED(Origin.PROPOSED),
    /**
     * 331cd9461412 "btrfs: fix race between quota enable and quota rescan ioctl" (v6.1; CVE-2022-50379). 5.11's
     * btrfs_quota_enable() publishes fs_info->quota_root and sets QUOTA_ENABLED after its commit, then calls
     * qgroup_rescan_init(); a rescan ioctl that ran in between (ON was already set in memory) makes it fail with
     * -EINPROGRESS, and the enable's error path then btrfs_put_root()s the quota root it has published — quotas stay
     * enabled on a freed root, and the next commit's btrfs_run_qgroups (or the rescan worker) uses it: a
     * use-after-free. Applied (6.1): -EINPROGRESS is ignored — the ioctl's rescan fills the numbers in. Found reading
     * upstream while triaging the explorer's quota finds, not by the explorer; the port had thrown EINPROGRESS with
     * the root intact, which is neither kernel.
     */
    QUOTA_ENABLE_RESCAN_EINPROGRESS(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream: a qgroup status item with RESCAN and without ON resumes a rescan nobody
     * initialised. e804861bd4e6 (v5.17, {@link #QUOTA_DISABLE_RESCAN_DEADLOCK}) clears QUOTA_ENABLED and waits for
     * the rescan worker before quota disable starts its transaction; a commit meanwhile (the transaction kthread)
     * runs btrfs_run_qgroups() with quota_root still set, which clears ON and writes the status item with the
     * worker's RESCAN bit. After a power cut (or an abort) before the disable's own commit, the next mount's
     * btrfs_read_qgroup_config() clears QUOTA_ENABLED and skips qgroup_rescan_init() — the only btrfs_init_work()
     * of qgroup_rescan_work — but keeps RESCAN, and btrfs_qgroup_rescan_resume() (btrfs_start_pre_rw_mount) queues
     * the uninitialised work: a NULL function call in a kworker, and every later wait for the rescan hangs. The
     * fix drops RESCAN at mount when ON is clear. Found by the explorer's error paths ({@code --faults}).
     */
    QGROUP_STATUS_RESCAN_WITHOUT_ON(Origin.PROPOSED),
    /**
     * Proposed, not upstream: an RO→RW remount whose btrfs_start_pre_rw_mount() fails part-way leaves the
     * transaction that function's earlier steps joined on a filesystem that stays read-only — patch 2/5's leak
     * through the remount's error path. btrfs_find_orphan_roots() (moved there by patch 2/5) joins a transaction
     * to delete a stray orphan item; when btrfs_orphan_cleanup() or a later step then fails, btrfs_remount()'s
     * restore label keeps SB_RDONLY and returns; close_ctree() commits nothing on a read-only superblock, so a
     * prompt umount leaves the transaction on trans_list (patch 4/5's assertion, a WARN in mainline's
     * warn_about_uncommitted_trans), and a slower one has the transaction kthread commit it on the read-only
     * filesystem. The fix commits what btrfs_start_pre_rw_mount() did (btrfs_commit_super) before the restore.
     * Found by the explorer's error paths ({@code --faults}; super.c v5.11 with the seed's patches).
     */
    REMOUNT_RW_FAILURE_COMMIT(Origin.PROPOSED),
    /**
     * Proposed, not upstream: a rescan ioctl that fails after its qgroup_rescan_init() — btrfs_join_transaction or
     * btrfs_commit_transaction failing (an aborted filesystem: -EROFS, -EIO) — leaves qgroup_rescan_completion
     * re-armed (init_completion) with no rescan to complete it. A btrfs_qgroup_wait_for_completion() that saw the
     * previous rescan running and had not slept yet (or a waiter that complete_all() woke but that has not run:
     * do_wait_for_common re-tests x->done) then sleeps for ever with qgroup_rescan_running false: a quota disable or
     * an RO remount hangs in D state, {@code btrfs quota rescan -w} until a signal. The fix re-arms the completion
     * where the worker is queued (under qgroup_rescan_lock, with qgroup_rescan_running), not in a fresh
     * qgroup_rescan_init. Found by the explorer's error paths ({@code --faults}), named by its hang report's qgroup
     * state (qgroup.c v5.11; kernel/sched/completion.c).
     */
    QGROUP_RESCAN_FAILED_INIT_REARM(Origin.PROPOSED),
    /**
     * df94a342efb4 "btrfs: run btrfs_error_commit_super() early" (Qu Wenruo, v6.15, in the stable trees): on a
     * filesystem in error close_ctree runs btrfs_error_commit_super() before the flushes of
     * {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT} (and without its own btrfs_run_delayed_iputs), not after
     * btrfs_commit_super's place. Reverted (5.11 and every kernel before it): after an abort SB_RDONLY makes
     * sync_filesystem return at once, so data writeback still in flight at umount is first waited for by
     * btrfs_error_commit_super's btrfs_destroy_all_ordered_extents → btrfs_wait_ordered_roots, which returns at
     * BTRFS_ORDERED_COMPLETE; the finisher's last btrfs_put_ordered_extent comes after, its
     * btrfs_add_delayed_iput after btrfs_error_commit_super's btrfs_run_delayed_iputs: the delayed_iputs
     * assertion, or a busy inode. With the flushes after it, they wait for those puts and run the delayed iput.
     * A patch on top of {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT}'s block: applied alone it changes nothing. Found by
     * the explorer's error paths ({@code --faults all}, seed 39039) before the upstream fix was read.
     */
    ERROR_COMMIT_SUPER_EARLY(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream: the qgroup rescan worker marks the rescan over (qgroup_rescan_running false,
     * complete_all, under qgroup_rescan_lock) before it ends its status-update transaction, which it does after the
     * unlock (5.11 and mainline alike). close_ctree's btrfs_qgroup_wait_for_completion returns at the complete_all; its
     * btrfs_commit_super waits for the worker's handle only until __btrfs_end_transaction drops num_writers — and when
     * that commit fails (an I/O error at umount: the transaction aborted, the filesystem in error) the worker, still
     * inside __btrfs_end_transaction, tests the error state after close_ctree has run on to
     * kthread_stop(transaction_kthread): its wake_up_process(fs_info->transaction_kthread) is a use-after-free of the
     * exited kthread's task_struct. The fix ends the transaction under the lock, before the rescan is marked over, so a
     * wait for the rescan returns only when the worker holds no handle. Found by the explorer's error paths
     * ({@code --faults all --latency off --filesystems 4}, seed 39039):
     * {@code uaf:BUG: KASAN: use-after-free in wake_up_process@kworker} on the transaction kthread.
     */
    QGROUP_RESCAN_END_BEFORE_COMPLETE(Origin.PROPOSED),
    /**
     * Proposed, not upstream (found by the explorer in stop 25; v5.11, v5.12 and mainline's btrfs_sync_file alike):
     * fsync takes no write access, so neither sb_prepare_remount_readonly() nor btrfs_remount() waits for it. An
     * fsync that passed skip_inode_logging() before an RO remount's sync_filesystem commit and reaches
     * btrfs_start_transaction() only after the remount's btrfs_commit_super (preempted in between, or woken from
     * wait_current_trans as that commit unblocks) starts a transaction on the read-only filesystem — the leak of
     * patches 1–3/5 through a user's fsync: with the tree log it syncs the log and only ends its handle, and
     * close_ctree of the read-only filesystem commits nothing (patch 4/5's assertion; the use-after-free with
     * generic crc32c); without it (notreelog, or a forced full commit) it commits on the read-only filesystem. The
     * fix, in patch 3/5's manner: btrfs_sync_file counts itself in fs_info (before its test of BTRFS_FS_STATE_RO)
     * while it may start a transaction, and returns 0 when the filesystem went read-only — the remount's
     * sync_filesystem committed the inode; btrfs_remount waits for the count to drop to 0 after setting RO, before
     * btrfs_commit_super.
     */
    FSYNC_RO_REMOUNT_RACE(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 27, with the port's delayed inodes; v5.11, v5.12 and mainline alike): a work of
     * the delayed-meta workqueue (btrfs_async_run_delayed_root) tests the count of delayed items, takes a prepared
     * node and only then joins a transaction. If the remount's commits write that node's items meanwhile and the work
     * joins after btrfs_commit_super, the join creates a transaction on the read-only filesystem — nothing commits
     * it: patch 4/5's assertion at umount, the seed's leak. close_ctree flushes fs_info->delayed_workers before its
     * btrfs_commit_super for exactly this ("they can create a transaction"); btrfs_remount (btrfs_remount_ro in
     * mainline) does not. The fix does the same there: flush the delayed-meta workqueue after the waits for the
     * cleaner and the rescan, before btrfs_commit_super — not inside the commit, which close_ctree's comment warns could
     * deadlock; a work waits for nothing the remount holds (s_umount, no transaction handle): at most for a commit of
     * the transaction kthread, which takes neither.
     */
    DELAYED_WORKERS_RO_REMOUNT(Origin.PROPOSED),
    /**
     * Later upstream, not in 5.10/5.11/5.12: "btrfs: flush delalloc workers queue before stopping cleaner kthread during
     * unmount" (Filipe Manana, v6.13, syzbot): close_ctree flushes fs_info->delalloc_workers after parking the cleaner,
     * before the flushes of {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT}. With -o compress, writeback hands each range to async
     * chunks on the delalloc workqueue (cow_file_range_async); the umount's sync_filesystem waits for a chunk's pages
     * (locked and still tagged dirty until the chunk puts them under writeback) but not for the chunk's last step,
     * async_cow_free's btrfs_add_delayed_iput of its inode reference. Reverted (5.11 and every kernel before it): when
     * that step comes after close_ctree's kthread_stop(cleaner) — the umount has pruned the dentries, so the chunk's
     * reference is the inode's last — its wake of the cleaner is a use-after-free of the exited task (the KASAN report
     * syzbot sent), and the inode is left busy. Ported with compressed writeback (stop 28).
     */
    DELALLOC_FLUSH_AT_UMOUNT(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream (stop 29, with the port's freeze; v5.11, v5.12 and mainline alike — 6.8's
     * btrfs_reconfigure_for_mount still calls btrfs_reconfigure itself): the VFS refuses to remount a frozen superblock
     * (reconfigure_super: EBUSY while s_writers.frozen is not SB_UNFROZEN), but btrfs_mount, asked for a read-write
     * mount of a device whose superblock is read-only, remounts it read-write by calling btrfs_remount directly. A
     * superblock frozen read-only (freeze_super: SB_FREEZE_COMPLETE at once, no freeze level taken) thus becomes
     * read-write while frozen; thaw_super then finds it read-write and runs sb_freeze_unlock — percpu_up_write of three
     * levels never taken: rcu_sync_exit warns (kernel/rcu/sync.c:154, :155) and its gp_count goes negative, so every
     * later freeze of that superblock keeps no writer out. The fix: btrfs_mount refuses that remount with EBUSY while
     * the superblock is frozen, as reconfigure_super does.
     */
    MOUNT_RW_FROZEN(Origin.PROPOSED),
    /**
     * Later upstream, not in 5.11/5.12: e70e3f858e08 "btrfs: use BTRFS_FS_UPDATE_UUID_TREE_GEN flag for UUID tree
     * rescan check" (Dave Chen, Robbie Ko; 2026, the 7.0 cycle, queued for the 5.15+ stable trees). open_ctree decides
     * whether to rescan the UUID tree by comparing fs_info->generation with the superblock's uuid_tree_generation,
     * after btrfs_start_pre_rw_mount — whose orphan cleanup, space cache v1 removal and resumed qgroup rescan start
     * transactions that bump fs_info->generation (join_transaction) without committing. So a filesystem whose UUID
     * tree is current (BTRFS_FS_UPDATE_UUID_TREE_GEN set early in open_ctree because the generations matched) gets
     * "checking UUID tree" and a btrfs-uuid kthread rescanning it, walking every subvolume, racing the mount's users.
     * The fix tests the flag instead. Since 44c0ca211a4d (5.11) moved that setup before the check.
     */
    UUID_RESCAN_GENERATION_CHECK(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Filipe Manana, May 2025, "btrfs: fix discard worker infinite loop after disabling discard"; Fixes:
     * 2bee7eb8bb81, 5.6): the async discard worker's peek_discard_list finds a block group on the unused discard list that
     * got an extent since (used != 0) and moves it to a filtered list with __add_to_discard_list — which does nothing
     * once BTRFS_FS_DISCARD_RUNNING is clear or the filesystem read-only, so the loop finds the same group again, for
     * ever, holding discard_ctl->lock: a soft lockup of the kworker, and the umount or remount whose
     * btrfs_discard_cleanup cleared the bit waits for it in cancel_delayed_work_sync. The fix moves the test from
     * __add_to_discard_list to add_to_discard_list, so the group always leaves the unused list.
     */
    DISCARD_WORKER_INFINITE_LOOP(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Chris Mason, 981a37bab5e5, 6.4, "btrfs: properly enable async discard when switching from
     * RO->RW"): btrfs_remount's RO→RW path never calls btrfs_discard_resume, and btrfs_remount_cleanup resumes async
     * discard only when the remount turns the option on — so after {@code mount -o discard=async} and an RO remount (which
     * stopped it), or an RO mount with discard=async (which never started it), async discard stays off on the read-write
     * filesystem until the next mount: nothing is discarded and emptied block groups, which reach unused_bgs only once
     * trimmed, are never removed. The fix resumes it after BTRFS_FS_OPEN is set.
     */
    DISCARD_RESUME_RO_TO_RW(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Filipe Manana, cda76788f8b0, v6.15, in the stable trees: "btrfs: fix non-empty delayed iputs list
     * on unmount due to async workers"): close_ctree flushes fs_info->workers after fs_info->delalloc_workers, before the
     * flushes of {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT} and their btrfs_run_delayed_iputs. A data write bio goes through
     * btrfs_wq_submit_bio: its checksum and submission run as a work on fs_info->workers, and its completion queues the
     * ordered extent's finish, whose last btrfs_put_ordered_extent hands the inode reference to btrfs_add_delayed_iput.
     * Reverted: on a filesystem an abort forced read-only sync_filesystem waits for nothing, and
     * btrfs_cleanup_transaction waits for the ordered extents it finds and then for the inodes on the delalloc lists —
     * writeback that added its ordered extent and cleared EXTENT_DELALLOC in between is waited for by neither; its bio's
     * work then runs after the flushes, and the delayed iput comes after close_ctree's last run: the delayed_iputs
     * assertion, or a busy inode. Found by the explorer (stop 34, seed 34034, {@code --faults all}) before the upstream
     * fix was read; upstream describes the same queue, reached through an I/O error's btrfs_bio_end_io.
     */
    WORKERS_FLUSH_AT_UMOUNT(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Filipe Manana, 232796df8c14, v5.16, in the stable trees: "btrfs: fix deadlock between quota enable
     * and other quota operations"; reported by syzkaller, Hao Sun): 5.11's btrfs_quota_enable() commits its transaction
     * while holding qgroup_ioctl_lock, and every other qgroup operation takes that mutex after it has joined a
     * transaction — BTRFS_IOC_QGROUP_CREATE joins, then btrfs_create_qgroup() locks it. A create that joined the enable's
     * transaction before its commit waits for the mutex; the commit waits for the create's handle to end: both hang. The
     * fix commits with the mutex dropped (concurrent enables are serialised by subvol_sem). Found by the port's lockdep with
     * btrfs' transaction-state annotations (stop 47: a subvolume create and a quota enable in one lifecycle made the cycle
     * {@code &fs_info->qgroup_ioctl_lock -> btrfs_trans_num_extwriters}), before the upstream fix was read.
     */
    QUOTA_ENABLE_QGROUP_IOCTL_DEADLOCK(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Sidong Yang, d4aef1e122d8, v5.17-rc7, in the stable trees: "btrfs: qgroup: fix deadlock between
     * rescan worker and remove qgroup"): {@link #QUOTA_DISABLE_RESCAN_DEADLOCK}'s e804861bd4e6 (v5.17-rc3) made quota
     * disable wait for the rescan worker before its transaction — but still holding qgroup_ioctl_lock. A qgroup create
     * (or remove) that joined the running transaction then waits for the mutex, holding its handle; a commit (the rescan
     * worker's after a leaf, or any other) waits for that handle; the worker's next transaction waits for the commit, and
     * quota disable for the worker. The fix drops the mutex before the wait. Only meaningful with
     * {@code QUOTA_DISABLE_RESCAN_DEADLOCK} applied (5.11's order holds a handle as well: that switch's deadlock). Found by
     * the explorer (stop 47, seed 47002: the second quota lane's new qgroup create) before the upstream fix was read.
     */
    QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream: with quotas on, a subvolume drop frees each leaf's data references, and each reference
     * queued leaves a qgroup extent record whose old roots btrfs_qgroup_trace_extent_post() looks up on the commit roots
     * (btrfs_find_all_roots with a NULL transaction). For the dead root, resolve_indirect_ref() searches
     * root->commit_root — which btrfs_drop_snapshot() never COWs or switches: it is the tree as it was before the drop —
     * for the data ref's key (inode, EXTENT_DATA, file offset of the extent's start). When that key lies below its
     * leaf's first key (the back part of a split extent, or one partly overwritten at its front, first in its leaf), the
     * search descends into the previous leaf, which the drop freed; freed in an earlier, committed transaction of the
     * same drop, its space may hold another tree's block now: "parent transid verify failed", -EIO. The walk's error
     * marks the qgroups inconsistent ("error accounting new delayed refs extent (err code: -5)"); the record keeps no old
     * roots, and btrfs_qgroup_account_extents() at the commit WARNs (qgroup.c:2619 in v5.11), walks again, fails again,
     * and the commit fails: the transaction aborts and the filesystem goes read-only. resolve_indirect_ref() already
     * treats a BTRFS_ROOT_DELETING root as -ENOENT (kept as a root) for a walk of the current roots — Josef Bacik's
     * "btrfs: do not resolve backrefs for roots that are being deleted" (March 2020), written for a deadlock on the
     * dead root's tree locks, which a commit-root walk does not take, so it left that walk out; the fix does the same
     * for a commit-root walk. Found while porting btrfs_qgroup_trace_extent_post (stop 51); read: backref.c
     * resolve_indirect_ref, find_parent_nodes, add_all_parents; extent-tree.c btrfs_drop_snapshot, walk_up_proc,
     * __btrfs_mod_ref; qgroup.c btrfs_qgroup_trace_extent_post, btrfs_qgroup_account_extents (v5.11; mainline's
     * resolve_indirect_ref keeps the test for the current roots only). Not checked against a running kernel.
     */
    BACKREF_DELETING_COMMIT_ROOT(Origin.PROPOSED),
    /**
     * Later upstream, not in 5.10/5.11/5.12: 2d192fc4c1ab (v5.17, Qu Wenruo, "btrfs: don't start transaction for scrub
     * if the fs is mounted read-only", stable 5.4+). A read-only scrub ({@code btrfs scrub start -r}, documented to run
     * on a read-only filesystem; it takes no write access) marks each block group read-only through
     * btrfs_inc_block_group_ro(), whose first step is btrfs_join_transaction() — on a read-only filesystem no
     * transaction runs, so it starts one, and nothing commits it: btrfs_sync_fs and close_ctree skip the commit of a
     * read-only superblock. The umount leaks it (patch 4/5's assertion of an empty transaction list, which is how the
     * upstream report found it). The fix: on a read-only superblock, mark the group read-only without a transaction.
     * Ported with scrub in stop 52 (docs/explorer.md, *Stop 52*).
     */
    SCRUB_RO_MOUNT_TRANSACTION(Origin.LATER_UPSTREAM),
    /**
     * Later upstream, not in 5.10/5.11/5.12: fdfbf020664b (v5.17, Josef Bacik, "btrfs: rework async transaction
     * committing", written as a cleanup). BTRFS_IOC_START_SYNC ({@code btrfs subvolume delete -c}, btrfs-progs'
     * wait_for_commit) commits through btrfs_commit_transaction_async(), which in 5.10–5.16 hands the ioctl's handle (its
     * nested join returns that same handle) to a work on the kernel's system_wq and returns once the commit has started. That kworker holds no reference to the mount:
     * the ioctl returns, the descriptor closes, the umount's sync waits for the commit to reach COMPLETED, and
     * close_ctree goes on while the kworker is still in btrfs_commit_transaction's tail — between its wake-up of the
     * commit's waiters and its list_del_init of the transaction, close_ctree finds the transaction on trans_list (patch
     * 4/5's assertion), and past close_ctree the kworker's list_del_init, sb_end_intwrite and btrfs_scrub_continue touch
     * a freed fs_info. Nothing in close_ctree flushes system_wq. The fix (upstream's rework): set BTRFS_FS_COMMIT_TRANS and
     * wake the transaction kthread, which commits at once; close_ctree's kthread_stop waits for it. Found reading
     * ioctl.c btrfs_ioctl_start_sync, transaction.c btrfs_commit_transaction_async, do_async_commit and the tail of
     * btrfs_commit_transaction, disk-io.c close_ctree (v5.11), while porting START_SYNC / WAIT_SYNC (stop 53).
     */
    ASYNC_COMMIT_TRANSACTION_KTHREAD(Origin.LATER_UPSTREAM),
    /**
     * NOT upstream — proposed (stop 53), on top of {@link #ASYNC_COMMIT_TRANSACTION_KTHREAD} (v5.17's path, mainline's
     * today). BTRFS_IOC_START_SYNC sets BTRFS_FS_COMMIT_TRANS and wake_up_process()es the transaction kthread, then waits
     * for the commit to start. The kthread tests and clears the flag at the top of its loop and sleeps at its bottom
     * (schedule_timeout_interruptible(delay), the state set there): a kick that lands anywhere in between — while it
     * commits another transaction, wakes the cleaner, tests for a blocked transaction — finds it TASK_RUNNING and is
     * lost; the flag stays set and the kthread sleeps its whole delay (commit_interval: 30 s by default) before it looks
     * again. The ioctl ({@code btrfs subvolume delete -c}) waits that long. The fix: test the flag again after setting
     * the sleep's state (and do not sleep if it is set), as the kernel's wait loops do. Found by the explorer (stop 53,
     * seed 53001, every fix applied: {@code stall:start sync in Sched.waitUntil <- TransactionCommit.commitAsync@subvol},
     * blocked 1 s and 3 s with commit=1 and commit=3). Read: transaction.c btrfs_commit_transaction_async and disk-io.c
     * transaction_kthread as fdfbf020664b left them (mainline alike, read in outline). Not checked on a running kernel.
     */
    COMMIT_TRANS_LOST_WAKEUP(Origin.PROPOSED),
    /**
     * NOT upstream — proposed (stop 54). close_ctree and btrfs_remount (going read-only) cancel the async metadata reclaim
     * work (cancel_work_sync(&fs_info->async_reclaim_work)) before their own btrfs_delete_unused_bgs, whose
     * btrfs_start_trans_remove_block_group reserves with BTRFS_RESERVE_FLUSH_ALL_STEAL: on a filesystem whose metadata
     * is full it queues a ticket, and __reserve_bytes queues the work again — nothing tests that the filesystem is
     * closing. The work satisfies the ticket (for a steal ticket in maybe_fail_all_tickets, after three rounds of its
     * flush states) and the umount or remount goes on, while the work, its ticket list empty only from its next check,
     * starts one more round: flush_space(FLUSH_DELAYED_ITEMS_NR) joins a transaction. A kworker delayed there joins
     * after btrfs_commit_super: close_ctree meets the transaction on trans_list (patch 4/5's assertion) — past it, a
     * kworker of a freed fs_info — and an RO remount leaves a transaction running on the read-only filesystem (the
     * seed's own symptom). The fix: cancel the work again after the last reservation, right before btrfs_commit_super.
     * Read: space-info.c __reserve_bytes, btrfs_async_reclaim_metadata_space, maybe_fail_all_tickets,
     * steal_from_global_rsv; block-group.c btrfs_delete_unused_bgs, btrfs_start_trans_remove_block_group; transaction.c
     * btrfs_start_transaction_fallback_global_rsv; disk-io.c close_ctree; super.c btrfs_remount (v5.11; mainline keeps the
     * order and the loop, but its flush_space joins for delayed items and refs with btrfs_join_transaction_nostart — read
     * in stop 55: after btrfs_commit_super the work finds no transaction there, so mainline does not show the symptom;
     * pinned in stop 58: Filipe Manana's "btrfs: avoid starting new transaction when flushing delayed items and refs",
     * posted 26 July 2023 for the 6.6 cycle — mainline's text before it, read at a pre-6.6 commit, still joins with
     * btrfs_join_transaction, so 5.11 through 6.5 have the window). Found porting the async reclaim (stop 54). Not
     * checked on a running kernel.
     */
    ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL(Origin.PROPOSED),
    /**
     * NOT upstream — proposed (stop 55). space_info->flush says "the reclaim work is queued or running for the tickets":
     * __reserve_bytes queues the work only when it finds the flag clear, and only the work clears it. btrfs_remount
     * (going read-only) and close_ctree cancel the work with cancel_work_sync, which drops a queued work that has not
     * started (and refuses a queue_work while it waits for a running one): the tickets that queued it stay on the list
     * with the flag set, and no reservation will queue the work again. At an RO remount the cleaner can hold such a
     * ticket — its btrfs_delete_unused_bgs reserves with FLUSH_ALL_STEAL on a full filesystem — and the remount then
     * waits for it in wait_on_bit(BTRFS_FS_CLEANER_RUNNING) (patch 3/5): both sleep uninterruptibly until something
     * happens to give back the bytes (nothing does on a filesystem being made read-only: the steal only the work makes
     * is what the ticket waits for). Granted at last or not, the flag stays set for the mount's lifetime: every later
     * ticket waits with no flusher. The fix: after cancelling, look at the tickets under the space_info's lock — none:
     * clear the flag; some: queue the work again and wait for it (flush_work), as the tasks holding them are what the
     * umount or remount waits for. Read: space-info.c __reserve_bytes, btrfs_async_reclaim_metadata_space,
     * wait_reserve_ticket; workqueue.c cancel_work_sync (__cancel_work_timer, try_to_grab_pending), queue_work;
     * super.c btrfs_remount; disk-io.c close_ctree, cleaner_kthread; block-group.c btrfs_delete_unused_bgs (v5.11;
     * mainline's btrfs_remount_ro and __reserve_bytes alike, read in outline). Found reading the cancel's neighbourhood
     * (stop 54's open lead). Not checked on a running kernel. Since stop 56 the fix covers async_data_reclaim_work's
     * cancel too, which drops a queued data work the same way; in 5.11 no data ticket is there at either cancel (a
     * buffered writer keeps the remount EBUSY and the umount busy, the cleaner's autodefrag is waited for first), so
     * only a test reaches it ({@code AsyncDataReclaimCancelTest}).
     */
    ASYNC_RECLAIM_CANCEL_STRANDS_TICKETS(Origin.PROPOSED),
    /**
     * NOT upstream — proposed (stop 55). The async reclaim work's RUN_DELAYED_IPUTS state (flush_space) runs the delayed
     * iputs, then waits for nr_delayed_iputs to reach 0 (btrfs_wait_on_delayed_iputs). An ordered extent's last put
     * (btrfs_put_ordered_extent → btrfs_add_delayed_iput) that lands between the two queues an iput the work will not
     * run, and btrfs_add_delayed_iput wakes the cleaner only if BTRFS_FS_CLEANER_RUNNING is clear. A cleaner in its pass
     * — btrfs_delete_unused_bgs' FLUSH_ALL_STEAL reservation on a full filesystem — is waiting on a ticket only this work
     * serves: the work waits for the cleaner, the cleaner for the work. In 5.11 nothing else runs delayed iputs on a
     * mounted read-write filesystem but btrfs_end_transaction_throttle, btrfs_commit_super (umount, remount) and a
     * remount (which first waits for the cleaner); a release that happens to grant the cleaner's ticket (a transaction
     * kthread commit unpinning enough) is the only other way out. Every later metadata reservation queues behind.
     * The fix: the state's wait runs the iputs queued while it waits (btrfs_add_delayed_iput wakes delayed_iputs_wait
     * too). Read: space-info.c flush_space (RUN_DELAYED_IPUTS), btrfs_async_reclaim_metadata_space; inode.c
     * btrfs_add_delayed_iput, btrfs_run_delayed_iputs, btrfs_wait_on_delayed_iputs; ordered-data.c
     * btrfs_put_ordered_extent; disk-io.c cleaner_kthread; block-group.c btrfs_delete_unused_bgs; transaction.c
     * btrfs_commit_transaction (no delayed iputs since 5.x), __btrfs_end_transaction (v5.11; mainline's
     * btrfs_add_delayed_iput, btrfs_wait_on_delayed_iputs and flush_space alike, read in outline). The umount variant
     * is a362bb864b8d's (ENDIO_WRITE_FLUSH_AT_UMOUNT), which flushes at close_ctree only. Found reading the RUN_DELAYED_IPUTS
     * state's neighbourhood (stop 54's second lead). Not checked on a running kernel.
     */
    RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK(Origin.PROPOSED),
    /**
     * Later upstream (Josef Bacik, 0e24f6d84b4c, v5.16, "btrfs: do not infinite loop in data reclaim if we aborted";
     * found by error injection, a soft lockup in btrfs_async_reclaim_data_space). The async data reclaim work forces data
     * chunks while the space_info is not full and, past its last flush state, starts over while it is not full; only
     * chunk allocation sets full. Once the filesystem has aborted a transaction, flush_space's btrfs_join_transaction
     * fails (-EROFS), no chunk is allocated, full is never set: the kworker loops for ever with the data tickets
     * waiting — the writer holding one, and the umount whose close_ctree cancels the work (cancel_work_sync waits for the
     * running instance). The fix tests BTRFS_FS_STATE_ERROR in both loops and fails every ticket (-EIO; no steal, no
     * granting, in maybe_fail_all_tickets for either space_info once aborted). Reached in the port once the data
     * reservations were ported (stop 56).
     */
    DATA_RECLAIM_ABORTED_LOOP(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Filipe Manana, 2ed45c0f1879, v6.6, "btrfs: fix race when refilling delayed refs block reserve").
     * btrfs_delayed_refs_rsv_refill computes what the delayed-refs reserve lacks (at most one item), reserves it —
     * FLUSH_ALL, so maybe on a ticket — and then adds the bytes with btrfs_block_rsv_add_bytes(rsv, bytes, 0): the
     * reserved count grows whatever became of the size meanwhile. Upstream's message names two refills racing: the
     * reserve over-reserved "for a while", until the next btrfs_delayed_refs_rsv_release trims it. The explorer met the
     * other way (stop 56, seed 56005, every fix applied, found unexplained): a transaction aborts while an fsync's
     * start_transaction(root, 0) sleeps in its refill; the abort's cleanup (btrfs_cleanup_one_transaction →
     * btrfs_destroy_delayed_refs → btrfs_cleanup_ref_head_accounting) shrinks the reserve to nothing; the ticket is
     * granted, the bytes are added to a reserve of size 0, and join_transaction refuses the aborted filesystem —
     * start_transaction's join_fail gives back only the trans reserve's bytes. No delayed ref is ever run again, so
     * nothing trims them: at umount btrfs_release_global_block_rsv WARNs (delayed_refs_rsv.reserved &gt; 0, block-rsv.c)
     * and btrfs_free_block_groups WARNs about the metadata space_info's bytes_may_use. The fix looks at the reserve
     * again under its lock and adds only what it still lacks; the rest leaves bytes_may_use. Read: transaction.c
     * start_transaction (v5.11, mainline); delayed-ref.c btrfs_delayed_refs_rsv_refill, btrfs_delayed_refs_rsv_release,
     * btrfs_migrate_to_delayed_refs_rsv (which already frees what the reserve does not lack); block-rsv.c
     * btrfs_block_rsv_add_bytes, block_rsv_release_bytes, btrfs_release_global_block_rsv; disk-io.c
     * btrfs_destroy_delayed_refs, close_ctree.
     */
    DELAYED_REFS_REFILL_RACE(Origin.LATER_UPSTREAM),
    /**
     * NOT upstream — proposed (stop 57). 5.12 moved the preemptive flushing out of the async reclaim work into a work of
     * its own, fs_info->preempt_reclaim_work (btrfs_preempt_reclaim_metadata_space), and close_ctree cancels it with
     * the other two; btrfs_remount going read-only cancels async_reclaim_work and async_data_reclaim_work only. The
     * work's loop tests need_preemptive_reclaim — false once REMOUNTING is set — but a round that passed the test just
     * before the remount set it goes on into flush_space, whose FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_REFS_NR and
     * FORCE_COMMIT_TRANS states call btrfs_join_transaction: a kworker that reaches the join after the remount's
     * btrfs_commit_super (its handle allocation slept in reclaim, or it waited for a CPU) starts a transaction on the
     * read-only filesystem, which nothing commits: patch 4/5's assertion at umount (close_ctree does not commit a
     * read-only filesystem), the seed's leak by a path the seed never saw; FORCE_COMMIT_TRANS commits it on the
     * read-only filesystem instead. The fix: btrfs_remount cancels preempt_reclaim_work with the others (the cancel waits
     * for the running round, whose join then precedes btrfs_commit_super; need_preemptive_reclaim keeps it from being
     * queued again while REMOUNTING). Read: space-info.c btrfs_preempt_reclaim_metadata_space, need_preemptive_reclaim,
     * __reserve_bytes, flush_space, btrfs_init_async_reclaim_work; super.c btrfs_remount; disk-io.c close_ctree,
     * btrfs_commit_super; transaction.c join_transaction (v5.12.9). Mainline's btrfs_remount_ro still cancels the two
     * works only, but its flush_space no longer starts a transaction for delayed items or refs nor for a commit
     * (btrfs_join_transaction_nostart; for COMMIT_TRANS, the preemptive work's commit state since 5.13,
     * btrfs_attach_transaction_barrier, later btrfs_commit_current_transaction): there the late round finds no
     * transaction after btrfs_commit_super. Pinned in stop 58: Filipe Manana's "btrfs: avoid starting new transaction
     * when flushing delayed items and refs" and "btrfs: avoid starting and committing empty transaction when flushing
     * space", both posted 26 July 2023 for the 6.6 cycle; a pre-6.6 mainline flush_space still joins in all three
     * states, so 5.12 through 6.5 have the window. Found reading 5.12's new work while porting it.
     * Not checked on a running kernel.
     */
    PREEMPT_RECLAIM_RO_REMOUNT(Origin.PROPOSED),
    /**
     * Later upstream (Filipe Manana, "btrfs: fix race between async reclaim worker and close_ctree()", posted 4 June 2025
     * for 6.16-rc, reported by syzbot, in the stable trees): close_ctree runs btrfs_run_delayed_iputs again after its
     * cancel_work_sync of async_reclaim_work, async_data_reclaim_work and preempt_reclaim_work. A reclaim work's
     * FLUSH_DELALLOC (shrink_delalloc → btrfs_start_delalloc_roots → start_delalloc_inodes in reclaim context) holds each
     * inode it writes by igrab and hands the reference to btrfs_add_delayed_iput after filemap_fdatawrite_wbc; the flush
     * block of {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT} runs the delayed iputs before those cancels. Reverted: a work between
     * the two queues its iput after the run, and the cancel waits for it. On a read-write filesystem btrfs_commit_super
     * runs it (upstream's report is the WARN of 19e60b2a95f5, BTRFS_FS_STATE_NO_DELAYED_IPUT, which the port does not
     * model); after an abort nothing does since {@link #ERROR_COMMIT_SUPER_EARLY} moved btrfs_error_commit_super, with no
     * iput run of its own, in front of the flushes: patch 5/5's assertion and a busy inode. A patch on top of those two
     * (applied without them it changes nothing: 5.11's close_ctree cancels the works first). Found by the explorer (stop
     * 61, seed 61005, {@code --faults all}: a preemptive round flushing delalloc across an aborted filesystem's umount),
     * forced and the upstream fix read in stop 62.
     */
    RECLAIM_IPUTS_AT_UMOUNT(Origin.LATER_UPSTREAM),
    /**
     * NOT upstream — proposed (stop 63). A reclaim work's FLUSH_DELALLOC round (shrink_delalloc →
     * btrfs_start_delalloc_roots → start_delalloc_inodes in reclaim context: igrab, sync_inode WB_SYNC_NONE — 5.11;
     * filemap_fdatawrite_wbc in mainline — then btrfs_add_delayed_iput) does not wait for the writeback it starts: after
     * the round shrink_delalloc sleeps a jiffy (FLUSH_DELALLOC) or waits for at most {@code items} ordered extents, and
     * for reaching BTRFS_ORDERED_COMPLETE only (FLUSH_DELALLOC_WAIT); the extent's final btrfs_put_ordered_extent — a
     * btrfs_add_delayed_iput when it holds the inode's last reference — comes after. close_ctree's cancel_work_sync of the
     * reclaim works waits for the round, not for its bios. The round's writes are waited for by nobody else when they are
     * of pages the umount's sync_filesystem did not write: autodefrag's cleaner pass re-dirties a cluster after the sync
     * (btrfs_defrag_file tests SB_ACTIVE before each cluster; generic_shutdown_super clears it after the sync), and a
     * round that holds the inode through evict_inodes writes it during close_ctree. Its ordered extent ends after the last
     * btrfs_run_delayed_iputs — btrfs_commit_super's on a read-write filesystem (5.11's order and mainline's alike; the
     * flush block of {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT} and {@link #RECLAIM_IPUTS_AT_UMOUNT}'s second run come before
     * it): patch 5/5's assertion, a busy inode, and btrfs_add_delayed_iput's wake_up_process of the cleaner after
     * kthread_stop when the bio is slower still (mainline also WARNs: BTRFS_FS_STATE_NO_DELAYED_IPUT); and the extent's
     * btrfs_finish_ordered_io joins a transaction after btrfs_commit_super that nothing commits — patch 4/5's
     * assertion, the seed's leak (and, without assertions or a fast crc32c, its use-after-free) by a path the seed never
     * saw. The fix: after the cancels, flush delalloc_workers (a round's compressed chunks), btrfs_wait_ordered_roots
     * (its ordered extents, so their bios, complete) and the endio-write queues (their final puts), so the next
     * btrfs_run_delayed_iputs takes every iput the rounds left. A patch on mainline's close_ctree: applied without
     * {@link #ENDIO_WRITE_FLUSH_AT_UMOUNT}, {@link #WORKERS_FLUSH_AT_UMOUNT}, {@link #DELALLOC_FLUSH_AT_UMOUNT} and
     * {@link #ERROR_COMMIT_SUPER_EARLY} it changes nothing (its wait for every ordered extent would also take the late
     * puts those are about, and each of them, reverted, must still show its own window); 5.11's close_ctree would need
     * the same waits after its cancels. Read: space-info.c shrink_delalloc, flush_space; inode.c start_delalloc_inodes,
     * btrfs_add_delayed_iput; ordered-data.c btrfs_put_ordered_extent, btrfs_wait_ordered_roots; ioctl.c
     * btrfs_defrag_file (SB_ACTIVE), file.c btrfs_run_defrag_inodes; disk-io.c close_ctree, btrfs_commit_super
     * (v5.11, v5.12.9), fs/super.c generic_shutdown_super, fs/inode.c evict_inodes; mainline close_ctree with the June 2025
     * fix (its comment: "no one can create new ordered extents" after the flush block — a reclaim round still can).
     * Found by the explorer (stop 62, class 7edc12d9, seed 62005: a read-write umount with compress and autodefrag, the
     * iput queued after btrfs_commit_super's run), forced in stop 63. Not checked on a running kernel.
     */
    RECLAIM_WRITEBACK_AT_UMOUNT(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 64): a paused balance resumed by a read-write mount or an RO→RW remount runs in a
     * kthread btrfs_resume_balance_async starts and nobody waits for. Until that kthread has taken balance_mutex and set
     * BTRFS_FS_BALANCE_RUNNING, btrfs_pause_balance — the RO remount's and close_ctree's — finds the balance not running
     * and returns at once (-ENOTCONN). After an RO remount the kthread's btrfs_balance then starts and commits
     * transactions on the read-only filesystem (insert_balance_item, the relocation, del_balance_item) and the balance
     * runs; after an umount's close_ctree began, btrfs_balance sees the filesystem closing and, the balance being a
     * resumed one, resets it — del_balance_item's transaction during close_ctree, the paused balance lost — and a
     * kthread that gets balance_mutex after close_ctree uses a freed fs_info (btrfs_free_fs_info freed balance_ctl).
     * 5.11 (volumes.c balance_kthread, btrfs_resume_balance_async, btrfs_pause_balance, btrfs_balance; super.c
     * btrfs_remount; disk-io.c close_ctree, btrfs_start_pre_rw_mount) and mainline alike (balance_kthread gained
     * sb_start_write in 2022, which an RO remount or an umount does not wait for). The fix: btrfs_resume_balance_async
     * counts its kthread; btrfs_pause_balance, finding the balance not running while such a kthread is pending, raises
     * balance_pause_req and waits for it; the kthread, under balance_mutex, leaves a balance it finds asked to pause
     * paused (btrfs_balance would reset a resumed one) and counts itself out; close_ctree waits for that last act.
     * The same kthread against the user's own {@code btrfs balance resume} (case (3) of btrfs_ioctl_balance takes the
     * paused balance first and drops balance_mutex for its walk): it calls btrfs_balance on the running balance_ctl —
     * ASSERT(!BTRFS_FS_BALANCE_RUNNING), or without assertions two walks of one balance_ctl, the first end's
     * reset_balance_state freeing it under the other (a use-after-free in __btrfs_balance, a NULL balance_ctl in
     * btrfs_update_ioctl_balance_args); on a new balance started after that one ended, BUG_ON(ret == -EEXIST). So the
     * fixed kthread also leaves alone a balance that is running or not flagged RESUME (not the one it was started for).
     * The explorer found that second form (stop 64, its balance lanes: a pause hung behind a dead walk).
     * Found by reading volumes.c while porting balance's lifecycle; the explorer's balance lanes find it too (they
     * relocate nothing: relocation.c is not ported). Not checked on a running kernel.
     */
    BALANCE_RESUME_PAUSE_RACE(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 64): close_ctree flushes delayed_workers — a delayed-meta work may hold a joined
     * transaction — only on a read-write filesystem, before btrfs_commit_super. An aborted filesystem is read-only: the
     * flush is skipped, btrfs_error_commit_super's btrfs_cleanup_transaction waits for the running transaction's writers,
     * and a work holding a handle on it (joined before the abort) ends it: __btrfs_end_transaction drops num_writers and
     * wakes writer_wait, and only then — the transaction aborted, the filesystem in error — calls
     * wake_up_process(transaction_kthread). close_ctree, woken, goes on to kthread_stop(transaction_kthread): the work's
     * wake-up uses the freed task_struct. 5.11 (disk-io.c close_ctree, btrfs_error_commit_super; transaction.c
     * btrfs_cleanup_transaction, __btrfs_end_transaction; delayed-inode.c btrfs_async_run_delayed_root) and mainline
     * alike (the flush is still inside the read-write branch; __btrfs_end_transaction still wakes the kthread on
     * BTRFS_FS_ERROR). The fix: flush delayed_workers before btrfs_error_commit_super too. Found by the explorer with
     * every fix applied (seed 64006, {@code --faults all --swarm 0.5 --crc32c accelerated}, slab debug: one cycle of
     * 48,876, class {@code f8fced6b uaf:BUG: KASAN: use-after-free in wake_up_process …@kworker}, a delayed-meta work's
     * btrfs_end_transaction after an injected commit EIO), forced in the same stop. Not checked on a running kernel.
     */
    DELAYED_WORKERS_AT_ERROR_UMOUNT(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 65): a dev-replace interrupted by an umount is resumed by the next read-write mount
     * or RO→RW remount in a btrfs-devrepl kthread btrfs_resume_dev_replace_async starts and nobody waits for. An RO
     * remount or close_ctree suspends it by setting the replace SUSPENDED (btrfs_dev_replace_suspend_for_unmount) and
     * cancelling the scrub that copies the device (btrfs_scrub_cancel) — but a kthread whose btrfs_scrub_dev has not yet
     * counted itself in scrubs_running is not running for the cancel (-ENOTCONN), and nothing in btrfs_scrub_dev looks at
     * the replace state: the copy starts after the suspend. On the RO-remounted filesystem it commits a transaction per
     * chunk (scrub_enumerate_chunks' dev-replace commit after btrfs_inc_block_group_ro) — writes to a read-only
     * filesystem; inside close_ctree it commits after (or during) btrfs_commit_super; and the kthread, which nothing
     * waits for, ends with btrfs_dev_replace_finishing and btrfs_exclop_finish on a fs_info that the umount may have
     * freed. 5.11 (dev-replace.c btrfs_resume_dev_replace_async, btrfs_dev_replace_kthread,
     * btrfs_dev_replace_suspend_for_unmount; scrub.c btrfs_scrub_dev, btrfs_scrub_cancel; super.c btrfs_remount;
     * disk-io.c close_ctree) and mainline alike (btrfs_scrub_dev still checks only btrfs_fs_closing, before its setup).
     * The fix: btrfs_scrub_dev for a replace, under scrub_lock and dev_replace.rwsem, refuses (-ECANCELED) a replace that
     * is no longer STARTED — the suspend's state change comes before its cancel, so either the scrub sees SUSPENDED or the
     * cancel sees it running; btrfs_resume_dev_replace_async counts its kthread and close_ctree waits for its last act.
     * Found by reading dev-replace.c while porting its lifecycle. Not checked on a running kernel. Stop 67 (explorer class
     * 561fd4cd, a 10-minute every-fix hunt): the kthread's own first line dereferences dev_replace->srcdev unlocked
     * ("continuing dev_replace from %s (devid %llu)"); a kthread that has not run yet when an RO remount suspends the
     * replace, an RO→RW remount fails to resume it again (the kthread holds the exclusive operation), and a cancel of the
     * suspended replace clears srcdev, oopses on NULL. The fix also has the kthread test, under dev_replace.rwsem, that
     * the replace is still STARTED before it reads anything of it, and otherwise release the exclusive operation and
     * leave the replace as the suspend or the cancel left it.
     */
    DEV_REPLACE_RESUME_SUSPEND_RACE(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 65): BTRFS_IOC_DEV_REPLACE's START takes no write access on the mount
     * (mnt_want_write_file — which the balance, device add and device remove ioctls take), only an SB_RDONLY test at
     * its top. An RO remount meanwhile goes through (no writer holds the mount) and, the replace not STARTED yet, suspends
     * nothing; btrfs_dev_replace_start then sets it STARTED and commits its state (btrfs_start_transaction,
     * btrfs_commit_transaction) on the read-only filesystem, and the copy and btrfs_dev_replace_finishing commit there
     * too. 5.11 (ioctl.c btrfs_ioctl_dev_replace, dev-replace.c btrfs_dev_replace_start) and mainline alike. The fix:
     * the START command takes write access for the replace, as the balance ioctl does for a balance (an RO remount then
     * fails with EBUSY while a replace runs through the ioctl; one resumed by a mount runs in its kthread, which the
     * suspend stops). Found by the explorer's replace lane with every other fix applied (stop 65). Not checked on a
     * running kernel.
     */
    DEV_REPLACE_START_WRITE_ACCESS(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 65): btrfs_dev_replace_finishing changes the devices' superblocks before — or without
     * — a commit of the state that makes the change safe. Its first commit failing (an I/O error, the transaction
     * aborted) only WARN_ONs, and the procedure goes on; a replace that ends CANCELED (its copy failed, or a user's
     * cancel) has its target destroyed — btrfs_destroy_dev_replace_tgtdev scratches the target's superblocks — with the
     * CANCELED state only in memory (the next commit writes it); a replace that ends FINISHED has the old device's
     * superblocks scratched before the commit that writes the new device's superblock as devid 1. A crash or an I/O
     * error in between leaves a disk whose item still says STARTED while the target is scratched ("cannot mount because
     * device replace operation is ongoing and tgtdev is missing": -EIO without -o degraded), or whose one device with
     * the filesystem is the target with devid 0 and the old one scratched (no mountable device at all). The other order
     * has a window too: a crash after the commit of the end and before the scratch leaves a target of devid 0 beside an
     * item saying FINISHED or CANCELED, which btrfs_init_dev_replace refuses ("replace devid present without an active
     * replace item", -EUCLEAN) — the window of the suspended replace's cancel, which commits first. And the target has no
     * superblock until the first commit of the replace writes one with the source's: a crash between the two devices'
     * superblock writes of that commit leaves the source's item STARTED and no target to find (-EIO). 5.11 and mainline
     * alike (dev-replace.c btrfs_dev_replace_start, btrfs_dev_replace_finishing, btrfs_dev_replace_cancel,
     * btrfs_init_dev_replace; volumes.c btrfs_destroy_dev_replace_tgtdev). The fix: a failed first commit ends finishing
     * with its error, the replace left STARTED; the CANCELED state is committed before the target is destroyed, the
     * FINISHED state before the old device is scratched, and a failed commit keeps the device it would have scratched;
     * btrfs_init_dev_replace ignores (with a warning) a target of devid 0 beside an item of a replace that ended, or
     * without an item; btrfs_dev_replace_start writes the target's superblock before its first commit, and its failure
     * path (its btrfs_start_transaction refused after an abort, while the transaction kthread may have committed the
     * STARTED state already) keeps the target's superblock instead of scratching it; and btrfs_dev_replace_cancel of a
     * suspended replace, whose commit failing is only WARN_ON(ret) before btrfs_destroy_dev_replace_tgtdev (5.11 and
     * mainline; the disk keeps SUSPENDED and loses its target), keeps the target and fails with the commit's error,
     * and a start whose target fails its first superblock write (write_all_supers has written the source's STARTED when
     * it counts the target's error) ends before its commit (stop 71). Found by the explorer's replace lane with every
     * other fix applied (stop 65: {@code fsck:SUPERBLOCK} after an injected commit EIO, {@code mount EIO at
     * DevReplace.initDevReplace} after a power cut; stop 71: the same mount error after a cancel of a replace an RO→RW
     * remount could not resume, and after a start whose target failed its superblock write). Not checked on a running
     * kernel.
     */
    DEV_REPLACE_SCRATCH_BEFORE_COMMIT(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 65): btrfs_resume_dev_replace_async sets a SUSPENDED replace STARTED, releases the
     * replace's rwsem, and only then tries the exclusive operation; when another holds it ("cannot resume dev-replace,
     * other exclusive operation running") it sets SUSPENDED again. The operation's holder may be the ioctl of that very
     * replace, suspended by an RO remount, on its way to btrfs_dev_replace_finishing: finishing reads STARTED in the
     * window, ends the replace CANCELED (its copy was cancelled), destroys the target and clears srcdev and tgtdev — and
     * the resume writes SUSPENDED over CANCELED: a suspended replace without a source or a target (its item then names
     * src_devid -1: the next mount fails, "srcdev (devid -1) is missing"). Had the ioctl already given the operation
     * back, the resume takes it and kthread_run()s btrfs_dev_replace_kthread, which dereferences the NULL srcdev. 5.11
     * and mainline alike (dev-replace.c btrfs_resume_dev_replace_async, btrfs_dev_replace_kthread,
     * btrfs_dev_replace_finishing; ioctl.c btrfs_ioctl_dev_replace). The fix: take the exclusive operation first and
     * change the state only while holding it (a replace no longer SUSPENDED or STARTED is left alone, the operation
     * given back). Read while triaging the explorer's stale-target classes (stop 65); forced with hooks. Not checked on a
     * running kernel.
     */
    DEV_REPLACE_RESUME_BEFORE_EXCLOP(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 65): scrub_enumerate_chunks moves a replace's cursor_left to the end of a chunk
     * (cursor_left = cursor_right) whether or not scrub_chunk copied it — a copy cancelled in the middle of the chunk by
     * the suspend of an umount or an RO remount included: the next commit writes that cursor into the item, and the
     * resumed replace (btrfs_dev_replace_kthread, from committed_cursor_left) skips the rest of the chunk. The blocks of
     * it the copy had not reached and no later write duplicated are never on the target; when the replace finishes the
     * filesystem lives on a disk that lacks them (parent transid failures, unreadable tree blocks, lost data). 5.11 and
     * mainline alike (scrub.c scrub_enumerate_chunks: since 2016 the cursor is moved before the "if (ret) break"; before
     * that it moved only after a chunk that succeeded). The fix: move the cursor past a chunk only when its copy
     * succeeded. Found by the explorer's replace lane with every other fix applied (stop 65: the stale-target classes
     * f801a4da, 6081a25e, b8771b25 — and a CI run's LanesTest). Not checked on a running kernel.
     */
    DEV_REPLACE_CURSOR_PAST_CANCELLED_CHUNK(Origin.PROPOSED),
    /**
     * Proposed, not upstream (stop 66): btrfs_dev_replace_kthread ends with WARN_ON(ret && ret != -ECANCELED) — a
     * resumed replace whose copy cannot set a block group read-only on a full device (btrfs_inc_block_group_ro finds no
     * room for a new chunk: -ENOSPC, "failed setting block group ro: -28", "btrfs_scrub_dev(...) failed -28") warns with
     * a stack trace and taints the kernel (panic_on_warn: a reboot) for what is a user's condition, not a bug. The ioctl
     * path warned the same way until 4cea9037f82a ("btrfs: dev-replace: remove warning for unknown return codes when
     * finished", v5.5-rc8 — the ENOSPC that "btrfs: scrub: Require mandatory block group RO for dev-replace" made
     * common); the kthread's WARN_ON was left. 5.11 and mainline alike (dev-replace.c btrfs_dev_replace_kthread; the
     * 2025 series that makes it keep a suspended replace's exclusive operation keeps the WARN_ON too). The fix: no
     * warning for -ENOSPC — btrfs_dev_replace_finishing has already reported the copy's error, the replace ends
     * CANCELED as the ioctl's does; other errors still warn. Found by the explorer's replace lane with every fix applied
     * (stop 65: classes 1da110c2; stop 66: six in 200 s of seed 66005). Not checked on a running kernel.
     */
    DEV_REPLACE_KTHREAD_ENOSPC_WARN(Origin.PROPOSED),
    /**
     * Later upstream, as a side effect (Christoph Hellwig, be539518262774ed04336e7c68354b823dc6c5e4, v5.19: "btrfs: use
     * normal workqueues for scrub" — the scrub queues became plain workqueues and btrfs_resize_thread_pool stopped
     * touching scrub_wr_completion_workers; the commit does not mention a race, and the stable trees before 5.19 keep
     * it): a remount with a new thread_pool=N calls btrfs_resize_thread_pool, which passes
     * fs_info->scrub_wr_completion_workers to btrfs_workqueue_set_max with no lock — the remount holds s_umount, the
     * scrub queues are guarded by scrub_lock. A scrub (or a replace's copy) ending meanwhile drops the last reference
     * in scrub_workers_put, takes the queues out under scrub_lock and destroys them: the remount's store into
     * limit_active lands in freed memory (KASAN: use-after-free in btrfs_workqueue_set_max). The window is the load and
     * the store a few instructions apart, widened only by an interrupt or a preemption (CONFIG_PREEMPT) — read, not
     * found by the explorer, which models a non-preemptible kernel there; 5.11 super.c btrfs_resize_thread_pool and
     * scrub.c scrub_workers_put read (stop 67). Applied: the resize leaves the scrub queues alone, as 5.19's (a
     * scrub's queues are sized from thread_pool_size when it starts, and without thresholding a new limit_active
     * changes nothing in them anyway).
     */
    RESIZE_THREAD_POOL_SCRUB_RACE(Origin.LATER_UPSTREAM),
    /**
     * Later upstream (Filipe Manana, a0f0cf8341e3, v5.17, in the stable trees — 5.10.y among them — CVE-2022-48920: "btrfs:
     * get rid of warning on transaction commit when using flushoncommit"): with -o flushoncommit,
     * btrfs_start_delalloc_flush calls writeback_inodes_sb, whose __writeback_inodes_sb_nr warns
     * (WARN_ON(!rwsem_is_locked(&sb->s_umount)), fs-writeback.c:2468 in 5.11) whenever the bdi has dirty inodes and
     * nobody holds s_umount — every commit of the transaction kthread, of an fsync, of an ioctl while no sync, remount,
     * umount or freeze runs: a stack trace and the W taint at almost every commit (users reported it since at least
     * 2018: Zygo/bees issue 68).
     * The fix calls try_to_writeback_inodes_sb, which takes s_umount for read if it can and skips the writeback if it
     * cannot (an umount, a remount or a freeze holds it; their sync_filesystem wrote the data). Read: 5.11
     * transaction.c btrfs_start_delalloc_flush, btrfs_wait_delalloc_flush, btrfs_commit_transaction; fs-writeback.c
     * __writeback_inodes_sb_nr, try_to_writeback_inodes_sb; a0f0cf8341e3 (stop 67).
     */
    FLUSHONCOMMIT_WRITEBACK_WARN(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream (stop 68): btrfs_add_inode_defrag tests __need_auto_defrag (autodefrag on, the filesystem
     * not closing) before it allocates its record — kmem_cache_zalloc(GFP_NOFS), which may sleep — and inserts the
     * record under defrag_inodes_lock without testing again. A writeback that passed the test before close_ctree set
     * BTRFS_FS_CLOSING_START (a reclaim work's delalloc flush, whose cow_file_range calls inode_should_defrag: the
     * cleaner's autodefrag re-dirties a file after the umount's sync_filesystem, reservations queue the work, and
     * evict_inodes skips the inode the work holds) inserts its record after close_ctree's btrfs_cleanup_defrag_inodes,
     * before cancel_work_sync waits for the work: nothing frees it any more — kmem_cache_destroy's "Slab cache still has
     * objects" at rmmod (the record holds only numbers: a leak, nothing else). 5.11 file.c btrfs_add_inode_defrag,
     * btrfs_cleanup_defrag_inodes, inode.c inode_should_defrag, disk-io.c close_ctree read; mainline (defrag.c) keeps
     * the test outside the lock and the cleanup before the reclaim works' cancels. The fix: test __need_auto_defrag
     * again under defrag_inodes_lock, which btrfs_cleanup_defrag_inodes takes after CLOSING_START is set. Found by the
     * explorer with every fix applied (stop 68: a final rmmod's btrfs_inode_defrag leak, allocated in cow_file_range of
     * 5.12's preemptive reclaim work; seeds 68004 and 68005). Not checked on a running kernel.
     */
    ADD_INODE_DEFRAG_CLOSING_RACE(Origin.PROPOSED),
    /**
     * Later upstream, not in 5.10/5.11/5.12: 67addf29004c (v5.13, Filipe Manana, "btrfs: fix metadata extent leak after
     * failure to create subvolume", CC stable 4.4+). create_subvol allocates the new root's leaf
     * (btrfs_alloc_tree_block: its extent reserved, a delayed ref to insert its extent item queued) and then inserts the
     * root item; when btrfs_insert_root fails (-ENOSPC, -ENOMEM) 5.11 goes to {@code fail} without aborting — nothing
     * it did "can not be undone" — and without freeing the leaf: the next commit runs the delayed ref and writes an
     * extent item no tree refers to (btrfs check: "ref mismatch ... backref ... not referenced back"), space that
     * stays allocated. The fix: btrfs_free_tree_block the leaf before {@code goto fail}. Found by the explorer with
     * every fix applied once tree-block allocations could fail (stop 69, fault {@code alloc-tree-block-enospc}: class
     * {@code a692f68c}, btrfs check's UNREFERENCED_EXTENT_ITEM owned by a subvolume id that has no root), then matched
     * to the upstream commit; 5.11 ioctl.c create_subvol read.
     */
    SUBVOL_CREATE_EXTENT_LEAK(Origin.LATER_UPSTREAM),
    /**
     * Later upstream, not in 5.10/5.11/5.12: Josef Bacik, "btrfs: always abort the transaction if we abort a trans
     * handle" (linux-btrfs 2021-05-20, v5.14, backported to 5.13.y): "sometimes we would still commit the transaction
     * even though we had aborted the transaction ... assumes we have perfect error handling everywhere, which we clearly
     * do not". 5.11's __btrfs_abort_transaction leaves the transaction running when the aborting handle changed no tree
     * (trans->dirty) and made no block group ("Aborting unused transaction"): what the failed operation did that is not a
     * tree change stays queued in it. btrfs_drop_snapshot is such an operation: its walk frees blocks through delayed
     * refs only, so a drop whose btrfs_del_root (or btrfs_update_root) fails at its first COW with -ENOSPC aborts unused,
     * puts the root back on dead_roots, and the transaction kthread — woken by the aborted handle's end, the transaction
     * too young to commit — wakes the cleaner, whose retry joins the same transaction and walks from the same
     * drop_progress: btrfs_lookup_extent_info counts the queued drop of the block freed the first time, and walk_down_proc's
     * BUG_ON(wc->refs[level] == 0) kills the cleaner (kernel BUG at extent-tree.c:4888; close_ctree then parks a dead
     * kthread). A failed quota disable's unused abort likewise leaves quota_root cleared with the quota tree on disk, and the
     * next quota enable aborts on its root item (-EEXIST). The fix: every abort aborts the transaction. Found by the
     * explorer (stop 69) once the port modelled the unused abort and tree-block allocations could fail (fault
     * {@code alloc-tree-block-enospc}: classes {@code 81abb7e5}, {@code ba7356d5}, {@code d2ce72c6}, {@code 2fd21fd8});
     * 5.11 super.c __btrfs_abort_transaction, extent-tree.c btrfs_drop_snapshot / walk_down_proc /
     * btrfs_free_tree_block, transaction.c transaction_kthread, qgroup.c btrfs_quota_disable read.
     */
    ABORT_UNUSED_TRANS_HANDLE(Origin.LATER_UPSTREAM),
    /**
     * Proposed, not upstream (stop 69): df94a342efb4 (v6.15, {@link #ERROR_COMMIT_SUPER_EARLY}) moved close_ctree's
     * {@code btrfs_error_commit_super} before the flushes and removed the call after {@code btrfs_commit_super}. An error
     * that arises inside close_ctree after the early test — the umount's own {@code btrfs_delete_unused_bgs} aborting
     * in {@code btrfs_remove_chunk} (an -ENOSPC in a COW), or a failed {@code btrfs_commit_super} — is then cleaned up by
     * nothing but the transaction kthread's loop ({@code if (BTRFS_FS_ERROR) btrfs_cleanup_transaction}), and only if
     * that loop runs before {@code kthread_stop}: a kthread between its error test and its sleep when the abort's end
     * wakes it (the wake-up absorbed by a running task) sees the stop and exits. The aborted transaction stays on
     * trans_list: 5.11's {@code ASSERT(list_empty(&fs_info->trans_list))} (patch 4/5), mainline's
     * {@code warn_about_uncommitted_trans} ("transaction N ... is not committed", {@code ASSERT(!found)}). The fix: run
     * {@code btrfs_error_commit_super} after {@code btrfs_commit_super} too when the filesystem entered the error state
     * after the early call. Found by the explorer with every fix applied (stop 69, classes {@code 4b558a6f},
     * {@code 85fe57ec}: a leaked {@code btrfs_start_trans_remove_block_group} transaction at umount, fault
     * {@code alloc-tree-block-enospc}); disk-io.c close_ctree (5.11 and the df94a342efb4 diff), transaction.c
     * transaction_kthread read. Not checked on a running kernel.
     */
    ERROR_DURING_CLOSE_CTREE(Origin.PROPOSED),

    /**
     * Proposed, not upstream (stop 71): a replace finishes onto a target that missed writes. While a replace runs (or is
     * suspended) every write goes to the target too, and handle_ops_on_dev_replace raises the bio's max_errors for the
     * target's stripe: a failed write to the target alone leaves the bio done; btrfs_end_bio counts it in the target's
     * device statistics only ("bdev … errs: wr N"). The copy stops on its own write errors (scrub_enumerate_chunks:
     * num_write_errors &gt; 0 is -EIO, the replace ends CANCELED), but num_write_errors never sees these, so the replace
     * ends FINISHED and swaps in a device without those blocks: the next reads of the filesystem meet older lives of
     * them, another filesystem's or nothing ("parent transid verify failed", "bad fsid on block", btrfs check's
     * unreadable blocks). 5.11 and mainline (volumes.c btrfs_end_bio, handle_ops_on_dev_replace; scrub.c
     * scrub_enumerate_chunks; dev-replace.c btrfs_dev_replace_finishing). The fix: btrfs_end_bio counts a replace
     * target's failed write in dev_replace->num_write_errors (persisted in the replace item, so a resumed copy sees it
     * too — a changed count is itself a reason for the next commit to write the item: stop 72, a crash after the item's
     * last writeback lost it; and since a commit writes the item before its tree blocks, a target that failed one of
     * them gets no superblock from that commit, and a mount that finds the target's superblock older than the
     * filesystem's restarts the copy from the beginning — the restarted copy first marks the target's superblock behind,
     * so a mount before the commit that records the restart restarts again: stop 78, class 3f309808), and
     * btrfs_dev_replace_finishing ends a replace with write
     * errors CANCELED (-EIO) as the copy would — checked after its commit and again once btrfs_rm_dev_replace_blocked
     * has drained the bios (stop 72, class 063f1845: a write failing in between was missed). Found by the explorer with
     * {@code bio-write-eio} (class {@code b8771b25}'s signature, seed 71005: two cycles where a replace resumed by the
     * mount finished). Not checked on a running kernel.
     */
    DEV_REPLACE_TARGET_WRITE_ERRORS(Origin.PROPOSED),

    /**
     * Proposed, not upstream (stop 71): a thaw of a superblock that became read-only while frozen leaves every freeze
     * level taken. freeze_super takes SB_FREEZE_WRITE, _PAGEFAULT and _FS of a read-write superblock; a read-only one it
     * only marks SB_FREEZE_COMPLETE. thaw_super_locked decides by sb_rdonly() at the thaw: a superblock read-only then is
     * only marked SB_UNFROZEN, sb_freeze_unlock skipped. btrfs makes a frozen superblock read-only on its own — an abort
     * (btrfs_handle_fs_error sets SB_RDONLY) of a transaction that does not wait for the freeze, as the transaction
     * kthread's (TRANS_ATTACH is not freezable) — and then every sb_start_write after the thaw waits forever: writes,
     * quota and balance ioctls, the umount's own writers (fs/super.c freeze_super, thaw_super_locked, 5.11 and mainline;
     * fs/btrfs/super.c __btrfs_handle_fs_error). The fix: the thaw unlocks the levels the freeze took, whatever the
     * superblock's state now. Found by the explorer with the commit probe (class {@code 760222ad}, seed 71009, a hung
     * quota enable after fsfreeze -u). Not checked on a running kernel.
     */
    THAW_FORCED_READONLY(Origin.PROPOSED),

    /**
     * Proposed, not upstream (stop 72): a replace's swap lands between another commit's dev-replace item and its
     * superblocks. btrfs_dev_replace_finishing commits, then takes device_list_mutex ("Prevent write_all_supers() during
     * the finishing procedure") and the replace's rwsem, sets FINISHED and swaps the target in as devid 1. A commit that
     * ran btrfs_run_dev_replace after finishing's commit (the item still STARTED) and has not reached write_all_supers
     * yet is not kept out: its write_all_supers waits for device_list_mutex, then writes its superblock — trees whose
     * item says STARTED with a target of devid 0 — to the new device list: the target, now devid 1; the old device
     * gets none. Until finishing's last commit ("write back the superblocks") writes FINISHED, the disks hold a
     * filesystem whose newest device names itself the replace's source and no target: a crash there, or that commit
     * failing, and the next mount fails, "tgtdev (devid 0) is missing" (-EIO). 5.11 and mainline (dev-replace.c
     * btrfs_dev_replace_finishing, btrfs_run_dev_replace; transaction.c btrfs_commit_transaction; disk-io.c
     * write_all_supers). The fix: finishing takes tree_log_mutex — which a commit holds from commit_fs_roots until its
     * superblocks are written — before device_list_mutex, so the swap waits for such a commit's superblocks. Found by
     * the explorer (class {@code b63cd7f4}, seed 71006; {@code 436af5da}, seed 71009: a failed last commit after a
     * replace finished). Not checked on a running kernel.
     */
    DEV_REPLACE_SWAP_BEFORE_SUPERS(Origin.PROPOSED),

    /**
     * Proposed, not upstream (stop 73): a write the replace's source missed is kept only by the target, and a replace that
     * does not finish throws it away. handle_ops_on_dev_replace adds the target's stripe to every write and raises the
     * bio's max_errors by one, so a write that fails on the source and reaches the target ends done (btrfs_end_bio): the
     * commit or fsync goes on, the source keeps the block's older contents, and only the target — read as the extra
     * mirror while the replace runs (btrfs_num_copies, get_extra_mirror_from_replace) — has the new ones. A cancel
     * (btrfs_dev_replace_cancel) or a copy that ends in an error destroys the target: the next mount reads the older
     * block under a committed tree, "parent transid verify failed" (5.11 and mainline: volumes.c
     * handle_ops_on_dev_replace, btrfs_end_bio; dev-replace.c btrfs_dev_replace_cancel, btrfs_dev_replace_finishing). The
     * fix: the target's stripe raises max_errors for its own failure only — a failed write to the source is the bio's
     * error, as it is without a replace (the commit aborts; nothing acknowledged is lost). Found by porting the extra
     * mirror (stop 73). Not checked on a running kernel.
     */
    DEV_REPLACE_SOURCE_WRITE_ERRORS(Origin.PROPOSED),

    /**
     * Later upstream (Qu Wenruo, 5f50fa918f0c, v6.4: "btrfs: do not use replace target device as an extra mirror"):
     * during a replace btrfs_num_copies counts the target as one more copy and get_extra_mirror_from_replace maps that
     * mirror to the target at the same place — whatever the replace's cursor (its comment says "left of the left
     * cursor"; since 22ab04e814f4 handle_ops_on_dev_replace adds the target for every GET_READ_MIRRORS, so nothing
     * checks). A read that fails on the source (an I/O error, a bad copy) takes the target's copy of a place the copy
     * has not reached: garbage ("bad fsid on block"), or — a target that held this filesystem before, as a replace back
     * to the old disk — an older life of the block that passes every check a read without a parent transid makes
     * (add_missing_keys' read_tree_block(…, 0, level, NULL)); btrfs_repair_eb_io_failure then writes that older life over
     * the source's good copy. The fix removes the extra mirror. Found by the explorer with the {@code bio-read-eio} fault
     * site (stop 73, seed 73004: "read error corrected" followed by "parent transid verify failed … wanted 55 found 46"
     * at the same block) before the upstream fix was read.
     */
    DEV_REPLACE_EXTRA_MIRROR(Origin.LATER_UPSTREAM),

    /**
     * Later upstream (Qu Wenruo, 8eb3dd17eadd, v6.4, CC stable with a pre-6.4 version: "btrfs: dev-replace: error out if
     * we have unrepaired metadata error during replace"): a replace's copy that cannot repair a tree block — unreadable
     * on the source and on every other mirror, or failing its checks on all — writes the bad copy (zeros for an
     * unreadable one) to the target, counts it, and goes on; the replace finishes onto a target with a broken tree block
     * ("This behavior is there from the very beginning"). The fix as merged: flush_scrub_stripes, once the stripes'
     * reads and repairs are done, ends a replace's copy with -EIO at a stripe with an unrepaired tree block, so the
     * replace ends CANCELED; the port tests it after the chunk's bios are done (the pre-6.4 posting's test at
     * scrub_stripe's end, which the port had until stop 74, misses a block of the chunk's last bio:
     * {@code DevReplaceLateMetadataErrorTest}). Found by the
     * explorer with the {@code bio-read-eio} fault site (stop 73, seed 73004: "i/o error" and "unable to fixup" at a
     * tree block, then "bad tree block start … have 0" on the new device) before the upstream fix was read.
     */
    DEV_REPLACE_UNREPAIRED_METADATA(Origin.LATER_UPSTREAM),

    /**
     * Later upstream (Josef Bacik, 9a93b5a35388, v6.4, "btrfs: abort the transaction if we get an error during snapshot
     * drop"): btrfs_drop_snapshot frees a dead subvolume's blocks step by step and writes the root item's drop_progress
     * only when it ends a transaction between steps; an error of walk_down_tree or walk_up_tree (a tree block that does
     * not read) ends the transaction without it and without an abort. The frees of the steps since the last root item
     * update commit, the root item on disk still names the blocks they freed: the tree on disk references blocks with
     * no extent item, and a drop resumed from disk (the next mount) meets a freed block — "Missing references.", -EIO,
     * at every cleaner pass: the subvolume is never dropped. The fix aborts the transaction, so nothing of the
     * half-done drop commits. Found by the explorer with the {@code bio-read-eio} fault site and the commit probe (stop
     * 74, seed 74004, class {@code 9c177b1f}: MISSING_EXTENT_ITEM of a deleted subvolume's tree after the cleaner met a
     * read error) before the upstream fix was read.
     */
    DROP_SNAPSHOT_WALK_ERROR_ABORT(Origin.LATER_UPSTREAM);

    private final Origin origin;

    FixSwitch(Origin origin) { this.origin = origin; }

    /** Where a fix comes from. */
    public enum Origin {
        /** One of the six patches of the seed thread (Dec 2020 series and its March 2021 follow-up). */
        SEED,
        /** A fix of a bug outside the seed that went upstream in a later kernel. */
        LATER_UPSTREAM,
        /** A fix this project proposes for a kernel bug it found; not upstream. */
        PROPOSED
    }

    /** Where this fix comes from. */
    public Origin origin() { return origin; }

    /** True for a fix that is in some upstream kernel (the seed's and later upstream ones). */
    public boolean upstream() { return origin != Origin.PROPOSED; }

    /** The six fixes of the seed thread. */
    public static java.util.Set<FixSwitch> seed() {
        java.util.EnumSet<FixSwitch> s = java.util.EnumSet.noneOf(FixSwitch.class);
        for (FixSwitch f : values()) {
            if (f.origin == Origin.SEED) {
                s.add(f);
            }
        }
        return s;
    }

    /** "qgroup-rescan-ro-remount" */
    public String kebab() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

    /** Parses the kebab-case (or enum) name; unknown names list the valid ones. */
    public static FixSwitch parse(String s) {
        String norm = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (FixSwitch f : values()) {
            if (f.name().equals(norm)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown fix switch '" + s + "'; valid: "
            + Arrays.stream(values()).map(FixSwitch::kebab).collect(Collectors.joining(", ")));
    }
}
