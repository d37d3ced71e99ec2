package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.WorkOwner;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * The commit of a transaction: btrfs_commit_transaction() and its helpers in fs/btrfs/transaction.c
 * (commit_cowonly_roots, switch_commit_roots, the superblock update), split out of {@link Transactions},
 * which keeps the handles (start, join, attach, end) as transaction.c's first half does. Running the
 * delayed refs and unpinning are extent-tree.c's: {@link ExtentCommit}.
 */
final class TransactionCommit {
    private TransactionCommit() { }

    /**
     * kernel: btrfs_commit_transaction() in fs/btrfs/transaction.c (the 5.10/5.11 outline): COMMIT_START,
     * wait for the previous transaction, write the delayed inode items before and after the wait for the external
     * writers, pause the running scrubs (btrfs_scrub_pause), COMMIT_DOING, wait for the other writers, write the
     * delayed items once more, run every delayed ref into the extent tree and update root and block group items until
     * nothing changes, switch commit roots and the super's root, UNBLOCKED, write the dirty tree blocks synchronously,
     * write the superblock, unpin, COMPLETED and off trans_list, let the scrubs go on (btrfs_scrub_continue, on the
     * error path too).
     */
    static void commit(TransHandle h) {
        FsInfo fs = h.fsInfo;
        Transaction cur = h.transaction;
        if (h.isEnded()) {
            throw new IllegalStateException("commit through an ended transaction handle");
        }
        // "Some places just start a transaction to commit it. We need to make sure that if this commit fails that the
        // abort code actually marks the transaction as failed, so set trans->dirty"
        h.dirty = true;
        if (cur.aborted) {
            // "Stop the commit early if ->aborted is set": ret = cur_trans->aborted, the abort's errno
            Transactions.end(h);
            throw new BtrfsException(cur.abortErrno, "transaction " + cur.transid + " aborted");
        }
        // btrfs_trans_state_lockdep_acquire(COMMIT_START): 6.1 takes it first; taken after the abort test here, whose
        // early return released it at once (nothing between)
        var commitStart = TransLockdep.acquireState(fs, TransLockdep.COMMIT_START);
        BtrfsException earlyCleanup = null;
        try {
            Transactions.createPendingBlockGroups(h);
        } catch (RuntimeException e) {
            TransLockdep.releaseState(fs, commitStart);
            throw e;
        }
        synchronized (fs.transLock) {
            if (cur.state.compareTo(TransState.COMMIT_START) >= 0) {
                // someone else is committing it: drop our handle (btrfs_end_transaction) and wait for that commit
                if (h.type.isExtwriter()) {
                    cur.numExtwriters--;
                }
                cur.numWriters--;
                cur.useCount--;
                fs.transLock.notifyAll();
                h.markEnded();
                TransLockdep.releaseState(fs, commitStart);
                TransLockdep.releaseWriters(h);
                Transactions.endIntwrite(h); // btrfs_end_transaction() before waiting for that commit
                TransLockdep.mightWaitFor(fs, TransLockdep.COMPLETED); // wait_for_commit(COMPLETED)
                // wait_for_commit: COMPLETED only — an aborted commit's cleanup (btrfs_cleanup_one_transaction) ends there too
                fs.kernel.sched().waitUntil(fs.transLock, "wait_for_commit", TransWaits.stateOf(fs, cur), () -> cur.state == TransState.COMPLETED);
                Transactions.releaseHandle(fs, h);
                if (cur.aborted) {
                    // "if (TRANS_ABORTED(cur_trans)) ret = cur_trans->aborted": the commit this caller waited for failed
                    throw new BtrfsException(cur.abortErrno, "transaction " + cur.transid + " aborted");
                }
                return;
            }
            cur.state = TransState.COMMIT_START;
            cur.committer = Thread.currentThread();
            fs.transLock.notifyAll();
            TransLockdep.releaseState(fs, commitStart);
            Transaction prev = previous(fs, cur);
            if (prev != null && prev.state != TransState.COMPLETED) {
                TransLockdep.mightWaitFor(fs, TransLockdep.COMPLETED); // wait_for_commit(prev_trans, COMPLETED)
            }
            fs.kernel.sched().waitUntil(fs.transLock, "commit: wait for the previous transaction", TransWaits.stateOf(fs, prev),
                () -> prev == null || prev.state == TransState.COMPLETED);
            BtrfsException refused = refuseAfterAbortedPrevious(fs, prev);
            if (refused != null) {
                earlyCleanup = refused;
            } else if (h.type.isExtwriter()) {
                // extwriter_counter_dec(), then wait for the external writers (START / ATTACH handles) only:
                // joiners may still enter in COMMIT_START
                cur.numExtwriters--;
            }
        }
        if (earlyCleanup != null) {
            // goto cleanup_transaction: nothing of this transaction may reach the disk on top of trees never written
            cleanupTransaction(h, earlyCleanup);
            throw earlyCleanup;
        }
        // btrfs_start_delalloc_flush(): -o flushoncommit starts writeback of the dirty inodes (never fails)
        fs.commitFlush().startDelallocFlush();
        // btrfs_run_delayed_items() while the external writers finish, and again once they have: what they queued
        // meanwhile (a failure goes to cleanup_transaction; a panic ending the wait does not)
        runDelayedItems(h);
        // the committer holds num_extwriters as a reader (its handle's): released before it might wait as a writer
        TransLockdep.releaseExtwriters(h);
        TransLockdep.mightWaitFor(fs, TransLockdep.NUM_EXTWRITERS);
        synchronized (fs.transLock) {
            fs.kernel.sched().waitUntil(fs.transLock, "commit: wait for external writers", TransWaits.extwriters(h), () -> cur.numExtwriters <= 0);
        }
        runDelayedItems(h);
        // btrfs_wait_delalloc_flush(): -o flushoncommit waits for the ordered extents (joins still pass: COMMIT_START)
        fs.commitFlush().waitDelallocFlush();
        // btrfs_scrub_pause(): every running scrub stops between stripes before the roots change under it
        fs.scrub.pause();
        try {
            synchronized (fs.transLock) {
                // COMMIT_DOING blocks JOIN too; wait until this handle is the only writer left
                cur.state = TransState.COMMIT_DOING;
                fs.transLock.notifyAll();
                TransLockdep.releaseWriters(h);
                TransLockdep.mightWaitFor(fs, TransLockdep.NUM_WRITERS);
                fs.kernel.sched().waitUntil(fs.transLock, "commit: wait for writers", TransWaits.writers(h), () -> cur.numWriters <= 1);
            }
            // v5.17: the commit has started — clear the flag in case an async commit asked the transaction kthread but
            // somebody else started the commit first
            fs.flags.clear(FsFlag.COMMIT_TRANS);
        } catch (RuntimeException e) {
            fs.scrub.continueScrubs();
            throw e;
        }
        // the state maps after num_writers is released (lockdep's reverse-order unlocking rule, as 6.1 says)
        var completed = TransLockdep.acquireState(fs, TransLockdep.COMPLETED);
        var unblocked = TransLockdep.acquireState(fs, TransLockdep.UNBLOCKED);
        boolean treeLog = false; // whether this commit holds tree_log_mutex
        try {
            // "if (TRANS_ABORTED(cur_trans)) goto scrub_continue": a handle of this transaction aborted it while the
            // commit waited for the writers — nothing more of it is run or written
            throwIfAborted(cur);
            // create_pending_snapshots() (snapshots are not modelled), then btrfs_run_delayed_items() once more: a
            // joiner that entered before COMMIT_DOING may have queued items (btrfs_assert_delayed_root_empty after)
            fs.delayedInodes.runDelayedItems(h);
            if (fs.kernel.faults().shouldFail(Fault.COMMIT_TRANSACTION_EIO, fs.sbId())) {
                throw new BtrfsException(Errno.EIO, "error writing tree blocks of transaction " + cur.transid + " (injected)");
            }
            // "By holding the tree_log_mutex from now until after the super is written, we avoid races with the
            // tree-log code" — and, with the proposed DEV_REPLACE_SWAP_BEFORE_SUPERS, with a replace's swap
            fs.treeLogMutex.lock();
            treeLog = true;
            // btrfs_run_delayed_refs(trans, -1), commit_fs_roots (the port updates every root item in
            // commitCowonlyRoots' loop), then the qgroup accounting: "Since fs roots are all committed, we can get a
            // quite accurate new_roots"
            ExtentCommit.runDelayedRefs(h);
            QgroupTrace.accountExtents(h);
            commitCowonlyRoots(h);
            // "The tasks which save the space cache and inode cache may also update ->aborted, check it."
            throwIfAborted(cur);
            long rootBytenr = fs.treeRoot().node().bytenr();
            int rootLevel = fs.treeRoot().node().level();
            fs.commitRootSem.writeLock().lock();
            try {
                for (Root r : allRoots(fs)) {
                    r.switchCommitRoot();
                }
                // switch_commit_roots: the roots btrfs_drop_snapshot finished in this transaction are freed now
                synchronized (cur.droppedRoots) {
                    cur.droppedRoots.forEach(r -> FsRoots.dropAndFreeFsRoot(fs, r));
                    cur.droppedRoots.clear();
                }
            } finally {
                fs.commitRootSem.writeLock().unlock();
            }
            synchronized (fs.transLock) {
                fs.superCopy.root = rootBytenr;
                fs.superCopy.rootLevel = rootLevel;
                fs.superCopy.generation = cur.transid;
                // update_super_roots(): cache_generation follows space_cache (5.11)
                fs.superCopy.cacheGeneration = FreeSpaceCache.superCacheGeneration(fs, fs.superCopy.cacheGeneration,
                    cur.transid);
                // and uuid_tree_generation follows the tree root's generation once the UUID tree is known complete
                if (fs.flags.test(FsFlag.UPDATE_UUID_TREE_GEN)) {
                    fs.superCopy.uuidTreeGeneration = cur.transid;
                }
                cur.state = TransState.UNBLOCKED;
                fs.runningTransaction = null;
                fs.transLock.notifyAll();
            }
            TransLockdep.releaseState(fs, unblocked);
            unblocked = null;
            fs.kernel.hooks().arrive(Hook.COMMIT_AFTER_UNBLOCKED);
            if (fs.kernel.faults().shouldFail(Fault.WRITE_AND_WAIT_TRANSACTION_EIO, fs.sbId())) {
                // btrfs_write_and_wait_transaction's -EIO: btrfs_handle_fs_error, then cleanup_transaction — the commit
                // roots already switched, the transaction UNBLOCKED and no longer the running one
                Transactions.handleFsError(fs, "btrfs_commit_transaction", Errno.EIO);
                throw new BtrfsException(Errno.EIO, "error while writing out transaction " + cur.transid + " (injected)");
            }
            try {
                fs.btreeInode.writeMarkedExtents(cur);
            } catch (BtrfsException e) {
                // btrfs_handle_fs_error(fs_info, ret, "Error while writing out transaction") — its -EROFS special case:
                // nothing more when the filesystem is read-only already
                if (e.errno() != Errno.EROFS || !fs.sbRdonly()) {
                    Transactions.handleFsError(fs, "btrfs_commit_transaction", e.errno());
                }
                throw e;
            }
            DiskIo.writeSuper(fs);
            // "the super is written, we can safely allow the tree-loggers to go about their business"
            treeLog = false;
            fs.treeLogMutex.unlock();
            CommitProbe.afterSuperWritten(fs, cur.transid);
            ExtentCommit.finishExtentCommit(fs, cur);
        } catch (RuntimeException e) {
            if (treeLog) {
                fs.treeLogMutex.unlock(); // unlock_tree_log: (or the unlock before scrub_continue after a failed write)
            }
            TransLockdep.releaseState(fs, unblocked); // unlock_reloc / scrub_continue
            TransLockdep.releaseState(fs, completed);
            fs.scrub.continueScrubs(); // scrub_continue:
            cleanupTransaction(h, e);
            throw e;
        }
        synchronized (fs.transLock) {
            fs.lastTransCommitted = cur.transid;
            fs.readOnlyWrites.committed(cur);
            cur.state = TransState.COMPLETED;
            fs.transLock.notifyAll(); // wake_up(&cur_trans->commit_wait)
        }
        TransLockdep.releaseState(fs, completed);
        fs.kernel.hooks().arrive(Hook.COMMIT_AFTER_COMPLETED);
        synchronized (fs.transLock) {
            fs.transList.remove(cur); // list_del_init(&cur_trans->list), then the two btrfs_put_transaction()
            cur.numWriters--;
            cur.useCount--;
            fs.transLock.notifyAll();
        }
        Transactions.endIntwrite(h); // sb_end_intwrite()
        fs.scrub.continueScrubs(); // btrfs_scrub_continue() once the transaction is COMPLETED
        h.markEnded();
        Transactions.releaseHandle(fs, h); // kmem_cache_free(btrfs_trans_handle_cachep, trans)
    }

