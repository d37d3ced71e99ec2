package org.jbtrfs.transaction;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.Flush;

/**
 * Transactions: fs/btrfs/transaction.c. Start, join, attach and end handles; commit.
 *
 * <p>Note what is not here, as in the kernel: no read-only check. Kernel threads (the cleaner, the
 * qgroup rescan worker, mount code) can and do open transactions on a read-only filesystem; only the
 * VFS refuses user writes. That is what lets the seed's bugs leak a transaction past the last commit.
 */
public final class Transactions {
    private Transactions() { }

    /** kernel: btrfs_start_transaction() — TRANS_START with a reservation for {@code numItems} items. */
    public static TransHandle start(FsInfo fs, Root root, int numItems, String function) {
        return startTransaction(fs, root, numItems, TransType.START, Flush.FLUSH_ALL, function);
    }

    /**
     * kernel: btrfs_start_transaction_fallback_global_rsv() — TRANS_START with BTRFS_RESERVE_FLUSH_ALL_STEAL: when the
     * async reclaim gives up, the ticket takes its bytes from the global reserve (unlink, rmdir, removing a block group).
     */
    public static TransHandle startFallbackGlobalRsv(FsInfo fs, Root root, int numItems, String function) {
        return startTransaction(fs, root, numItems, TransType.START, Flush.FLUSH_ALL_STEAL, function);
    }

