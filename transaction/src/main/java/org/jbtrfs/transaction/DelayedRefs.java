package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.core.kernel.Slabs;
import org.jbtrfs.transaction.space.SpaceManager;

/**
 * struct btrfs_delayed_ref_root of one transaction (delayed-ref.c): reference changes queued by COW,
 * tree-block frees and file extents, applied to the extent tree when the transaction commits. Until
 * then each head holds slab objects and grows delayed_refs_rsv — which is why a transaction that is
 * never committed shows up at rmmod as objects remaining in btrfs_delayed_ref_head,
 * btrfs_delayed_tree_ref and btrfs_delayed_extent_op.
 */
final class DelayedRefs {
    private final Slabs slabs;
    private final SpaceManager space;
    private final Map<Long, DelayedRefHead> heads = new LinkedHashMap<>();
    /**
     * Heads a btrfs_run_delayed_refs has taken and not yet released: in the kernel they stay in the rbtree, their mutex
     * held while they run, and btrfs_lookup_extent_info waits for that mutex before it believes the extent tree.
     */
    private final Map<Long, DelayedRefHead> running = new java.util.HashMap<>();
    /** dirty_extent_root: the qgroup extent records of this transaction, by bytenr (unsigned, as the rbtree). */
    private final java.util.TreeMap<Long, QgroupRecord> dirtyExtents = new java.util.TreeMap<>(Long::compareUnsigned);

    DelayedRefs(Slabs slabs, SpaceManager space) {
        this.slabs = slabs;
        this.space = space;
    }

    /**
     * kernel: btrfs_add_delayed_tree_ref() — {@code allocation} for a new block (with its extent op). With quotas on and
     * a subvolume's block, a qgroup extent record is allocated first, inserted with the head (unless the extent has
     * one) and, once the delayed refs' lock is dropped, given its old roots (btrfs_qgroup_trace_extent_post).
     */
    static void addTreeRef(TransHandle h, long bytenr, long owner, int level, int mod, boolean allocation) {
        QgroupRecord rec = QgroupTrace.record(h.fsInfo, owner, bytenr, SpaceManager.NODESIZE);
        if (h.transaction.delayedRefs.insertTreeRef(bytenr, owner, level, mod, allocation, rec)) {
            QgroupTrace.post(h.fsInfo, rec);
        }
    }

    /**
     * kernel: btrfs_add_delayed_data_ref() — as {@link #addTreeRef}, for a data extent; {@code ino} and {@code offset} are
     * the data ref's key (an allocation's become the extent item's inline ref; a later ref of the same extent, a split
     * or a drop, has the same owner and key without snapshots and reflinks, and its callers pass 0).
     */
    static void addDataRef(TransHandle h, long bytenr, long numBytes, long owner, long ino, long offset, int mod, boolean allocation) {
        QgroupRecord rec = QgroupTrace.record(h.fsInfo, owner, bytenr, numBytes);
        if (h.transaction.delayedRefs.insertDataRef(bytenr, numBytes, owner, ino, offset, mod, allocation, rec)) {
            QgroupTrace.post(h.fsInfo, rec);
        }
    }

    /** add_delayed_ref_head() and the tree ref, under the lock; true if {@code rec} was inserted. */
    private synchronized boolean insertTreeRef(long bytenr, long owner, int level, int mod, boolean allocation, QgroupRecord rec) {
        DelayedRefHead h = head(bytenr, SpaceManager.NODESIZE, false);
        h.refObjs.add(slabs.cache("btrfs_delayed_tree_ref").alloc());
        h.refMod += mod;
        h.ownerRoot = owner;
        h.level = level;
        if (allocation) {
            h.mustInsertReserved = true;
            if (h.extentOp == null) {
                h.extentOp = slabs.cache("btrfs_delayed_extent_op").alloc();
            }
        }
        return traceExtentNolock(rec);
    }

    /** add_delayed_ref_head() and the data ref, under the lock; true if {@code rec} was inserted. */
    private synchronized boolean insertDataRef(long bytenr, long numBytes, long owner, long ino, long offset, int mod,
                                               boolean allocation, QgroupRecord rec) {
        DelayedRefHead h = head(bytenr, numBytes, true);
        h.refObjs.add(slabs.cache("btrfs_delayed_data_ref").alloc());
        h.refMod += mod;
        h.ownerRoot = owner;
        if (allocation) {
            h.mustInsertReserved = true;
            h.dataObjectid = ino;
            h.dataOffset = offset;
        }
        return traceExtentNolock(rec);
    }

    /** kernel: btrfs_qgroup_trace_extent_nolock() — insert the record unless the extent has one already (then it is freed). */
    private boolean traceExtentNolock(QgroupRecord rec) {
        return rec != null && dirtyExtents.putIfAbsent(rec.bytenr, rec) == null;
    }

    /** The commit's rb_first + rb_erase of dirty_extent_root: the next record by bytenr, or null. */
    synchronized QgroupRecord pollRecord() {
        var e = dirtyExtents.pollFirstEntry();
        return e == null ? null : e.getValue();
    }

    private DelayedRefHead head(long bytenr, long numBytes, boolean isData) {
        DelayedRefHead h = heads.get(bytenr);
        if (h == null) {
            h = new DelayedRefHead(bytenr, numBytes, isData, slabs.cache("btrfs_delayed_ref_head").alloc());
            heads.put(bytenr, h);
            space.rsvs.delayedRefsAddHead();
        }
        return h;
    }

