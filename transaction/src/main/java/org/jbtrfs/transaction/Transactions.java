package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.space.BlockGroup;

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
        return startTransaction(fs, root, numItems, TransType.START, function);
    }

    /** kernel: btrfs_join_transaction() — TRANS_JOIN, no reservation, creates a transaction if none runs. */
    public static TransHandle join(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.JOIN, function);
    }

    /** kernel: btrfs_attach_transaction() — only a running transaction; -ENOENT (null here) if none. */
    public static TransHandle attach(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.ATTACH, function);
    }

    /** kernel: btrfs_join_transaction_nostart() */
    public static TransHandle joinNostart(FsInfo fs, Root root, String function) {
        return startTransaction(fs, root, 0, TransType.JOIN_NOSTART, function);
    }

    /**
     * kernel: start_transaction() in fs/btrfs/transaction.c. Returns null where the kernel returns
     * -ENOENT for ATTACH / JOIN_NOSTART with nothing to attach to.
     */
    static TransHandle startTransaction(FsInfo fs, Root root, int numItems, TransType type, String function) {
        if (fs.fsState.test(FsState.ERROR)) {
            throw new BtrfsException(Errno.EROFS, "filesystem " + fs.sbId() + " is in error state");
        }
        long reserved = 0;
        if (numItems > 0) {
            if (fs.kernel.faults().shouldFail(Fault.START_TRANSACTION_ENOSPC)) {
                throw new BtrfsException(Errno.ENOSPC, "cannot reserve metadata for " + numItems + " items (injected)");
            }
            reserved = fs.space.reserveMetadataItems(numItems);
        }
        Transaction cur;
        boolean created;
        try {
            Joined r = joinTransaction(fs, type);
            if (r == null) {
                if (reserved > 0) {
                    fs.space.releaseMetadata(reserved);
                }
                return null;
            }
            cur = r.transaction();
            created = r.created();
        } catch (RuntimeException e) {
            if (reserved > 0) {
                fs.space.releaseMetadata(reserved);
            }
            throw e;
        }
        TransHandle h = new TransHandle(fs, cur, root, type, fs.kernel.slabs().cache("btrfs_trans_handle").alloc());
        h.bytesReserved = reserved;
        cur.record(new Transaction.HandleRecord(Thread.currentThread().getName(), function, type));
        if (created) {
            fs.kernel.hooks().arrive(Hook.TRANSACTION_CREATED);
        }
        return h;
    }

    /** The transaction a handle joined, and whether joining created it. */
    private record Joined(Transaction transaction, boolean created) { }

    /**
     * kernel: join_transaction() plus the -EBUSY retry loop of start_transaction (wait_current_trans):
     * the joined transaction, or null for ATTACH/JOIN_NOSTART with nothing to join.
     */
    private static Joined joinTransaction(FsInfo fs, TransType type) {
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
                        fs.kernel.sched().waitUntil(fs.transLock,
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
                fs.space.releaseMetadata(h.bytesReserved);
                h.bytesReserved = 0;
            }
            Transaction cur = h.transaction;
            synchronized (fs.transLock) {
                if (h.type.isExtwriter()) {
                    cur.numExtwriters--; // extwriter_counter_dec()
                }
                cur.numWriters--;
                cur.useCount--;
                fs.transLock.notifyAll();
            }
            h.slabObj.free();
            if (cur.aborted || fs.fsState.test(FsState.ERROR)) {
                var k = fs.transactionKthread;
                if (k != null) {
                    k.wakeUpProcess();
                }
            }
        }
    }

    /** kernel: btrfs_end_transaction_throttle() — end, then run delayed iputs. */
    public static void endThrottle(TransHandle h) {
        end(h);
        h.fsInfo.delayedIputRunner.run();
    }

    /** kernel: btrfs_should_end_transaction() — the transaction wants to commit, or this handle did a lot. */
    public static boolean shouldEnd(TransHandle h) {
        TransState s = h.transaction.state;
        return s.compareTo(TransState.COMMIT_START) >= 0 || h.transaction.delayedRefs.size() > 512 || h.blocksTouched > 256;
    }

    /** kernel: btrfs_create_pending_block_groups() — insert the items of chunks allocated through this handle. */
    private static void createPendingBlockGroups(TransHandle h) {
        for (BlockGroup bg : h.fsInfo.space.takeNewBlockGroups()) {
            Trees.insert(h, h.fsInfo.extentRoot, new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
                new BlockGroupItem(0, 256, bg.type().flag()).encode());
        }
    }

    /**
     * kernel: btrfs_commit_transaction() in fs/btrfs/transaction.c (the 5.10/5.11 outline): COMMIT_START,
     * wait for the previous transaction and for the other writers, COMMIT_DOING, run every delayed ref
     * into the extent tree and update root and block group items until nothing changes, switch commit
     * roots and the super's root, UNBLOCKED, write the dirty tree blocks synchronously, write the
     * superblock, unpin, COMPLETED and off trans_list.
     */
    public static void commit(TransHandle h) {
        FsInfo fs = h.fsInfo;
        Transaction cur = h.transaction;
        if (h.isEnded()) {
            throw new IllegalStateException("commit through an ended transaction handle");
        }
        if (cur.aborted) {
            end(h);
            throw new BtrfsException(Errno.EROFS, "transaction " + cur.transid + " aborted");
        }
        createPendingBlockGroups(h);
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
                fs.kernel.sched().waitUntil(fs.transLock, () -> cur.state == TransState.COMPLETED || cur.aborted);
                releaseHandle(fs, h);
                return;
            }
            cur.state = TransState.COMMIT_START;
            fs.transLock.notifyAll();
            Transaction prev = previous(fs, cur);
            fs.kernel.sched().waitUntil(fs.transLock, () -> prev == null || prev.state == TransState.COMPLETED || prev.aborted);
            // extwriter_counter_dec(), then wait for the external writers (START / ATTACH handles) only:
            // joiners may still enter in COMMIT_START
            if (h.type.isExtwriter()) {
                cur.numExtwriters--;
            }
            fs.kernel.sched().waitUntil(fs.transLock, () -> cur.numExtwriters <= 0);
            // COMMIT_DOING blocks JOIN too; wait until this handle is the only writer left
            cur.state = TransState.COMMIT_DOING;
            fs.transLock.notifyAll();
            fs.kernel.sched().waitUntil(fs.transLock, () -> cur.numWriters <= 1);
        }
        try {
            if (fs.kernel.faults().shouldFail(Fault.COMMIT_TRANSACTION_EIO)) {
                throw new BtrfsException(Errno.EIO, "error writing tree blocks of transaction " + cur.transid + " (injected)");
            }
            commitCowonlyRoots(h);
            long rootBytenr = fs.treeRoot.node().bytenr();
            int rootLevel = fs.treeRoot.node().level();
            fs.commitRootSem.writeLock().lock();
            try {
                for (Root r : allRoots(fs)) {
                    r.switchCommitRoot();
                }
            } finally {
                fs.commitRootSem.writeLock().unlock();
            }
            synchronized (fs.transLock) {
                fs.superCopy.root = rootBytenr;
                fs.superCopy.rootLevel = rootLevel;
                fs.superCopy.generation = cur.transid;
                cur.state = TransState.UNBLOCKED;
                fs.runningTransaction = null;
                fs.transLock.notifyAll();
            }
            fs.btreeInode.writeMarkedExtents(cur);
            DiskIo.writeSuper(fs);
            finishExtentCommit(fs, cur);
        } catch (RuntimeException e) {
            abort(fs, cur, e);
            releaseHandle(fs, h);
            throw e;
        }
        synchronized (fs.transLock) {
            cur.state = TransState.COMPLETED;
            fs.transList.remove(cur);
            fs.lastTransCommitted = cur.transid;
            cur.numWriters--;
            cur.useCount--;
            fs.transLock.notifyAll();
        }
        h.markEnded();
        releaseHandle(fs, h);
    }

    private static void releaseHandle(FsInfo fs, TransHandle h) {
        if (h.bytesReserved > 0) {
            fs.space.releaseMetadata(h.bytesReserved);
            h.bytesReserved = 0;
        }
        if (!h.slabObj.isFreed()) {
            h.slabObj.free();
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
     * applying refs and rewriting root / block group items COWs the extent and root trees, which
     * queues more refs; loop until a pass changes nothing.
     */
    private static void commitCowonlyRoots(TransHandle h) {
        FsInfo fs = h.fsInfo;
        for (int pass = 0; pass < 64; pass++) {
            boolean changed = runDelayedRefs(h) > 0;
            for (long[] bg : fs.space.takeDirtyBlockGroupItems()) {
                Trees.update(h, fs.extentRoot, new Key(bg[0], ItemType.BLOCK_GROUP_ITEM, bg[1]),
                    new BlockGroupItem(bg[2], 256, bg[3]).encode());
                changed = true;
            }
            QgroupHooks qg = fs.qgroupHooks;
            if (qg != null && qg.runQgroups(h)) {
                changed = true;
            }
            for (Root r : allRoots(fs)) {
                if (r == fs.treeRoot || r.rootItem() == null) {
                    continue;
                }
                RootItem item = r.rootItem();
                if (item.bytenr() != r.node().bytenr() || item.level() != r.node().level()) {
                    RootItem updated = item.withNode(r.node().bytenr(), r.node().level(), h.transid());
                    r.setRootItem(updated);
                    Trees.update(h, fs.treeRoot, new Key(r.objectid(), ItemType.ROOT_ITEM, 0), updated.encode());
                    changed = true;
                }
            }
            if (!changed && h.transaction.delayedRefs.size() == 0) {
                return;
            }
        }
        throw fs.log().bug("transaction.c", 1234, "commit_cowonly_roots did not converge");
    }

    /** kernel: btrfs_run_delayed_refs(trans, 0) — apply every queued head to the extent tree. */
    static int runDelayedRefs(TransHandle h) {
        FsInfo fs = h.fsInfo;
        DelayedRefs refs = h.transaction.delayedRefs;
        int run = 0;
        List<DelayedRefHead> heads;
        while (!(heads = refs.takeAll()).isEmpty()) {
            for (DelayedRefHead head : heads) {
                runOneHead(h, head);
                refs.release(head);
                run++;
            }
        }
        return run;
    }

    private static void runOneHead(TransHandle h, DelayedRefHead head) {
        FsInfo fs = h.fsInfo;
        Key key = head.isData ? new Key(head.bytenr, ItemType.EXTENT_ITEM, head.numBytes)
            : new Key(head.bytenr, ItemType.METADATA_ITEM, head.level);
        if (head.mustInsertReserved) {
            if (head.refMod > 0) {
                // alloc_reserved_tree_block() / alloc_reserved_file_extent()
                long flags = head.isData ? ExtentItem.FLAG_DATA : ExtentItem.FLAG_TREE_BLOCK;
                Trees.insert(h, fs.extentRoot, key, new ExtentItem(head.refMod, h.transid(), flags, head.ownerRoot,
                    head.level).encode());
                fs.space.allocReserved(head.bytenr, head.numBytes);
                account(fs, head.ownerRoot, head.bytenr, head.numBytes, true);
            } else {
                // allocated and freed in this very transaction: never reached the extent tree; its buffer
                // leaves the page cache before the space is free again (see finishExtentCommit)
                if (!head.isData) {
                    fs.btreeInode.forget(head.bytenr);
                }
                fs.space.freeReserved(head.bytenr, head.numBytes);
            }
            return;
        }
        if (head.refMod == 0) {
            return;
        }
        byte[] cur = Trees.lookup(fs, fs.extentRoot, key);
        if (cur == null) {
            throw fs.log().bug("extent-tree.c", 3030, "__btrfs_free_extent: extent " + key + " not found");
        }
        ExtentItem ei = ExtentItem.decode(cur);
        long refs = ei.refs() + head.refMod;
        if (refs > 0) {
            Trees.update(h, fs.extentRoot, key, new ExtentItem(refs, ei.generation(), ei.flags(), ei.ownerRoot(),
                ei.level()).encode());
            return;
        }
        // __btrfs_free_extent(): last ref gone — the extent is pinned until this transaction commits
        Trees.delete(h, fs.extentRoot, key);
        fs.space.dropUsed(head.bytenr, head.numBytes);
        account(fs, ei.ownerRoot(), head.bytenr, head.numBytes, false);
        synchronized (h.transaction) {
            h.transaction.pinned.put(head.bytenr, head.numBytes);
        }
    }

    private static void account(FsInfo fs, long owner, long bytenr, long len, boolean add) {
        QgroupHooks qg = fs.qgroupHooks;
        if (qg != null) {
            qg.accountExtent(owner, bytenr, len, add);
        }
    }

    /** kernel: btrfs_finish_extent_commit() — unpin what this transaction freed, release removed chunks. */
    private static void finishExtentCommit(FsInfo fs, Transaction cur) {
        Map<Long, Long> pinned;
        List<BlockGroup> deleted;
        synchronized (cur) {
            pinned = Map.copyOf(cur.pinned);
            cur.pinned.clear();
            deleted = new ArrayList<>(cur.deletedBgs);
            cur.deletedBgs.clear();
        }
        fs.commitRootSem.writeLock().lock();
        try {
            for (Map.Entry<Long, Long> e : pinned.entrySet()) {
                // Drop the freed block's buffer before its space can be allocated again: this runs while
                // the next transaction already allocates (we are past UNBLOCKED), and a forget after the
                // unpin could drop the buffer that transaction just created at the same bytenr.
                fs.btreeInode.forget(e.getKey());
                fs.space.unpin(e.getKey(), e.getValue());
            }
        } finally {
            fs.commitRootSem.writeLock().unlock();
        }
        for (BlockGroup bg : deleted) {
            fs.space.releaseChunk(bg);
        }
    }

    /** Every root a commit must consider: the global roots and the subvolumes in fs_roots_radix. */
    static List<Root> allRoots(FsInfo fs) {
        List<Root> l = new ArrayList<>();
        l.add(fs.treeRoot);
        l.add(fs.extentRoot);
        if (fs.quotaRoot != null) {
            l.add(fs.quotaRoot);
        }
        l.addAll(fs.fsRootsRadix.values());
        return l;
    }

    /** Records that {@code bg} was removed by this handle's transaction (its chunk is released at commit). */
    public static void addDeletedBlockGroup(TransHandle h, BlockGroup bg) {
        synchronized (h.transaction) {
            h.transaction.deletedBgs.add(bg);
        }
    }

    /**
     * kernel: btrfs_abort_transaction() / __btrfs_handle_fs_error() — the transaction is aborted and the
     * filesystem goes into error state (read-only); close_ctree then runs btrfs_error_commit_super.
     */
    public static void abort(FsInfo fs, Transaction cur, Throwable why) {
        synchronized (fs.transLock) {
            cur.aborted = true;
            fs.transLock.notifyAll();
        }
        fs.fsState.set(FsState.TRANS_ABORTED);
        fs.fsState.set(FsState.ERROR);
        fs.log().btrfs(org.jbtrfs.core.LogLevel.CRIT, fs.sbId(), "Transaction aborted (error " + why.getMessage() + ")");
        // __btrfs_handle_fs_error(): the filesystem goes read-only (btrfs_set_sb_rdonly since patch 3/5)
        fs.setSbRdonly();
        fs.log().btrfs(org.jbtrfs.core.LogLevel.INFO, fs.sbId(), "forced readonly");
    }

    /**
     * kernel: __btrfs_handle_fs_error() in fs/btrfs/super.c (btrfs_handle_fs_error) — an error outside a
     * transaction abort: "BTRFS: error (device X) in FUNCTION: errno=-N", the filesystem goes into error
     * state and read-only. The caller goes on (and returns its error), as the kernel's callers do.
     */
    public static void handleFsError(FsInfo fs, String function, org.jbtrfs.core.Errno errno) {
        fs.fsState.set(FsState.ERROR);
        fs.log().btrfs(org.jbtrfs.core.LogLevel.CRIT, fs.sbId(), "error (device " + fs.sbId() + ") in " + function
            + ": errno=" + errno.ret() + " " + errno.name());
        fs.setSbRdonly();
        fs.log().btrfs(org.jbtrfs.core.LogLevel.INFO, fs.sbId(), "forced readonly");
    }

    /**
     * kernel: btrfs_cleanup_transaction() — tear down every transaction on trans_list without writing it
     * (error or abort at unmount): free its delayed refs, reserved extents and dirty-page records.
     */
    public static void cleanupTransaction(FsInfo fs) {
        List<Transaction> all;
        synchronized (fs.transLock) {
            all = new ArrayList<>(fs.transList);
        }
        for (Transaction t : all) {
            for (DelayedRefHead head : t.delayedRefs.takeAll()) {
                if (head.mustInsertReserved) {
                    fs.space.freeReserved(head.bytenr, head.numBytes);
                }
                t.delayedRefs.release(head);
            }
            fs.btreeInode.destroyMarkedExtents(t);
            synchronized (fs.transLock) {
                t.state = TransState.COMPLETED;
                fs.transList.remove(t);
                if (fs.runningTransaction == t) {
                    fs.runningTransaction = null;
                }
                fs.transLock.notifyAll();
            }
        }
    }

}