    /** kernel: btrfs_join_transaction() — TRANS_JOIN, no reservation, creates a transaction if none runs. */
    public static TransHandle join(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.JOIN, Flush.NO_FLUSH, function);
    }

    /** kernel: btrfs_attach_transaction() — only a running transaction; -ENOENT (null here) if none. */
    public static TransHandle attach(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.ATTACH, Flush.NO_FLUSH, function);
    }

    /**
     * kernel: btrfs_attach_transaction_barrier() — {@link #attach}; with nothing to attach to (-ENOENT, null here), wait
     * first for the newest transaction still committing to complete (btrfs_wait_for_commit(fs_info, 0)): a commit that
     * has let new handles in (UNBLOCKED) may not have written its superblock yet.
     */
    public static TransHandle attachBarrier(FsInfo fs, Root root, String function) {
        TransHandle h = attach(fs, root, function);
        if (h == null) {
            waitForCommit(fs, 0);
        }
        return h;
    }

    /**
     * kernel: btrfs_wait_for_commit() in fs/btrfs/transaction.c — {@code transid} 0: wait for the newest transaction
     * that is committing (none, or the newest committed one complete: return at once); else wait for that
     * transaction's commit to complete, at once if it is committed already.
     *
     * @throws BtrfsException EINVAL for a {@code transid} that does not exist yet (past the last committed one and not on
     *         the transaction list)
     */
    public static void waitForCommit(FsInfo fs, long transid) {
        Transaction cur = null;
        synchronized (fs.transLock) {
            if (transid != 0) {
                if (transid <= fs.lastTransCommitted) {
                    return;
                }
                for (Transaction t : fs.transList) {
                    if (t.transid == transid) {
                        cur = t;
                        break;
                    }
                    if (t.transid > transid) {
                        break;
                    }
                }
                if (cur == null) {
                    // the transaction does not exist, or we raced with its commit
                    if (transid > fs.lastTransCommitted) {
                        throw new BtrfsException(Errno.EINVAL, "transaction " + transid + " does not exist (last committed "
                            + fs.lastTransCommitted + ")");
                    }
                    return;
                }
            } else {
                // the newest transaction that is committing or committed
                for (java.util.Iterator<Transaction> it = fs.transList.descendingIterator(); it.hasNext(); ) {
                    Transaction t = it.next();
                    if (t.state.compareTo(TransState.COMMIT_START) >= 0) {
                        if (t.state != TransState.COMPLETED) {
                            cur = t;
                        }
                        break;
                    }
                }
                if (cur == null) {
                    return; // nothing committing
                }
            }
        }
        Transaction t = cur;
        TransLockdep.mightWaitFor(fs, TransLockdep.COMPLETED); // wait_for_commit(COMPLETED)
        synchronized (fs.transLock) {
            fs.kernel.sched().waitUntil(fs.transLock, "wait_for_commit", TransWaits.stateOf(fs, t),
                () -> t.state == TransState.COMPLETED || t.aborted);
        }
    }

    /** kernel: btrfs_join_transaction_nostart() */
    public static TransHandle joinNostart(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.JOIN_NOSTART, Flush.NO_FLUSH, function);
    }

    /**
     * kernel: start_transaction() in fs/btrfs/transaction.c. Returns null where the kernel returns
     * -ENOENT for ATTACH / JOIN_NOSTART with nothing to attach to.
     */
    static TransHandle startTransaction(FsInfo fs, Root root, int numItems, TransType type, Flush flush, String function) {
        if (root == null) {
            throw nullRoot(fs, function);
        }
        root.use("start_transaction"); // root->fs_info of a freed root
        return begin(fs, root, numItems, type, flush, function);
    }

    /**
     * start_transaction()'s first statement reads {@code root->fs_info}: a caller passing a NULL root (the qgroup
     * rescan worker's {@code fs_info->quota_root} after quota disable cleared it) oopses there, before any
     * reservation, lock or handle — the task dies holding nothing.
     */
    private static KernelOops nullRoot(FsInfo fs, String function) {
        return fs.log().oops(LogEntry.Kind.OOPS,
            "BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
                + "RIP: 0010:start_transaction+0x48/0x10f0 [btrfs]\n"
                + "Call Trace:\n " + function + " [btrfs]");
    }

    /** The port's mkfs (user space, not the kernel) joins its first transaction before any root exists. */
    static TransHandle joinForMkfs(FsInfo fs) {
        return begin(fs, null, 0, TransType.JOIN, Flush.NO_FLUSH, "mkfs");
    }

    private static TransHandle begin(FsInfo fs, Root root, int numItems, TransType type, Flush flush, String function) {
        if (fs.fsState.test(FsState.ERROR)) {
            throw new BtrfsException(Errno.EROFS, "filesystem " + fs.sbId() + " is in error state");
        }
        long reserved = 0;
        if (numItems > 0) {
            if (fs.kernel.faults().shouldFail(Fault.START_TRANSACTION_ENOSPC, fs.sbId())) {
                throw new BtrfsException(Errno.ENOSPC, "cannot reserve metadata for " + numItems + " items (injected)");
            }
        }
        if (root != null && type == TransType.START) {
            reserved = SpaceReservation.reserveForStart(fs, numItems, flush);
        }
        // sb_start_intwrite() for TRANS_START and TRANS_JOIN: a frozen filesystem (SB_FREEZE_FS) blocks here until thawed
        Object intwrite = null;
        Transaction cur;
        boolean created;
        try {
            if (root != null && type.isFreezable()) {
                intwrite = fs.sbWriters.startIntwrite();
            }
            Joined r = joinTransaction(fs, type, function);
            if (r == null) {
                if (reserved > 0) {
                    fs.space.rsvs.releaseMetadata(reserved);
                }
                if (intwrite != null) {
                    fs.sbWriters.endIntwrite(intwrite);
                }
                return null;
            }
            cur = r.transaction();
            created = r.created();
        } catch (RuntimeException e) {
            if (reserved > 0) {
                fs.space.rsvs.releaseMetadata(reserved);
            }
            if (intwrite != null) {
                fs.sbWriters.endIntwrite(intwrite); // join_fail: sb_end_intwrite
            }
            throw e;
        }
        TransHandle h = new TransHandle(fs, cur, root, type, fs.kernel.slabs().cache("btrfs_trans_handle").alloc());
        cur.live.add(h);
        TransLockdep.joined(h);
        h.intwrite = intwrite;
        h.bytesReserved = reserved;
        if (created) {
            fs.kernel.hooks().arrive(Hook.TRANSACTION_CREATED);
        }
        return h;
    }

    /**
     * Instrumentation: who opened a handle on {@code t}, recorded under trans_lock in the same step as the join, so an
     * inspection (which copies trans_list under that lock) never meets a transaction without its creator — stop 67's
     * class 2a5e2aa9 met one in the window between the join and a record made after it ("opened by []").
     */
    private static void recordHandle(Transaction t, String function, TransType type) {
        t.record(new Transaction.HandleRecord(Thread.currentThread().getName(), function, type));
    }

    /** The transaction a handle joined, and whether joining created it. */
    private record Joined(Transaction transaction, boolean created) { }

    /**
     * kernel: join_transaction() plus the -EBUSY retry loop of start_transaction (wait_current_trans):
     * the joined transaction, or null for ATTACH/JOIN_NOSTART with nothing to join.
     */
    private static Joined joinTransaction(FsInfo fs, TransType type, String function) {
        synchronized (fs.transLock) {
            boolean waited = false;
            while (true) {
                if (fs.fsState.test(FsState.ERROR)) {
                    throw new BtrfsException(Errno.EROFS, "filesystem " + fs.sbId() + " is in error state");
                }
                Transaction cur = fs.runningTransaction;
                if (cur != null) {
                    if (cur.aborted) {
                        throw new BtrfsException(Errno.EROFS, "transaction " + cur.transid + " aborted");
                    }
                    if (type.blockedBy(cur.state)) {
                        // -EBUSY: wait_current_trans(), then ATTACH and JOIN_NOSTART report -ENOENT
                        TransLockdep.mightWaitFor(fs, TransLockdep.UNBLOCKED);
                        fs.kernel.sched().waitUntil(fs.transLock, "wait_current_trans", TransWaits.stateOf(fs, cur),
                            () -> fs.runningTransaction != cur || !type.blockedBy(cur.state) || cur.aborted);
                        waited = true;
                        if (type == TransType.ATTACH || type == TransType.JOIN_NOSTART) {
                            return null;
                        }
                        continue;
                    }
                    cur.useCount++;
                    cur.numWriters++;
                    if (type.isExtwriter()) {
                        cur.numExtwriters++; // extwriter_counter_inc()
                    }
                    recordHandle(cur, function, type);
                    return new Joined(cur, false);
                }
                if (type == TransType.ATTACH || type == TransType.JOIN_NOSTART) {
                    return null;
                }
                Transaction t = new Transaction(++fs.generation, fs.kernel.clock().seconds(),
                    new DelayedRefs(fs.kernel.slabs(), fs.space));
                t.numExtwriters = type.isExtwriter() ? 1 : 0; // extwriter_counter_init()
                fs.transList.addLast(t);
                fs.runningTransaction = t;
                recordHandle(t, function, type);
                return new Joined(t, true);
            }
        }
    }

    /**
     * kernel: btrfs_end_transaction() — releases the handle only. It never commits: the transaction stays
     * running (and on trans_list) until the transaction kthread, a sync or btrfs_commit_super commits it.
     */
    public static void end(TransHandle h) {
        FsInfo fs = h.fsInfo;
        if (h.isEnded()) {
            throw new IllegalStateException("transaction handle ended twice");
        }
        try {
            createPendingBlockGroups(h);
        } finally {
            h.markEnded();
            if (h.bytesReserved > 0) {
                fs.space.rsvs.releaseMetadata(h.bytesReserved);
                h.bytesReserved = 0;
            }
            Transaction cur = h.transaction;
            endIntwrite(h);
            synchronized (fs.transLock) {
                if (h.type.isExtwriter()) {
                    cur.numExtwriters--; // extwriter_counter_dec()
                }
                cur.numWriters--;
                cur.useCount--;
                fs.transLock.notifyAll();
            }
            TransLockdep.releaseWriters(h);
            h.slabObj.free();
            fs.kernel.hooks().arrive(Hook.TRANS_END_BEFORE_KTHREAD_WAKE);
            if (h.aborted != null || fs.fsState.test(FsState.ERROR)) { // TRANS_ABORTED(trans) of the handle
                var k = fs.transactionKthread();
                if (k != null) {
                    k.wakeUpProcess();
                }
            }
        }
    }

    /** kernel: btrfs_end_transaction_throttle() — end, then run delayed iputs. */
    public static void endThrottle(TransHandle h) {
        end(h);
        h.fsInfo.delayedIputRunner().run();
    }

    /** kernel: btrfs_should_end_transaction() — the transaction wants to commit, or this handle did a lot. */
    public static boolean shouldEnd(TransHandle h) {
        TransState s = h.transaction.state;
        return s.compareTo(TransState.COMMIT_START) >= 0 || h.transaction.delayedRefs.size() > 512 || h.blocksTouched > 256;
    }

    /**
     * kernel: btrfs_create_pending_block_groups() — insert the items of chunks allocated through this handle. It returns
     * nothing: a failed insert aborts the transaction (btrfs_abort_transaction) and the remaining groups leave the list
     * without items ({@code if (ret) goto next}); its callers — btrfs_end_transaction, btrfs_commit_transaction,
     * btrfs_run_delayed_refs, btrfs_start_dirty_block_groups — go on, and the commit sees the abort. Stop 61, port bug:
     * the port threw, out of btrfs_commit_transaction before it had ended the handle, and the leaked external writer
     * made the next commit wait for itself (class 7a02d40c, a remount rw's disable of the v1 cache whose commit met an
     * aborted transaction, then the REMOUNT_RW_FAILURE_COMMIT commit: {@code CreatePendingBlockGroupsAbortTest}).
     */
    static void createPendingBlockGroups(TransHandle h) {
        boolean failed = false;
        while (!h.newBgs.isEmpty()) {
            BlockGroup bg = h.newBgs.get(0);
            if (!failed) {
                try {
                    Trees.insert(h, h.fsInfo.extentRoot(), new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
                        new BlockGroupItem(0, 256, bg.type().flag()).encode());
                    // add_block_group_free_space(): 5.11 marks needs_free_space only while the free space tree is on
                    FreeSpaceTree.addBlockGroupFreeSpace(h, bg);
                } catch (BtrfsException e) {
                    failed = true;
                    if (!h.transaction.aborted) {
                        // the group is still on trans->new_bgs here (list_del_init at "next:"): never an unused abort
                        abort(h, "btrfs_create_pending_block_groups", e);
                    }
                }
            }
            h.newBgs.remove(0); // next: list_del_init(&block_group->bg_list)
        }
    }

    /**
     * kernel: btrfs_commit_transaction() in fs/btrfs/transaction.c — see {@link TransactionCommit#commit}.
     */
    public static void commit(TransHandle h) { TransactionCommit.commit(h); }

    /** kernel: btrfs_commit_transaction_async(trans, 0) — see {@link TransactionCommit#commitAsync}. */
    public static void commitAsync(TransHandle h) { TransactionCommit.commitAsync(h); }

    /** kernel: {@code if (trans->type & __TRANS_FREEZABLE) sb_end_intwrite(fs_info->sb)} — once per handle. */
    static void endIntwrite(TransHandle h) {
        if (h.intwrite != null) {
            h.fsInfo.sbWriters.endIntwrite(h.intwrite);
            h.intwrite = null;
        }
    }

    static void releaseHandle(FsInfo fs, TransHandle h) {
        TransLockdep.releaseWriters(h);
        endIntwrite(h);
        if (h.bytesReserved > 0) {
            fs.space.rsvs.releaseMetadata(h.bytesReserved);
            h.bytesReserved = 0;
        }
        if (!h.slabObj.isFreed()) {
            h.slabObj.free();
        }
    }

    /** Records that {@code bg} was removed by this handle's transaction (its chunk is released at commit). */
    public static void addDeletedBlockGroup(TransHandle h, BlockGroup bg) {
        synchronized (h.transaction) {
            h.transaction.deletedBgs.add(bg);
        }
    }

    /**
     * kernel: btrfs_abort_transaction() (the macro, ctree.h) and __btrfs_abort_transaction() (super.c, v5.11) — the
     * abort of {@code h} by {@code function}: BTRFS_FS_STATE_TRANS_ABORTED is set first, then the handle is marked
     * (trans->aborted). A handle that changed no tree (trans->dirty) and created no block group (trans->new_bgs) aborts
     * nothing else — "Nothing used. The other threads that have joined this transaction may be able to continue":
     * "FUNCTION: Aborting unused transaction(ERRSTR)." is logged, the transaction runs on and the filesystem stays
     * writable; the next commit with no earlier transaction listed then fails -EROFS on the flag and aborts for real
     * (btrfs_commit_transaction, {@link TransactionCommit}). Otherwise the transaction is aborted ({@link #abort(FsInfo,
     * Transaction, Throwable)}). With {@link org.jbtrfs.core.FixSwitch#ABORT_UNUSED_TRANS_HANDLE} (v5.14) every abort
     * takes the transaction, as the port's did before stop 69.
     *
     * @return whether the transaction was aborted (false: an unused handle's abort)
     */
    public static boolean abort(TransHandle h, String function, Throwable why) {
        FsInfo fs = h.fsInfo;
        fs.fsState.set(FsState.TRANS_ABORTED); // the macro's test_and_set_bit, before the test below
        Errno errno = why instanceof BtrfsException be && be.errno() != null ? be.errno() : Errno.EIO;
        h.aborted = errno; // WRITE_ONCE(trans->aborted, errno)
        if (!fs.applied(org.jbtrfs.core.FixSwitch.ABORT_UNUSED_TRANS_HANDLE) && !h.dirty && h.newBgs.isEmpty()) {
            fs.log().btrfs(org.jbtrfs.core.LogLevel.WARNING, fs.sbId(), function + ": Aborting unused transaction("
                + decodeError(errno) + ").");
            return false;
        }
        abort(fs, h.transaction, why);
        return true;
    }

    /** kernel: btrfs_decode_error() in fs/btrfs/super.c (v5.11) — the text an errno is logged with. */
    static String decodeError(Errno errno) {
        return switch (errno) {
            case ENOENT -> "No such entry";
            case EIO -> "IO failure";
            case ENOMEM -> "Out of memory";
            case EEXIST -> "Object already exists";
            case ENOSPC -> "No space left";
            case EROFS -> "Readonly filesystem";
            case EOPNOTSUPP -> "Operation not supported";
            case EUCLEAN -> "Filesystem corrupted";
            default -> "unknown"; // -EDQUOT's "Quota exceeded": the port has no EDQUOT
        };
    }

    /**
     * kernel: __btrfs_abort_transaction()'s abort of the transaction — {@code trans->transaction->aborted} set, the
     * waiters woken, __btrfs_handle_fs_error: the filesystem goes into error state (read-only); close_ctree then runs
     * btrfs_error_commit_super. The handle-level entry is {@link #abort(TransHandle, String, Throwable)}; this one is
     * for a transaction with no handle of the caller's at hand.
     */
    public static void abort(FsInfo fs, Transaction cur, Throwable why) {
        synchronized (fs.transLock) {
            if (why instanceof BtrfsException be && be.errno() != null) {
                cur.abortErrno = be.errno(); // WRITE_ONCE(trans->transaction->aborted, errno)
            }
            cur.aborted = true;
            fs.transLock.notifyAll();
        }
        fs.fsState.set(FsState.TRANS_ABORTED);
        fs.fsState.set(FsState.ERROR);
        fs.log().btrfs(org.jbtrfs.core.LogLevel.CRIT, fs.sbId(), "Transaction aborted (error " + why.getMessage() + ")");
        // __btrfs_handle_fs_error(): async discard stops, the filesystem goes read-only (btrfs_set_sb_rdonly since
        // patch 3/5)
        fs.discard.stop();
        fs.setSbRdonly();
        fs.log().btrfs(org.jbtrfs.core.LogLevel.INFO, fs.sbId(), "forced readonly");
    }

    /**
     * kernel: __btrfs_handle_fs_error() in fs/btrfs/super.c (btrfs_handle_fs_error) — an error outside a
     * transaction abort: "BTRFS: error (device X) in FUNCTION: errno=-N", the filesystem goes into error
     * state and read-only. The caller goes on (and returns its error), as the kernel's callers do.
     */
    public static void handleFsError(FsInfo fs, String function, org.jbtrfs.core.Errno errno) {
        handleFsError(fs, function, errno, null);
    }

    /** {@link #handleFsError(FsInfo, String, org.jbtrfs.core.Errno)} with the caller's message ({@code fmt}), or null. */
    public static void handleFsError(FsInfo fs, String function, org.jbtrfs.core.Errno errno, String message) {
        fs.fsState.set(FsState.ERROR);
        fs.log().btrfs(org.jbtrfs.core.LogLevel.CRIT, fs.sbId(), "error (device " + fs.sbId() + ") in " + function
            + ": errno=" + errno.ret() + " " + errno.name() + (message == null ? "" : " (" + message + ")"));
        fs.discard.stop();
        fs.setSbRdonly();
        fs.log().btrfs(org.jbtrfs.core.LogLevel.INFO, fs.sbId(), "forced readonly");
    }

    /**
     * kernel: btrfs_cleanup_one_transaction() in fs/btrfs/disk-io.c — tear one aborted transaction down without
     * writing it: its delayed refs (and the extents reserved for them), its dirty-page records; COMPLETED, waiters
     * woken; the delayed inode items still queued are thrown away (btrfs_destroy_delayed_inodes); what it pinned, and
     * what its delayed refs had reserved, leaves the counters without becoming free space (btrfs_destroy_pinned_extent,
     * btrfs_destroy_delayed_refs). Dirty block groups and device updates are not modelled here.
     */
    static void cleanupOneTransaction(FsInfo fs, Transaction t) {
        fs.delayedInodes.destroyDelayedInodes();
        for (DelayedRefHead head : t.delayedRefs.takeAll()) {
            if (head.mustInsertReserved) {
                // btrfs_destroy_delayed_refs: reserved → pinned, then btrfs_error_unpin_extent_range — not free again
                fs.space.pinReserved(head.bytenr, head.numBytes);
                fs.space.errorUnpin(head.bytenr, head.numBytes);
            }
            t.delayedRefs.release(head);
        }
        fs.btreeInode.destroyMarkedExtents(t);
        destroyPinnedExtent(fs, t);
        synchronized (fs.transLock) {
            t.state = TransState.COMPLETED;
            fs.transLock.notifyAll();
        }
    }

    /**
     * kernel: btrfs_destroy_pinned_extent() — every extent the aborted transaction pinned (a tree block written and freed
     * in it, an extent whose last reference its delayed refs dropped) leaves the pinned counters through
     * btrfs_error_unpin_extent_range, which does <em>not</em> give it back to the free space cache (return_free_space
     * false): a block of the committed trees the aborted transaction COWed stays allocated for the rest of the mount.
     * A freed block's buffer leaves the page cache first, as at the end of a commit.
     *
     * <p>Stop 75, port bug (explorer class {@code b12d772b}, seed 75001): the port unpinned them as a commit does, free
     * space again; a handle still open in the next transaction allocated the committed device tree root's block, and a
     * writeback in the error state (btree_write_cache_pages submits every bio but its last) wrote it over that root.
     */
    private static void destroyPinnedExtent(FsInfo fs, Transaction t) {
        Map<Long, Long> pinned;
        synchronized (t) {
            pinned = new LinkedHashMap<>(t.pinned);
            t.pinned.clear();
        }
        for (Map.Entry<Long, Long> e : pinned.entrySet()) {
            fs.btreeInode.forget(e.getKey());
            fs.space.errorUnpin(e.getKey(), e.getValue());
        }
    }

    /**
     * kernel: btrfs_cleanup_transaction() (disk-io.c, v5.11) — tear down every transaction on trans_list without writing
     * it (error or abort at unmount), from the head of the list: one a committer has (COMMIT_START on) is left to it —
     * btrfs_wait_for_commit, and the list is looked at again once the committer has taken it off (committed, or its
     * cleanup_transaction); the running one is set COMMIT_DOING and waited for until no handle is left in it ("we wait
     * for 0 num_writers since we don't hold a trans handle open currently for this transaction"); then its delayed refs,
     * reserved extents and dirty-page records are freed, and running_transaction is cleared. Then
     * btrfs_destroy_all_ordered_extents() (every ordered extent marked IOERR, then btrfs_wait_ordered_roots: "if we've
     * been flipped read-only we won't get sync() from the umount"), then btrfs_destroy_all_delalloc_inodes() (every inode
     * still on a root's delalloc list: its pages locked and waited for, stop 34), through the fs layer's upcalls — all
     * under transaction_kthread_mutex, as the kernel takes it for the whole function.
     *
     * <p>Stop 61, port bug: the port tore down every transaction on the list at once, a committing one under its committer
     * and the running one under its writers, and cleared running_transaction while a handle still COWed in it — "WARNING
     * at ctree.c btrfs_cow_block: trans N running none" after an abort (class 8b955327; {@code CleanupTransactionWaitsTest}).
     */
    public static void cleanupTransaction(FsInfo fs) {
        // serialised with the transaction kthread's loop and its own cleanup by transaction_kthread_mutex: close_ctree's
        // btrfs_error_commit_super waits here until a cleanup the kthread started (its wait for the ordered extents,
        // its last puts of them) is over, and only then runs the delayed iputs
        fs.transactionKthreadMutex.lock();
        try {
            while (true) {
                Transaction t;
                synchronized (fs.transLock) {
                    t = fs.transList.peekFirst();
                    if (t == null) {
                        break;
                    }
                    if (t.state.compareTo(TransState.COMMIT_START) >= 0) {
                        Transaction committing = t;
                        fs.kernel.sched().waitUntil(fs.transLock, "btrfs_cleanup_transaction: wait for commit",
                            TransWaits.stateOf(fs, committing), () -> fs.transList.peekFirst() != committing);
                        continue;
                    }
                    if (t == fs.runningTransaction) {
                        Transaction running = t;
                        running.state = TransState.COMMIT_DOING;
                        fs.transLock.notifyAll();
                        fs.kernel.sched().waitUntil(fs.transLock, "btrfs_cleanup_transaction: wait for writers",
                            TransWaits.writersOf(running), () -> running.numWriters == 0);
                    }
                }
                cleanupOneTransaction(fs, t);
                synchronized (fs.transLock) {
                    if (fs.runningTransaction == t) {
                        fs.runningTransaction = null;
                    }
                    fs.transList.remove(t);
                    fs.transLock.notifyAll();
                }
            }
            fs.orderedExtentsDestroyer().run();
            // btrfs_destroy_delayed_inodes ran with each transaction's teardown above; the delalloc inodes last
            fs.kernel.hooks().arrive(Hook.CLEANUP_BEFORE_DELALLOC_INODES);
            fs.delallocInodesDestroyer().run();
        } finally {
            fs.transactionKthreadMutex.unlock();
        }
    }

}