    /**
     * kernel: btrfs_commit_transaction_async(trans, 0) in fs/btrfs/transaction.c (v5.11), BTRFS_IOC_START_SYNC's commit of
     * the handle btrfs_attach_transaction_barrier gave it. Its btrfs_join_transaction() is nested in that handle
     * (current->journal_info): start_transaction returns the same handle with use_count 2, and the btrfs_end_transaction
     * that follows only drops it back to 1 — so the handle that goes to the work on system_wq (do_async_commit) is the
     * ioctl's own TRANS_ATTACH handle, an external writer, not freezable (no freeze protection changes hands). The
     * ioctl takes a reference on the transaction and waits for the commit to start (wait_current_trans_commit_start). The
     * work belongs to no mount: nothing at umount waits for it. With {@link FixSwitch#ASYNC_COMMIT_TRANSACTION_KTHREAD}
     * (fdfbf020664b, v5.17): set BTRFS_FS_COMMIT_TRANS, wake the transaction kthread, which commits at once, and end
     * the handle.
     */
    static void commitAsync(TransHandle trans) {
        FsInfo fs = trans.fsInfo;
        Transaction cur = trans.transaction;
        boolean kthread = fs.applied(FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD);
        if (kthread) {
            fs.flags.set(FsFlag.COMMIT_TRANS); // kick the transaction kthread
            var k = fs.transactionKthread();
            if (k != null) {
                k.wakeUpProcess();
            }
        }
        synchronized (fs.transLock) {
            cur.useCount++; // take transaction reference
        }
        if (kthread) {
            Transactions.end(trans);
        } else {
            // the nested join's handle is trans itself; its btrfs_end_transaction drops use_count 2 -> 1 and returns.
            // The port's lockdep maps of the handle (6.1's annotations) go with it to the kworker, as the freeze
            // protection of a freezable handle would (__sb_writers_release / __sb_writers_acquired)
            TransLockdep.releaseWriters(trans);
            fs.workqueues().workers.pool().systemWq()
                .queueWork(new BtrfsWork(() -> doAsyncCommit(trans))); // schedule_work(&ac->work)
        }
        // wait for the commit to start and block later joins; the committer-to-be may be a work not running yet, so
        // the wait names no task for the deadlock oracle
        TransLockdep.mightWaitFor(fs, TransLockdep.COMMIT_START);
        synchronized (fs.transLock) {
            fs.kernel.sched().waitUntil(fs.transLock, "wait_current_trans_commit_start",
                () -> cur.state.compareTo(TransState.COMMIT_START) >= 0 || cur.aborted);
            cur.useCount--; // btrfs_put_transaction()
        }
    }

