package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Csums;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * Ordered extents of one mounted filesystem: fs/btrfs/ordered-data.c and their completion,
 * btrfs_finish_ordered_io in fs/btrfs/inode.c.
 *
 * <p>The life of one: writeback's cow_file_range reserves the extent and adds the ordered extent, which
 * takes a reference on the inode; the data bio is submitted; when its write ends,
 * btrfs_writepage_endio_finish_ordered queues finish_ordered_fn on {@code endio_write_workers}, which
 * joins a transaction, inserts the file extent item, queues the extent's ref, updates the inode item,
 * ends the transaction, removes the ordered extent (BTRFS_ORDERED_COMPLETE: waiters return) and drops
 * its two references. Whoever drops the last reference — that worker, or a waiter such as
 * btrfs_sync_fs that took one — hands the inode reference to btrfs_add_delayed_iput: when the file was
 * closed meanwhile, that was the last inode reference and the inode goes on the delayed iput list for
 * the cleaner. Between the removal and the last put is a window ({@link Hook#ORDERED_EXTENT_AFTER_REMOVE})
 * in which btrfs_wait_ordered_roots has already returned.
 */
final class OrderedExtents {
    private final FsContext ctx;
    private final FsInfo fs;
    /**
     * Every ordered extent not yet removed, oldest first: the port's single list for fs_info->ordered_roots
     * and each root's ordered_extents. Guarded by this (ordered_root_lock / ordered_extent_lock).
     */
    private final Set<OrderedExtent> all = new LinkedHashSet<>();
    /** fs_info->ordered_operations_mutex: one btrfs_wait_ordered_roots at a time. */
    private final Mutex orderedOperationsMutex;
    /** Each root's ordered_extent_mutex, by objectid: one btrfs_wait_ordered_extents per root at a time. */
    private final java.util.Map<Long, Mutex> orderedExtentMutexes = new java.util.concurrent.ConcurrentHashMap<>();
    /** Ordered extents allocated and not yet freed (their last reference not dropped). */
    private final java.util.concurrent.atomic.AtomicInteger live = new java.util.concurrent.atomic.AtomicInteger();

    OrderedExtents(FsContext ctx) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.orderedOperationsMutex = new Mutex("ordered_operations_mutex", fs.kernel.lockdep(),
            "&fs_info->ordered_operations_mutex");
    }

    /**
     * kernel: btrfs_add_ordered_extent() in fs/btrfs/ordered-data.c — a new ordered extent holding a
     * reference on the inode (igrab), in the inode's ordered tree and the root's list.
     */
    OrderedExtent add(InodeData d, long fileOffset, long numBytes, long diskBytenr, long diskNumBytes, byte[] data) {
        if (!ctx.cleaner.inodes().igrab(d.inode)) {
            // writeback holds the inode while it adds ordered extents: it cannot be I_FREEING here
            throw fs.log().bug("ordered-data.c", 197, "igrab of " + d.inode + " failed during writeback");
        }
        OrderedExtent oe = new OrderedExtent(d, fileOffset, numBytes, diskBytenr, diskNumBytes, data,
            fs.kernel.slabs().cache("btrfs_ordered_extent").alloc(), fs.kernel.sched());
        live.incrementAndGet();
        d.addOrdered(oe);
        synchronized (this) {
            all.add(oe);
        }
        return oe;
    }

    /**
     * kernel: btrfs_writepage_endio_finish_ordered() in fs/btrfs/inode.c, called from the data bio's end
     * (end_extent_writepage) — account the written bytes (btrfs_dec_test_ordered_pending); when the
     * ordered extent is done, take a reference for the finisher and queue finish_ordered_fn on
     * endio_write_workers.
     */
    void writepageEndioFinishOrdered(OrderedExtent oe, long len, boolean uptodate) {
        if (!oe.decPending(len, uptodate)) {
            return;
        }
        oe.refs.incrementAndGet(); // "once for us", dropped by btrfs_finish_ordered_io
        fs.workqueues().endioWriteWorkers.queueWork(new BtrfsWork(() -> finishOrderedIo(oe)));
    }

    /**
     * kernel: btrfs_finish_ordered_io() in fs/btrfs/inode.c (finish_ordered_fn) — on an endio-write
     * worker: join a transaction (no reservation, no read-only check), insert the file extent item
     * (insert_reserved_file_extent: the item, i_bytes, the extent's ref), add the checksums (add_pending_csums), write disk_i_size and the inode item, end the transaction; on failure free the
     * reserved extent and set the mapping error. Then remove the ordered extent — waiters return — and drop
     * the finisher's and the tree's references.
     */
    void finishOrderedIo(OrderedExtent oe) {
        fs.kernel.hooks().arrive(Hook.ORDERED_EXTENT_BEFORE_FINISH);
        // btrfs_lockdep_acquire(btrfs_ordered_extent), held until btrfs_remove_ordered_extent has woken the waiters
        Lockdep.Held oeMap = fs.kernel.lockdep().acquireMap(ORDERED_EXTENT_MAP);
        try {
            finishAndRemove(oe);
        } finally {
            fs.kernel.lockdep().release(oeMap);
        }
        fs.kernel.hooks().arrive(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        put(oe); // once for us
        put(oe); // once for the tree
    }

    /** btrfs_finish_ordered_io's body up to and including btrfs_remove_ordered_extent. */
    private void finishAndRemove(OrderedExtent oe) {
        InodeData d = oe.inode;
        Root root = d.inode.root();
        boolean inserted = false;
        boolean failed = oe.ioerr();
        TransHandle h = null;
        try {
            if (!failed) {
                h = Transactions.join(fs, root, "btrfs_finish_ordered_io");
                // the drop leaves its path at the slot the insert uses; held on until the sums are in (the range's
                // extent lock, taken at the start of btrfs_finish_ordered_io: a read of the range waits for both)
                d.fileExtentItemsLock.lock();
                try {
                    dropExtents(h, d, oe.fileOffset, oe.fileOffset + oe.numBytes);
                    Trees.insert(h, root, fileExtentKey(d.inode.ino(), oe.fileOffset),
                        new FileExtentItem(oe.diskBytenr, oe.diskNumBytes, oe.numBytes, h.transid()).encode());
                    d.fileExtentInserted(oe);
                    Extents.allocReservedFileExtent(h, root.objectid(), d.inode.ino(), oe.fileOffset, oe.diskBytenr, oe.numBytes);
                    inserted = true;
                    // add_pending_csums(): the sums btrfs_csum_one_bio computed at submission, into the csum tree
                    Csums.insert(h, oe.diskBytenr, oe.sums());
                } finally {
                    d.fileExtentItemsLock.unlock();
                }
                d.safeDiskISizeWrite();
                d.updateInode(h);
            }
        } catch (BtrfsException e) {
            failed = true;
            if (h != null) {
                // 5.11 aborts on any error once it joined: insert_ordered_extent_file_extent's (btrfs_drop_extents, the
                // insert), add_pending_csums', btrfs_update_inode_fallback's (stop 69, port bug: only after the insert —
                // a failed drop or insert went unaborted and the commit wrote the range without its extent item:
                // btrfs check's FILE_EXTENT_DISCOUNT, class 8653fa3e)
                Transactions.abort(h, "btrfs_finish_ordered_io", e);
            }
        } finally {
            if (h != null) {
                Transactions.end(h);
            }
        }
        if (failed) {
            d.setError(Errno.EIO);
            if (!inserted) {
                Extents.freeReservedDataExtent(fs, oe.diskBytenr, oe.numBytes); // btrfs_free_reserved_extent()
            }
        }
        // "This needs to be done to make sure anybody waiting knows we are done updating everything for this
        // ordered extent."
        remove(oe);
    }

    /**
     * The {@code btrfs_ordered_extent} lockdep map (6.1, 5f4403e10f9b, "btrfs: add lockdep annotations for the ordered
     * extents wait event"): btrfs_finish_ordered_io holds it as a reader from its start until
     * btrfs_remove_ordered_extent has woken the waiters, btrfs_start_ordered_extent(wait) "might wait" for it. The wait
     * is a wait_event lockdep cannot see otherwise: a task that waits for an ordered extent while holding what the
     * finisher needs (a transaction handle, a commit state) closes a cycle lockdep reports. Free space inodes are
     * excluded upstream; the port's v1 cache inodes do not go through ordered extents. Applied with lockdep to every
     * modelled version, as {@code TransLockdep}: it changes no behaviour.
     */
    static final String ORDERED_EXTENT_MAP = "btrfs_ordered_extent";

    /**
     * btrfs_start_ordered_extent(entry, 1)'s btrfs_might_wait_for_event(btrfs_ordered_extent), then its wait_event for
     * COMPLETE.
     */
    private void startOrderedExtentWait(OrderedExtent oe) {
        fs.kernel.lockdep().mightWaitFor(ORDERED_EXTENT_MAP);
        oe.waitComplete();
    }

    /**
     * kernel: __btrfs_drop_extents() in fs/btrfs/file.c, from insert_reserved_file_extent() — every file extent item of
     * the inode that meets [start, end) gives that range up: one inside it is deleted and its data extent's reference
     * dropped (btrfs_free_extent); one that sticks out at one end is trimmed (its tail: num_bytes; its front: the key
     * moves to {@code end}, btrfs_set_item_key_safe, and the offset into the extent grows); one that sticks out at both
     * is split first — btrfs_duplicate_item at {@code start} with btrfs_inc_extent_ref, the original keeping [key,
     * start) — and the copy's front trimmed. i_bytes loses what was dropped (inode_sub_bytes). The search starts at the
     * item before {@code start} (btrfs_lookup_file_extent, then the step back to slot - 1), which may reach into the
     * range.
     *
     * <p>The kernel runs this for every ordered extent: items the inode's in-memory state does not know of can be
     * there — after a power cut, those of ordered extents that finished ahead of an earlier one lie beyond disk_i_size,
     * and the next write over them cuts them (stop 37: the port's first version searched only ranges its in-memory view
     * said held items and never split, so such an item survived under the new data, or a BUG was raised —
     * OrderedExtentsDropTest). The caller holds the inode's {@link InodeData#fileExtentItemsLock} (the leaf lock).
     */
    void dropExtents(TransHandle h, InodeData d, long start, long end) {
        assert d.fileExtentItemsLock.isHeldByCurrentThread();
        Root root = d.inode.root();
        long ino = d.inode.ino();
        List<TreeItem> met = Trees.rangeFromPrevious(fs, root, fileExtentKey(ino, start), fileExtentKey(ino, end - 1));
        fs.kernel.hooks().arrive(Hook.DROP_EXTENTS_AFTER_SEARCH);
        for (TreeItem it : met) {
            Key key = it.key();
            if (key.objectid() != ino || key.type() != ItemType.EXTENT_DATA) {
                continue; // the step back found an item of something else
            }
            FileExtentItem fe = FileExtentItem.decode(it.data());
            long keyOffset = key.offset();
            long extentEnd = keyOffset + fe.numBytes();
            if (extentEnd == keyOffset && extentEnd >= start) {
                deleteItem(h, d, key, fe); // "Don't skip extent items representing 0 byte lengths"
                continue;
            }
            if (extentEnd <= start) {
                continue;
            }
            if (start > keyOffset && end < extentEnd) {
                //     | - range to drop - |
                //  | -------- extent -------- |
                Trees.update(h, root, key, fe.withNumBytes(start - keyOffset).encode());
                fe = fe.advance(start - keyOffset, extentEnd - start);
                key = fileExtentKey(ino, start);
                Trees.insert(h, root, key, fe.encode()); // btrfs_duplicate_item()
                if (!fe.isHole()) { // "if (update_refs && disk_bytenr > 0)"
                    Extents.incDataExtentRef(h, root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
                }
                dropped(d, fe, charge(extentEnd - keyOffset) - charge(start - keyOffset) - charge(extentEnd - start));
                keyOffset = start;
            }
            if (start <= keyOffset && end < extentEnd) {
                //  | ---- range to drop ----- |
                //      | -------- extent -------- |
                Trees.delete(h, root, key);
                Trees.insert(h, root, fileExtentKey(ino, end), fe.advance(end - keyOffset, extentEnd - end).encode());
                dropped(d, fe, charge(extentEnd - keyOffset) - charge(extentEnd - end));
                return;
            }
            if (start > keyOffset) {
                //       | ---- range to drop ----- |
                //  | -------- extent -------- |
                Trees.update(h, root, key, fe.withNumBytes(start - keyOffset).encode());
                dropped(d, fe, charge(extentEnd - keyOffset) - charge(start - keyOffset));
            } else {
                //  | ---- range to drop ----- |
                //    | ------ extent ------ |
                deleteItem(h, d, key, fe);
            }
            if (end == extentEnd) {
                return;
            }
        }
    }

    /**
     * delete_extent_item: the item goes, its data extent loses a reference (btrfs_free_extent), i_bytes its bytes — a
     * hole has neither.
     */
    void deleteItem(TransHandle h, InodeData d, Key key, FileExtentItem fe) {
        Root root = d.inode.root();
        Trees.delete(h, root, key);
        if (!fe.isHole()) {
            Extents.freeDataExtent(h, root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
        }
        dropped(d, fe, charge(fe.numBytes()));
    }

    /** inode_sub_bytes() of what a drop took from an item: only an item with a data extent counts ("disk_bytenr > 0"). */
    static void dropped(InodeData d, FileExtentItem fe, long bytes) {
        d.fileExtentsDropped(fe.isHole() ? 0 : bytes);
    }

    private static Key fileExtentKey(long ino, long offset) { return new Key(ino, ItemType.EXTENT_DATA, offset); }

    /**
     * The i_bytes an item of {@code numBytes} counts for: the port's extents are byte-granular, its i_bytes counts whole
     * sectors (what insert_reserved_file_extent added: the ordered extent's disk_num_bytes), so a drop takes away the
     * difference of the sectors before and after.
     */
    static long charge(long numBytes) { return Writeback.sectorAligned(numBytes); }

    /**
     * kernel: btrfs_remove_ordered_extent() in fs/btrfs/ordered-data.c — out of the inode's ordered tree
     * and the root's list, BTRFS_ORDERED_COMPLETE set, waiters woken.
     */
    private void remove(OrderedExtent oe) {
        oe.inode.removeOrdered(oe);
        synchronized (this) {
            all.remove(oe);
        }
        oe.markComplete();
    }

    /**
     * kernel: btrfs_put_ordered_extent() in fs/btrfs/ordered-data.c — drop a reference; the last one hands
     * the inode reference to btrfs_add_delayed_iput (queued for the cleaner if that was the inode's last)
     * and frees the ordered extent.
     */
    void put(OrderedExtent oe) {
        int r = oe.refs.decrementAndGet();
        if (r > 0) {
            return;
        }
        if (r < 0) {
            throw fs.log().bug("ordered-data.c", 403, "btrfs_put_ordered_extent of a freed " + oe);
        }
        ctx.cleaner.delayedIputs().add(oe.inode.inode);
        oe.slabObj.free();
        live.decrementAndGet();
        oe.markReleased();
    }

    /**
     * kernel: btrfs_wait_ordered_range() in fs/btrfs/ordered-data.c (whole file) — wait for every ordered
     * extent of the inode (btrfs_start_ordered_extent with wait), holding a reference on each meanwhile.
     */
    void waitOrderedRange(InodeData d) {
        for (OrderedExtent oe : d.orderedReferenced()) {
            startOrderedExtentWait(oe);
            put(oe);
        }
    }

    /**
     * kernel: btrfs_wait_ordered_range(inode, from, (u64)-1) in fs/btrfs/ordered-data.c, whole — btrfs_fdatawrite_range
     * (WB_SYNC_ALL writeback of the dirty pages from {@code from} on; its second pass waits for async chunks' page
     * locks), filemap_fdatawait_range (the port waits for all the inode's pages under writeback) with its
     * filemap_check_errors, then every ordered extent reaching past {@code from}: waited for, EIO if one failed.
     */
    void writeAndWaitOrderedRange(InodeData d, long from) {
        ctx.writeback.writeInode(d, org.jbtrfs.transaction.WbSyncMode.ALL, from, null);
        d.waitAsyncUnlocked();
        d.waitWriteback();
        Errno wbErr = d.takeError();
        boolean ioerr = false;
        for (OrderedExtent oe : d.orderedReferenced(from)) {
            startOrderedExtentWait(oe); // btrfs_start_ordered_extent(ordered, 1)
            ioerr |= oe.ioerr();
            put(oe);
        }
        if (wbErr != null || ioerr) {
            Errno e = wbErr != null ? wbErr : Errno.EIO;
            throw new BtrfsException(e, "btrfs_wait_ordered_range of inode " + d.inode.ino() + ": writeback error");
        }
    }

    /** kernel: btrfs_wait_ordered_roots(fs_info, U64_MAX, 0, (u64)-1) — every ordered extent of every root. */
    void waitOrderedRoots() { waitOrderedRoots(Long.MAX_VALUE); }

    /**
     * kernel: btrfs_wait_ordered_roots(fs_info, nr, 0, (u64)-1) in fs/btrfs/ordered-data.c — under
     * ordered_operations_mutex, splice fs_info->ordered_roots and wait for up to {@code nr} ordered extents root by
     * root ({@link #waitOrderedExtents}; {@link Long#MAX_VALUE} is U64_MAX: all of them). Returns as soon as each
     * waited extent is COMPLETE and its flush work has said so: a finisher may still hold its references (the window
     * after btrfs_remove_ordered_extent). The port's only range is the whole disk (every caller's).
     */
    void waitOrderedRoots(long nr) {
        orderedOperationsMutex.lock();
        try {
            for (Root root : orderedRoots()) {
                if (nr == 0) {
                    break;
                }
                long done = waitOrderedExtents(root, nr);
                if (nr != Long.MAX_VALUE) {
                    nr -= done;
                }
            }
        } finally {
            orderedOperationsMutex.unlock();
        }
    }

    /**
     * The roots with ordered extents, in the order of their oldest (fs_info->ordered_roots: a root joins its tail with
     * its first ordered extent and leaves with its last), as btrfs_wait_ordered_roots' splice takes them.
     */
    private synchronized List<Root> orderedRoots() {
        Set<Root> roots = new LinkedHashSet<>();
        for (OrderedExtent oe : all) {
            roots.add(oe.inode.inode.root());
        }
        return new ArrayList<>(roots);
    }

    /**
     * kernel: btrfs_wait_ordered_extents(root, nr, 0, (u64)-1) — under the root's ordered_extent_mutex, splice its
     * ordered_extents list; for up to {@code nr} of them (each moved to the list's tail, so the next partial wait
     * starts elsewhere): take a reference and queue the extent's flush_work on flush_workers
     * ({@link #runOrderedExtentWork}). Then wait for each work's completion and drop the reference — the waiter's put,
     * which is the last when the finisher dropped its own meanwhile: then it hands the inode to
     * btrfs_add_delayed_iput. An extent removed while the loop runs is off the splice (btrfs_remove_ordered_extent's
     * list_del_init) and not waited for; one added after the splice is not either. Returns how many were waited for.
     */
    long waitOrderedExtents(Root root, long nr) {
        Mutex mutex = orderedExtentMutexes.computeIfAbsent(root.objectid(),
            id -> new Mutex("ordered_extent_mutex", fs.kernel.lockdep(), "&root->ordered_extent_mutex"));
        mutex.lock();
        try {
            List<OrderedExtent> splice;
            synchronized (this) {
                splice = all.stream().filter(oe -> oe.inode.inode.root() == root).toList();
            }
            List<OrderedExtent> works = new ArrayList<>();
            for (OrderedExtent oe : splice) {
                if (nr == 0) {
                    break;
                }
                synchronized (this) {
                    if (!all.remove(oe)) {
                        continue; // removed meanwhile: off the splice
                    }
                    all.add(oe); // list_move_tail to root->ordered_extents
                    oe.refs.incrementAndGet();
                }
                works.add(oe);
                fs.workqueues().flushWorkers.queueWork(new BtrfsWork(() -> runOrderedExtentWork(oe)));
                if (nr != Long.MAX_VALUE) {
                    nr--;
                }
            }
            for (OrderedExtent oe : works) {
                oe.waitForCompletion();
                put(oe);
            }
            return works.size();
        } finally {
            mutex.unlock();
        }
    }

    /**
     * kernel: btrfs_run_ordered_extent_work() — a flush_workers work: btrfs_start_ordered_extent(ordered, 1), then
     * complete(&ordered->completion). Its filemap_fdatawrite_range finds nothing to write in the port: a buffered write
     * waits for the ordered extents of its range before it dirties pages (lock_and_cleanup_extent_if_need) and there is
     * no mmap, so no page of an ordered extent's range is dirty while the extent exists. The wait is the work's, in a
     * kworker holding nothing: lockdep sees it there, not in the caller (whose wait_for_completion it cannot see).
     */
    private void runOrderedExtentWork(OrderedExtent oe) {
        startOrderedExtentWait(oe);
        oe.complete();
    }

    /**
     * kernel: btrfs_destroy_all_ordered_extents() in fs/btrfs/disk-io.c (from btrfs_cleanup_transaction, after a
     * transaction abort) — mark every ordered extent IOERR ("just short circuit the ordered completion stuff":
     * its completion inserts nothing and frees its reserved extent), then btrfs_wait_ordered_roots: a filesystem
     * flipped read-only gets no sync() from the umount, so the writeback still in flight is waited for here.
     */
    void destroyAll() {
        synchronized (this) {
            for (OrderedExtent oe : all) {
                oe.setIoerr();
            }
        }
        waitOrderedRoots();
    }

    /** fs_info->ordered_operations_mutex (tests: who waits for it). */
    Mutex orderedOperationsMutex() { return orderedOperationsMutex; }

    /** Ordered extents not yet removed: btrfs_wait_ordered_roots waits for these (inspection). */
    synchronized int pending() { return all.size(); }

    /** fs_info->ordered_bytes: the bytes of the ordered extents added and not yet removed. */
    synchronized long bytes() {
        long sum = 0;
        for (OrderedExtent oe : all) {
            sum += oe.numBytes;
        }
        return sum;
    }

    /**
     * Ordered extents not yet freed: also those removed whose finisher has not dropped its references (the
     * window after btrfs_remove_ordered_extent), each still holding its inode (inspection).
     */
    int live() { return live.get(); }
}