    /**
     * Takes every queued head no other run is running a head of (the caller runs them; running may queue new ones).
     * The kernel keeps one head per bytenr, in the rbtree while it runs: a ref added meanwhile joins it, and the runner
     * holding its mutex runs it after the refs it had (cleanup_ref_head sees the new refs and goes round again) — no
     * other run can apply it first; btrfs_obtain_ref_head skips a head whose mutex another run holds. The port's
     * running head has left the queue, so a ref added meanwhile makes a second head, which waits here until the first
     * is released. (Stop 60, every fix applied: the async reclaim work's flush_space ran a tree block's drop while the
     * commit's run had its allocation's head and had not inserted the extent item yet — "kernel BUG at
     * extent-tree.c:3030", the extent not found, at the first run with a kworker pool that grows.)
     */
    synchronized List<DelayedRefHead> takeAll() {
        List<DelayedRefHead> l = new ArrayList<>();
        for (var it = heads.values().iterator(); it.hasNext(); ) {
            DelayedRefHead h = it.next();
            if (!running.containsKey(h.bytenr)) {
                it.remove();
                l.add(h);
            }
        }
        for (DelayedRefHead h : l) {
            running.put(h.bytenr, h);
        }
        return l;
    }

    /**
     * With nothing {@link #takeAll} can take: waits while every queued head's bytenr has a head another run is running
     * (btrfs_run_delayed_refs with run_all: "mutex was contended, block until it's released and retry"), then says
     * whether a head is queued. A run releases all its heads before it takes again, so two runs never wait for each
     * other here.
     */
    synchronized boolean awaitContended(Sched sched) {
        sched.waitUntil(this, "btrfs_run_delayed_refs: delayed ref head contended",
            () -> heads.isEmpty() || heads.keySet().stream().anyMatch(b -> !running.containsKey(b)));
        return !heads.isEmpty();
    }

    /**
     * For btrfs_lookup_extent_info, under the extent tree's lock: the net reference change queued for {@code bytenr}
     * (0 without a head), or null while a head of it is being run (the caller lets go of the tree and
     * {@link #awaitRun}s, then searches again — the kernel's mutex_lock on the head, "goto search_again").
     */
    synchronized Integer queuedRefMod(long bytenr) {
        if (running.containsKey(bytenr)) {
            return null;
        }
        DelayedRefHead h = heads.get(bytenr);
        return h == null ? 0 : h.refMod;
    }

    /**
     * Waits until no head of {@code bytenr} is being run: the kernel's uninterruptible mutex_lock on the head, a sleep
     * {@code sched} names in hang reports and a panic ends.
     */
    synchronized void awaitRun(long bytenr, Sched sched) {
        sched.waitUntil(this, "btrfs_lookup_extent_info: delayed ref head " + bytenr, () -> !running.containsKey(bytenr));
    }

    /**
     * kernel: unselect_delayed_ref_head() for a run that failed — {@code unrun} go back to the queue. A head queued for
     * the same bytenr meanwhile (the port's second head, {@link #takeAll}) takes the returned one's refs: the kernel
     * has only ever the one head. The port runs a head's refs as one net change, so a failed head comes back whole
     * (the kernel's failing ref has been consumed and its must_insert_reserved cleared; stop 69 left that difference).
     */
    synchronized void unselect(List<DelayedRefHead> unrun) {
        for (DelayedRefHead h : unrun) {
            DelayedRefHead queued = heads.get(h.bytenr);
            if (queued == null) {
                heads.put(h.bytenr, h);
                continue;
            }
            queued.refMod += h.refMod;
            queued.refObjs.addAll(h.refObjs);
            if (h.mustInsertReserved) {
                queued.mustInsertReserved = true;
                queued.ownerRoot = h.ownerRoot;
                queued.level = h.level;
                queued.dataObjectid = h.dataObjectid;
                queued.dataOffset = h.dataOffset;
            }
            if (queued.extentOp == null) {
                queued.extentOp = h.extentOp;
            } else if (h.extentOp != null) {
                h.extentOp.free();
            }
            h.headObj.free();
            space.rsvs.delayedRefsReleaseHead();
        }
    }

    /** The heads of a run that stopped (an error): no longer running, whoever waits for them goes on. */
    synchronized void stopRunning(List<DelayedRefHead> l) {
        for (DelayedRefHead h : l) {
            running.remove(h.bytenr, h);
        }
        notifyAll();
    }

    synchronized int size() { return heads.size(); }

    /**
     * kernel: check_ref_cleanup() in fs/btrfs/extent-tree.c — btrfs_free_tree_block of a block of this transaction: if
     * its queued head nets to nothing (the allocation's add and the free's drop cancelled) and nobody runs it, the head
     * is deleted and its accounting released here, and true is returned when it was to insert the reserved extent
     * (must_insert_reserved: the block was allocated in this transaction) — the caller then frees or pins the block
     * itself. False: the drop stays queued and the commit runs it.
     */
    synchronized boolean cleanupRef(long bytenr) {
        DelayedRefHead h = heads.get(bytenr);
        if (h == null || h.isData || h.refMod != 0) {
            return false;
        }
        heads.remove(bytenr);
        release(h);
        return h.mustInsertReserved;
    }

    /** Frees a run head's slab objects and its share of delayed_refs_rsv; it is no longer running. */
    void release(DelayedRefHead h) {
        synchronized (this) {
            running.remove(h.bytenr, h);
            notifyAll();
        }
        for (var o : h.refObjs) {
            o.free();
        }
        if (h.extentOp != null) {
            h.extentOp.free();
        }
        h.headObj.free();
        space.rsvs.delayedRefsReleaseHead();
    }
}