    /**
     * kernel: do_async_commit() in fs/btrfs/transaction.c (v5.11), a work on system_wq: take the handle over
     * (current->journal_info) and commit it. Its return is ignored.
     */
    private static void doAsyncCommit(TransHandle trans) {
        // a work of system_wq serves no filesystem's queue: it reaches its fs_info through its handle — say so to a
        // listener telling filesystems apart (WorkOwner, instrumentation)
        WorkOwner.run(trans.fsInfo.workqueues().device(), () -> {
            trans.task = Thread.currentThread();
            TransLockdep.joined(trans);
            try {
                commit(trans);
            } catch (BtrfsException ignored) {
                // btrfs_commit_transaction()'s error is not looked at; the abort has been reported
            }
        });
    }

    /**
     * kernel: cleanup_transaction() in fs/btrfs/transaction.c (v5.11) — a commit that failed: abort the transaction,
     * take it off trans_list, wait until this handle is its only writer (when it is still the running transaction),
     * tear it down (btrfs_cleanup_one_transaction), clear running_transaction and drop the commit's references. The
     * failed transaction is not left for close_ctree's btrfs_error_commit_super.
     */
    private static void cleanupTransaction(TransHandle h, RuntimeException err) {
        FsInfo fs = h.fsInfo;
        Transaction cur = h.transaction;
        fs.log().btrfs(org.jbtrfs.core.LogLevel.WARNING, fs.sbId(), "Skipping commit of aborted transaction.");
        Transactions.abort(h, "cleanup_transaction", err); // the handle is dirty: the transaction aborts
        synchronized (fs.transLock) {
            fs.transList.remove(cur); // list_del_init: "BUG_ON(list_empty(&cur_trans->list))" holds, the commit owns it
            if (cur == fs.runningTransaction) {
                cur.state = TransState.COMMIT_DOING;
                fs.transLock.notifyAll();
                // "the thread has already released the lockdep map as reader" — here, whatever the failure left held
                TransLockdep.releaseWriters(h);
                TransLockdep.mightWaitFor(fs, TransLockdep.NUM_WRITERS);
                fs.kernel.sched().waitUntil(fs.transLock, "cleanup_transaction: wait for writers", TransWaits.writers(h),
                    () -> cur.numWriters <= 1);
            }
        }
        Transactions.cleanupOneTransaction(fs, cur);
        synchronized (fs.transLock) {
            if (cur == fs.runningTransaction) {
                fs.runningTransaction = null;
            }
            cur.numWriters--;
            cur.useCount--;
            fs.transLock.notifyAll();
        }
        h.markEnded();
        Transactions.releaseHandle(fs, h);
    }

