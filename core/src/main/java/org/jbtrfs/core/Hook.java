package org.jbtrfs.core;

/**
 * Named race windows: static points in the code where tests park, delay, run a callback or count.
 * Each names the window of the patch thread it opens.
 */
public enum Hook {
    // cleaner_kthread (patch 3/5, 5/5)
    /** The cleaner set CLEANER_RUNNING and has not yet tested need_cleaner_sleep. */
    CLEANER_AFTER_SET_RUNNING,
    /** The cleaner is about to run one delayed iput (its eviction starts a transaction). */
    CLEANER_BEFORE_DELAYED_IPUT,
    /** The cleaner popped a dead root and is about to start drop_snapshot's transaction. */
    CLEANER_BEFORE_DROP_SNAPSHOT_TRANS,
    /** The cleaner unlinked an unused block group and is about to start the remove-block-group transaction. */
    CLEANER_BEFORE_REMOVE_BG_TRANS,
    /** The cleaner left cleaner_mutex and is about to delete unused block groups (outside the mutex). */
    CLEANER_BEFORE_DELETE_UNUSED_BGS,
    /** The cleaner finished its pass and is about to clear CLEANER_RUNNING. */
    CLEANER_BEFORE_CLEAR_RUNNING,
    /**
     * The cleaner found no park or stop request and is about to set TASK_INTERRUPTIBLE and schedule():
     * a wake_up_process from now until then finds it running and is lost (kthread_park's included).
     */
    CLEANER_BEFORE_SCHEDULE,
    /** A final iput was queued with btrfs_add_delayed_iput. */
    DELAYED_IPUT_ADDED,
    // btrfs_remount
    /** Remount RO set the RO flag(s). */
    REMOUNT_AFTER_SET_RO,
    /** Remount RO is about to call btrfs_commit_super. */
    REMOUNT_BEFORE_COMMIT_SUPER,
    /** Remount RO returned from btrfs_commit_super. */
    REMOUNT_AFTER_COMMIT_SUPER,
    // mount / close_ctree
    /** open_ctree is about to set BTRFS_FS_OPEN (RW mount). */
    MOUNT_BEFORE_FS_OPEN,
    /** close_ctree was entered (CLOSING_START not yet set). */
    UMOUNT_START,
    /** close_ctree set CLOSING_START and parked the cleaner: from here only close_ctree itself runs delayed iputs. */
    UMOUNT_AFTER_PARK_CLEANER,
    /** close_ctree is about to stop the transaction kthread and the cleaner. */
    UMOUNT_BEFORE_STOP_KTHREADS,
    /** close_ctree is about to call btrfs_stop_all_workers. */
    UMOUNT_BEFORE_STOP_WORKERS,
    // orphans and dead roots (patch 2/5, March 2021)
    /** btrfs_find_orphan_roots found a stray orphan item and is about to join a transaction. */
    FIND_ORPHAN_ROOTS_BEFORE_JOIN,
    /** btrfs_orphan_cleanup is about to delete an orphan item it considers stale. */
    ORPHAN_CLEANUP_BEFORE_DELETE,
    /**
     * btrfs_ioctl_snap_destroy deleted the subvolume (refs 0, S_DEAD) and is about to drop its dentry,
     * whose iput of the subvolume's directory inode puts the root on dead_roots if it was the last inode.
     */
    SUBVOLUME_DELETE_BEFORE_DPUT,
    // qgroup rescan (patch 1/5)
    /** The rescan worker is between two leaves, about to test rescan_should_stop() and start the next leaf's transaction. */
    QGROUP_RESCAN_BEFORE_LEAF,
    /** The rescan worker left its loop and is about to start the status-update transaction. */
    QGROUP_RESCAN_BEFORE_STATUS_UPDATE,
    /** A subvolume's qgroup is about to be created (quotas tested and the item inserted next, under the qgroup lock). */
    QGROUP_CREATE_BEFORE_ITEM,
    /** Quota enable has created the quota tree in its transaction and is about to commit it. */
    QGROUP_ENABLE_BEFORE_COMMIT,
    /** BTRFS_IOC_QGROUP_CREATE (a create or a destroy) has joined its transaction and is about to lock qgroup_ioctl_lock. */
    QGROUP_CREATE_IOCTL_JOINED,
    // transactions
    /** join_transaction created a new running transaction. */
    TRANSACTION_CREATED,
    /** The transaction kthread decided to commit the running transaction. */
    TRANS_KTHREAD_BEFORE_COMMIT,
    /**
     * The transaction kthread found no stop request and is about to sleep in
     * schedule_timeout_interruptible(): a wake-up until then (kthread_stop's included) is lost and the
     * kthread sleeps its full delay.
     */
    TRANS_KTHREAD_BEFORE_SLEEP,
    /** btrfs_wq_submit_bio is about to queue the async checksum work on fs_info->workers (metadata or data bio). */
    ASYNC_SUBMIT_BEFORE_QUEUE,
    // the metadata write path against tree modifications
    /**
     * btrfs_alloc_tree_block returned a new tree block, already in its transaction's dirty pages; the caller
     * (__btrfs_cow_block) has not filled it yet. The kernel's btrfs_init_new_buffer returns it tree-locked.
     */
    TREE_BLOCK_ALLOCATED,
    /**
     * __btrfs_cow_block copied the old block into the new one (copy_extent_buffer_full), whose header still
     * says the old block's bytenr, and is about to write its own (btrfs_set_header_bytenr(cow, cow->start)).
     */
    COW_BLOCK_COPIED,
    /**
     * btree_write_cache_pages locked a tree block for I/O (lock_extent_buffer_for_io: dirty cleared, WRITTEN
     * set, writeback started) and is about to add it to the bio being built (write_one_eb).
     */
    BTREE_LOCKED_FOR_IO,
    // data writeback and ordered extents
    /**
     * finish_ordered_fn on an endio-write worker is about to run btrfs_finish_ordered_io (join a
     * transaction, insert the file extent item, update the inode): the ordered extent is still in flight,
     * so btrfs_wait_ordered_roots (sync_fs(1) of every sync, RW umount and remount) waits for it.
     */
    ORDERED_EXTENT_BEFORE_FINISH,
    /**
     * btrfs_finish_ordered_io ended its transaction and removed the ordered extent (BTRFS_ORDERED_COMPLETE
     * set, waiters woken: btrfs_wait_ordered_roots returns) and is about to drop its two references; the
     * last one drops the ordered extent's inode reference with btrfs_add_delayed_iput.
     */
    ORDERED_EXTENT_AFTER_REMOVE,
    // added after the explorer's schedules were fixed: focused from streams of their own (the stress runner's
    // Schedule.LATER_HOOKS), so the older hooks' draws stay
    /**
     * An RO→RW remount ran btrfs_start_pre_rw_mount() — the qgroup rescan it resumed is queued — and has not
     * cleared BTRFS_FS_STATE_REMOUNTING yet: a resumed rescan worker that checks rescan_should_stop() now stops
     * at once ("qgroup scan paused") and the rescan stays paused on a read-write filesystem.
     */
    REMOUNT_RW_AFTER_PRE_RW_MOUNT,
    /**
     * The rescan ioctl (btrfs_qgroup_rescan) committed and zeroed the qgroups and is about to take
     * qgroup_rescan_lock, set qgroup_rescan_running and queue the worker: its qgroup_rescan_init re-armed the
     * completion long before, and another rescan may have completed it since.
     */
    QGROUP_RESCAN_IOCTL_BEFORE_QUEUE,
    /**
     * Quota enable committed, published the quota root and set QUOTA_ENABLED, and is about to call
     * qgroup_rescan_init(): a rescan ioctl now passes its own init first (331cd9461412's window).
     */
    QGROUP_ENABLE_BEFORE_RESCAN_INIT,
    /**
     * btrfs_qgroup_wait_for_completion() found qgroup_rescan_running set and is about to wait for the completion: the
     * rescan it saw may end (complete_all) and another rescan's qgroup_rescan_init re-arm the completion meanwhile —
     * the same window as a waiter woken by complete_all that has not run yet.
     */
    QGROUP_WAIT_BEFORE_SLEEP,
    /**
     * run_one_async_start on a worker of fs_info->workers is about to checksum a data bio (btrfs_submit_bio_start):
     * the bio's ordered extent is in flight and nothing has queued its completion yet, so a flush of
     * endio_write_workers does not wait for it (close_ctree's) — only btrfs_wait_ordered_roots does.
     */
    DATA_BIO_BEFORE_CSUM,
    /**
     * close_ctree found the filesystem in error (an abort, BTRFS_FS_STATE_ERROR) and is about to run
     * btrfs_error_commit_super() — after btrfs_commit_super's place in 5.11, before the workqueue flushes with
     * {@link FixSwitch#ERROR_COMMIT_SUPER_EARLY}. sync_filesystem skipped the read-only superblock, so data writeback
     * may still be in flight: btrfs_destroy_all_ordered_extents is the first to wait for it.
     */
    UMOUNT_BEFORE_ERROR_COMMIT_SUPER,
    /**
     * btrfs_end_transaction dropped the handle's writer count and woke writer_wait — a commit waiting for it goes on —
     * and is about to test TRANS_ABORTED / BTRFS_FS_STATE_ERROR, on which it wakes fs_info->transaction_kthread: a
     * commit that fails meanwhile makes it wake a kthread close_ctree may have stopped by then.
     */
    TRANS_END_BEFORE_KTHREAD_WAKE,
    /**
     * A lookup added the dentry of a file it read into memory (d_add) and is about to return the inode to its caller:
     * a remount's shrink_dcache_sb may drop that dentry now (stop 25: the port's lookup took the caller's reference
     * only here, after the dentry's, and could hand out an inode the shrink had freed).
     */
    DENTRY_ADDED,
    /**
     * btrfs_sync_file() found the inode changed since the last committed transaction (skip_inode_logging said no)
     * and is about to call btrfs_start_transaction(): an fsync preempted here may start its transaction after an RO
     * remount's btrfs_commit_super ({@link FixSwitch#FSYNC_RO_REMOUNT_RACE}; with that fix it has counted itself
     * already, and an RO remount meanwhile waits for it).
     */
    FSYNC_BEFORE_START_TRANSACTION,
    /**
     * Data writeback took an inode's dirty ranges (its pages locked, their dirty bits cleared) and is about to reserve
     * their extent and add the ordered extent (cow_file_range: btrfs_reserve_extent may sleep): a sync meanwhile must
     * still wait for these pages — the kernel's sync_inodes_sb waits on their page lock (stop 26: the port's sync
     * could miss them, and an RO remount committed before the fsync's ordered extent existed). With -o compress it is
     * about to queue the async chunks instead (cow_file_range_async: its GFP_NOFS allocation may sleep in reclaim).
     */
    DATA_WRITEBACK_BEFORE_ORDERED_EXTENT,
    /**
     * A work of the delayed-meta workqueue (btrfs_async_run_delayed_root) found enough delayed items queued, took the
     * first prepared delayed node, and is about to join a transaction for it (start_transaction allocates the handle
     * with GFP_NOFS first, which may sleep in reclaim): a commit meanwhile writes that node's items itself, and the
     * join then creates the next transaction — after an RO remount's btrfs_commit_super, on the read-only filesystem.
     */
    DELAYED_WORKER_BEFORE_JOIN,
    /**
     * A compressed write's async chunk (async_cow_start on the delalloc workqueue) is about to compress its pages:
     * compress_file_range takes a compression workspace first (get_workspace sleeps when every workspace is in use,
     * as many as CPUs). The writer that queued the chunk has returned when its range was one page (it waits on the
     * page locks of the others); a sync meanwhile waits on the chunk's page locks (the pages stay tagged dirty until
     * the chunk puts them under writeback — stop 28: the port's sync first missed them).
     */
    ASYNC_COW_BEFORE_COMPRESS,
    /**
     * A compressed write's async chunk has submitted its pages (async_cow_submit) and is about to run async_cow_free,
     * whose btrfs_add_delayed_iput drops its inode reference — a wait for a CPU of the kworker. A sync waited for the
     * pages, not for this step: at umount, once the dentries are pruned, that reference is the inode's last, and the
     * delayed iput after close_ctree's kthread_stop(cleaner) wakes a freed task ({@link FixSwitch#DELALLOC_FLUSH_AT_UMOUNT}).
     */
    ASYNC_COW_BEFORE_FREE,
    /**
     * The cleaner's autodefrag (btrfs_run_defrag_inodes → btrfs_defrag_file, under sb_start_write) chose a cluster of
     * small recent extents of a queued inode and is about to re-dirty it (cluster_pages_for_defrag: the delalloc
     * reservation, which may flush, and the reads of the pages not cached). CLEANER_RUNNING is set and defrag_running
     * counted: an RO remount's btrfs_remount_begin waits here for the defragger, then writes its pages with a second
     * sync_filesystem.
     */
    DEFRAG_BEFORE_CLUSTER,
    /**
     * The btrfs-uuid kthread (btrfs_uuid_scan_kthread) is at the top of its loop, holding no transaction handle, about
     * to test btrfs_fs_closing and search for the next root item: a scan a mount started (a fresh filesystem's first
     * read-write mount creating the tree, or a rescan) still runs, and an RO remount or umount waits for it on
     * uuid_tree_rescan_sem.
     */
    UUID_SCAN_NEXT_ROOT,
    /**
     * btrfs_discard_workfn is running (its delayed work fired; cancel_delayed_work_sync now waits for it) and is about
     * to take discard_ctl->lock in peek_discard_list: a btrfs_discard_cleanup (umount, RO remount, a remount turning
     * async discard off) or a transaction abort's btrfs_discard_stop may clear BTRFS_FS_DISCARD_RUNNING before it looks.
     */
    DISCARD_WORKFN_BEFORE_PEEK,
    /**
     * btrfs_cleanup_transaction (an abort's cleanup: close_ctree's btrfs_error_commit_super, or the transaction kthread on
     * a filesystem in error) has waited for every ordered extent (btrfs_destroy_all_ordered_extents) and is about to
     * splice the roots' delalloc lists (btrfs_destroy_all_delalloc_inodes): writeback that adds its ordered extent now
     * and clears EXTENT_DELALLOC is waited for by neither, and its data bio may still be on fs_info->workers.
     */
    CLEANUP_BEFORE_DELALLOC_INODES,
    /**
     * A modifying syscall's mnt_want_write() counted its writer and found no RO remount under way (s_readonly_remount
     * clear, mnt_is_readonly's first test) and is about to test MNT_READONLY and SB_RDONLY: an RO remount starting
     * now meets the writer in flight (sb_prepare_remount_readonly: EBUSY; the port's remount waits for it), and one
     * that ended meanwhile has set SB_RDONLY before it cleared s_readonly_remount.
     */
    MNT_IS_READONLY_AFTER_REMOUNT_TEST,
    /**
     * btrfs_evict_inode ended the handle that truncated the inode's items and deleted its inode item and is about to
     * join another for btrfs_orphan_del (evict_refill_and_join's refill may flush and sleep): a commit now leaves the
     * orphan item without its inode, and a crash before the next commit hands it to the next mount's orphan cleanup.
     */
    EVICT_BEFORE_ORPHAN_DEL,
    /**
     * __btrfs_drop_extents (an ordered extent's completion, a hole's insertion) has searched the inode's file extent
     * items its range meets and is about to delete, trim or split them — in the kernel with the leaf write-locked from
     * the search on, so another drop of the same inode's items (a second ordered extent's completion on another
     * endio-write worker, a truncate) waits for the lock and searches afresh.
     */
    DROP_EXTENTS_AFTER_SEARCH,
    /**
     * lock_extent_buffer_for_io, under the buffer's lock (the port: its tree's lock), has counted the tree block's
     * writeback and is about to take it off the dirty set — the kernel sets EXTENT_BUFFER_WRITEBACK in the same step that
     * clears EXTENT_BUFFER_DIRTY, so a commit's writer that finds the buffer not dirty finds it under writeback and
     * waits for it. Nothing sleeps there.
     */
    BTREE_WRITEBACK_CLAIMED,
    /**
     * lock_extent_buffer_for_io, under the buffer's lock (the port's stand-in: BtreeInode.bufferLock), has taken the tree
     * block off the dirty set and is about to set BTRFS_HEADER_FLAG_WRITTEN: a freer of the block (btrfs_clean_tree_block, then
     * btrfs_free_tree_block's test of the flag) must not run in between, or it frees at once an address whose write is
     * in flight (stop 44). Nothing sleeps there.
     */
    BTREE_WRITEBACK_BEFORE_WRITTEN_FLAG,
    /**
     * Scrub, between a block group's reference and btrfs_inc_block_group_ro (its transaction join), counted as paused
     * (scrub_enumerate_chunks, stop 52): a commit may run meanwhile, an RO remount may go by.
     */
    SCRUB_BEFORE_INC_BLOCK_GROUP_RO,
    /**
     * Scrub, at the start of a stripe after its cancel and pause tests (scrub_stripe, stop 52): the cond_resched and the
     * commit-root search before its reads.
     */
    SCRUB_STRIPE,
    /**
     * btrfs_commit_transaction, the transaction UNBLOCKED (no longer running: new handles start the next one), before
     * it writes its tree blocks and superblock (stop 53): a sync or a freeze arriving now finds nothing to attach to, and
     * btrfs_attach_transaction_barrier waits here for the commit to complete. Nothing but the writes' IO waits there.
     */
    COMMIT_AFTER_UNBLOCKED,
    /**
     * btrfs_commit_transaction, after the transaction is COMPLETED and its commit_wait woken, before it takes the
     * transaction off trans_list (list_del_init under trans_lock), drops its references, ends its freeze protection
     * (sb_end_intwrite) and lets the scrubs go on (stop 53). The waiters it woke — an umount's sync among them — run
     * from here; the committer, a woken task's waker, may wait for a CPU.
     */
    COMMIT_AFTER_COMPLETED,
    // async metadata reclaim (space-info.c; stop 54)
    /**
     * btrfs_async_reclaim_metadata_space, a work of system_unbound_wq, is about to run one flush state (flush_space):
     * the work holds no reference on the mount, and only btrfs_remount's and close_ctree's cancel_work_sync wait for it.
     */
    ASYNC_RECLAIM_BEFORE_FLUSH,
    /**
     * btrfs_async_reclaim_metadata_space returned from one flush state and is about to look at the tickets again: a
     * ticket the state granted has let its task go on — an umount's or a remount's among them — while the work runs.
     */
    ASYNC_RECLAIM_AFTER_FLUSH,
    /**
     * The async reclaim work's RUN_DELAYED_IPUTS state ran the delayed iputs and is about to wait for nr_delayed_iputs to
     * reach 0 (btrfs_wait_on_delayed_iputs): an iput queued now — an ordered extent's last put — is run only by the
     * cleaner, a throttled transaction end or btrfs_commit_super (umount, remount; 5.11's commit runs none); with the
     * cleaner parked or waiting on a ticket, nobody — unless {@code RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK} (proposed)
     * has this wait run it.
     */
    ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS,
    /**
     * A kworker of system_unbound_wq took the async reclaim work off the list and has not cleared its pending bit yet
     * (process_one_work's set_work_pool_and_clear_pending): the work is still pending — the kernel's window while the
     * woken kworker waits for a CPU. A cancel_work_sync now drops it (it will not run, whatever tickets wait for it) and
     * a queue_work is refused. Stop 55.
     */
    ASYNC_RECLAIM_BEFORE_CLEAR_PENDING,
    /**
     * btrfs_async_reclaim_metadata_space is about to return, space_info->flush cleared (no ticket left, or all failed)
     * but the work still running: a cancel_work_sync now waits for it, and a ticket queued meanwhile finds the flag
     * clear, sets it and has its queue_work refused (the canceller holds the pending bit). Stop 55.
     */
    ASYNC_RECLAIM_BEFORE_RETURN,
    // async data reclaim (space-info.c; stop 56)
    /**
     * btrfs_async_reclaim_data_space is about to run one flush state (its forced chunk allocations first, then
     * data_flush_states): a data ticket's task — a buffered write, the cleaner's autodefrag — waits for what it does.
     */
    ASYNC_DATA_RECLAIM_BEFORE_FLUSH,
    /**
     * A kworker of system_unbound_wq took async_data_reclaim_work off the list and has not cleared its pending bit yet:
     * a cancel_work_sync now drops it with the data tickets that queued it still waiting (as
     * {@link #ASYNC_RECLAIM_BEFORE_CLEAR_PENDING} for the metadata work).
     */
    ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING,
    /** btrfs_async_reclaim_data_space is about to return, the data space_info's flush cleared or its tickets failed. */
    ASYNC_DATA_RECLAIM_BEFORE_RETURN,
    // 5.12's preemptive reclaim (space-info.c; stop 57)
    /**
     * btrfs_preempt_reclaim_metadata_space found need_preemptive_reclaim true (REMOUNTING and CLOSING clear at that
     * test) and picked a flush state; flush_space has not run yet — for the states that join a transaction, its
     * GFP_NOFS handle allocation may sleep in reclaim first. An RO remount that starts now does not wait for the work
     * ({@link FixSwitch#PREEMPT_RECLAIM_RO_REMOUNT}, proposed).
     */
    PREEMPT_RECLAIM_BEFORE_FLUSH,
    // the delayed-refs reserve's refill (delayed-ref.c; stop 57)
    /**
     * btrfs_delayed_refs_rsv_refill (a FLUSH_ALL start_transaction with no items: fsync, the cleaner's snapshot drop,
     * the rescan worker) slept on a metadata ticket that was granted, and has not added its bytes to the reserve yet:
     * the woken task's wait for a CPU. An abort's cleanup that empties the reserve now leaves the refill's bytes in it
     * for good in 5.11 ({@link FixSwitch#DELAYED_REFS_REFILL_RACE}). Reached only after a ticket's sleep.
     */
    DELAYED_REFS_REFILL_BEFORE_ADD,
    // a reclaim work's delalloc flush (inode.c start_delalloc_inodes; stop 62)
    /**
     * A reclaim work's FLUSH_DELALLOC (shrink_delalloc → btrfs_start_delalloc_roots → start_delalloc_inodes, in reclaim
     * context) wrote one inode it holds by igrab and has not yet handed that reference to btrfs_add_delayed_iput: a
     * kworker preempted after filemap_fdatawrite_wbc. An umount whose close_ctree ran its last btrfs_run_delayed_iputs
     * before cancelling the reclaim works gets the iput after it ({@link FixSwitch#RECLAIM_IPUTS_AT_UMOUNT}). Stop 62.
     */
    SHRINK_DELALLOC_BEFORE_DELAYED_IPUT,
    // balance (volumes.c; stop 64)
    /**
     * The btrfs-balance kthread btrfs_resume_balance_async started (a read-write mount or an RO→RW remount found a
     * paused balance) has not taken balance_mutex yet: a new kthread's wait for a CPU. An RO remount's or close_ctree's
     * btrfs_pause_balance now sees balance_ctl set and BTRFS_FS_BALANCE_RUNNING clear, and returns without waiting
     * ({@link FixSwitch#BALANCE_RESUME_PAUSE_RACE}, proposed).
     */
    BALANCE_KTHREAD_BEFORE_MUTEX,
    /** __btrfs_balance's loop top, before its pause and cancel test: one chunk (a block group in the port) per pass. */
    BALANCE_NEXT_CHUNK,
    /**
     * A delayed-meta work (btrfs_async_run_delayed_root) joined a transaction and has not written its node's items yet:
     * a kworker preempted holding a handle. An abort meanwhile and an umount: close_ctree flushes delayed_workers only on
     * a read-write filesystem, so the work's btrfs_end_transaction — which wakes the transaction kthread on an aborted
     * filesystem — may come after kthread_stop ({@link FixSwitch#DELAYED_WORKERS_AT_ERROR_UMOUNT}, proposed). Stop 64.
     */
    DELAYED_WORKER_AFTER_JOIN,
    /**
     * The btrfs-devrepl kthread btrfs_resume_dev_replace_async started, before its btrfs_scrub_dev: an RO remount or an
     * umount meanwhile suspends the replace and cancels no scrub ({@link FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE},
     * proposed). Stop 65.
     */
    DEV_REPLACE_KTHREAD_BEFORE_SCRUB,
    /**
     * btrfs_scrub_dev past its btrfs_fs_closing test and its setup, before scrub_lock and scrubs_running: a cancel now
     * finds no scrub running (-ENOTCONN) and the scrub starts after it. Stop 65.
     */
    SCRUB_BEFORE_RUNNING,
    /**
     * A dev-replace scrub about to copy its next chunk (scrub_enumerate_chunks' loop, dev-replace mode). Stop 65.
     */
    DEV_REPLACE_NEXT_CHUNK,
    /**
     * btrfs_dev_replace_start has set the replace STARTED and waited for the ordered extents, before it commits the
     * state: the ioctl holds no write access, so an RO remount may have passed meanwhile
     * ({@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS}, proposed). Stop 65.
     */
    DEV_REPLACE_START_BEFORE_TRANSACTION,
    /**
     * btrfs_resume_dev_replace_async has set a SUSPENDED replace STARTED and released the replace's rwsem, before it
     * tries the exclusive operation ({@link FixSwitch#DEV_REPLACE_RESUME_BEFORE_EXCLOP}, proposed). Stop 65.
     */
    DEV_REPLACE_RESUME_BEFORE_EXCLOP,
    /** The replace ioctl's copy has returned, before btrfs_dev_replace_finishing. Stop 65. */
    DEV_REPLACE_BEFORE_FINISHING,
    /**
     * btrfs_resize_thread_pool has loaded fs_info->scrub_wr_completion_workers (no lock), before its
     * btrfs_workqueue_set_max: a scrub ending now destroys that queue ({@link FixSwitch#RESIZE_THREAD_POOL_SCRUB_RACE},
     * later upstream). Reached only when a scrub holds the queues. Stop 67.
     */
    RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX,
    /**
     * btrfs_add_inode_defrag has tested __need_auto_defrag and allocated its record (kmem_cache_zalloc(GFP_NOFS), which
     * may sleep), before it takes defrag_inodes_lock to insert it ({@link FixSwitch#ADD_INODE_DEFRAG_CLOSING_RACE},
     * proposed). Reached from cow_file_range's inode_should_defrag with autodefrag on. Stop 68.
     */
    ADD_INODE_DEFRAG_BEFORE_INSERT,
    /**
     * btrfs_dev_replace_finishing's commit has returned, before it takes device_list_mutex (and, with the proposed
     * {@link FixSwitch#DEV_REPLACE_SWAP_BEFORE_SUPERS}, tree_log_mutex) to end the replace and swap the devices: another
     * commit may be between its btrfs_run_dev_replace and its write_all_supers meanwhile. Stop 72.
     */
    DEV_REPLACE_FINISHING_AFTER_COMMIT,
    /**
     * btrfs_delete_subvolume has unlinked the subvolume and set its root item's refs to 0, before
     * btrfs_insert_orphan_item, whose failure aborts the transaction (stop 74: the port ended the handle instead and the
     * commit wrote a dead root without its orphan item, class 7d206994).
     */
    SUBVOLUME_DELETE_BEFORE_ORPHAN_ITEM
}