    /**
     * kernel: btrfs_commit_transaction()'s test after COMMIT_START (v5.11 transaction.c:2120–2146), under trans_lock:
     * the previous transaction on trans_list, once it is COMPLETED (wait_for_commit), failed — its
     * {@code prev_trans->aborted} is this commit's error; or none is left on the list while BTRFS_FS_STATE_TRANS_ABORTED
     * is set ("The previous transaction was aborted and was already removed from the list ... So we abort to prevent
     * writing a new superblock that reflects a corrupt state (pointing to trees with unwritten nodes/leafs)") — -EROFS.
     * Either way the commit goes to cleanup_transaction. Null when the commit may go on.
     *
     * <p>Stop 68, port bug: the port waited for the previous transaction to be COMPLETED <em>or aborted</em> and went
     * on either way — a transaction started while the previous one was UNBLOCKED was committed after that one failed
     * to write, its superblock pointing at tree blocks never written ({@code CommitAfterAbortedPreviousTest}).
     */
    private static BtrfsException refuseAfterAbortedPrevious(FsInfo fs, Transaction prev) {
        if (prev != null) {
            return prev.aborted ? new BtrfsException(prev.abortErrno, "the previous transaction " + prev.transid
                + " aborted") : null;
        }
        return fs.fsState.test(FsState.TRANS_ABORTED)
            ? new BtrfsException(Errno.EROFS, "a previous transaction aborted and left trans_list") : null;
    }

    /**
     * btrfs_commit_transaction()'s {@code if (TRANS_ABORTED(cur_trans)) { ret = cur_trans->aborted; goto ...; }} after
     * COMMIT_DOING's wait for the writers and after commit_cowonly_roots (v5.11 transaction.c:2190, 2284). Stop 68, port
     * bug: both were missing — a commit whose transaction another handle aborted meanwhile ran its delayed refs, COWed
     * the roots and went UNBLOCKED, and failed only at the write (btree_write_cache_pages' -EROFS in error state).
     */
    private static void throwIfAborted(Transaction cur) {
        if (cur.aborted) {
            throw new BtrfsException(cur.abortErrno, "transaction " + cur.transid + " aborted");
        }
    }

    /** btrfs_run_delayed_items() of the commit: an error aborts the transaction and fails the commit. */
    private static void runDelayedItems(TransHandle h) {
        try {
            h.fsInfo.delayedInodes.runDelayedItems(h);
        } catch (BtrfsException e) {
            cleanupTransaction(h, e);
            throw e;
        }
    }

    private static Transaction previous(FsInfo fs, Transaction cur) {
        Transaction prev = null;
        for (Transaction t : fs.transList) {
            if (t == cur) {
                return prev;
            }
            prev = t;
        }
        return prev;
    }

    /**
     * kernel: commit_cowonly_roots() with btrfs_run_delayed_refs() and btrfs_write_dirty_block_groups():
     * first btrfs_cow_block of the tree root's node; then applying refs and rewriting root / block group items
     * COWs the extent and root trees, which queues more refs; loop until a pass changes nothing.
     */
    private static void commitCowonlyRoots(TransHandle h) {
        FsInfo fs = h.fsInfo;
        // its first step: COW the tree root's node, so the super written by this commit points at a tree root of this
        // generation (open_ctree reads it with btrfs_super_generation as the parent transid)
        Trees.cowRootNode(h, fs.treeRoot());
        for (int pass = 0; pass < 64; pass++) {
            boolean changed = ExtentCommit.runDelayedRefs(h) > 0;
            if (pass == 0) {
                DevStats.runDevStats(h);
                fs.devReplace.runDevReplace(h); // then btrfs_run_qgroups
            }
            if (writeDirtyBlockGroups(h)) {
                changed = true;
            }
            QgroupHooks qg = fs.qgroupHooks();
            if (qg != null && qg.runQgroups(h)) {
                changed = true;
            }
            for (Root r : allRoots(fs)) {
                if (r == fs.treeRoot() || r.rootItem() == null || r.state.test(RootState.DROPPED)) {
                    continue; // a dropped root's tag is cleared: commit_fs_roots does not visit it
                }
                RootItem item = r.rootItem();
                if (item.bytenr() != r.node().bytenr() || item.level() != r.node().level()) {
                    RootItem updated = item.withNode(r.node().bytenr(), r.node().level(), h.transid());
                    r.setRootItem(updated);
                    Trees.update(h, fs.treeRoot(), new Key(r.objectid(), ItemType.ROOT_ITEM, 0), updated.encode());
                    changed = true;
                }
            }
            if (!changed && h.transaction.delayedRefs.size() == 0) {
                // "Update dev-replace pointer once everything is committed"
                fs.devReplace.updateCommittedCursor();
                return;
            }
        }
        throw fs.log().bug("transaction.c", 1234, "commit_cowonly_roots did not converge");
    }

    /**
     * kernel: btrfs_write_dirty_block_groups() in fs/btrfs/block-group.c — for each block group the
     * transaction dirtied: cache_save_setup, run the delayed refs that queued, write the v1 cache out, update
     * the block group item. Returns whether any group was written.
     */
    private static boolean writeDirtyBlockGroups(TransHandle h) {
        FsInfo fs = h.fsInfo;
        // btrfs_start_dirty_block_groups' btrfs_create_pending_block_groups: a cache file may have needed a chunk
        Transactions.createPendingBlockGroups(h);
        List<BlockGroup> dirty = fs.space.takeDirtyBlockGroups();
        for (BlockGroup bg : dirty) {
            if (fs.mountOpt.test(org.jbtrfs.core.kernel.MountOpt.SPACE_CACHE)
                && fs.space.diskCacheState(bg).compareTo(BlockGroup.DiskCacheState.CLEAR) < 0) {
                // btrfs_update_block_group(): a group whose used bytes changed has a stale cache
                fs.space.setDiskCacheState(bg, BlockGroup.DiskCacheState.CLEAR);
            }
            FreeSpaceCache.cacheSaveSetup(h, bg);
            ExtentCommit.runDelayedRefs(h);
            FreeSpaceCache.writeOutCache(h, bg);
            long used = fs.space.blockGroupItemWritten(bg);
            Trees.update(h, fs.extentRoot(), new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
                new BlockGroupItem(used, 256, bg.type().flag()).encode());
        }
        return !dirty.isEmpty();
    }

    /** Every root a commit must consider: the global roots and the subvolumes in fs_roots_radix. */
    static List<Root> allRoots(FsInfo fs) {
        List<Root> l = new ArrayList<>();
        l.add(fs.treeRoot());
        l.add(fs.extentRoot());
        if (fs.quotaRoot() != null) {
            l.add(fs.quotaRoot());
        }
        if (fs.freeSpaceRoot() != null) {
            l.add(fs.freeSpaceRoot());
        }
        if (fs.uuidRoot() != null) {
            l.add(fs.uuidRoot());
        }
        if (fs.devRoot() != null) {
            l.add(fs.devRoot());
        }
        if (fs.csumRoot() != null) {
            l.add(fs.csumRoot());
        }
        l.addAll(fs.fsRootsRadix.values());
        return l;
    }
}
