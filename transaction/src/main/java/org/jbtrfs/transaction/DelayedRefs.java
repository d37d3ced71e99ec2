package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    DelayedRefs(Slabs slabs, SpaceManager space) {
        this.slabs = slabs;
        this.space = space;
    }

    /** kernel: btrfs_add_delayed_tree_ref() — {@code allocation} for a new block (with its extent op). */
    synchronized void addTreeRef(long bytenr, long owner, int level, int mod, boolean allocation) {
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
    }

    /** kernel: btrfs_add_delayed_data_ref() */
    synchronized void addDataRef(long bytenr, long numBytes, long owner, int mod, boolean allocation) {
        DelayedRefHead h = head(bytenr, numBytes, true);
        h.refObjs.add(slabs.cache("btrfs_delayed_data_ref").alloc());
        h.refMod += mod;
        h.ownerRoot = owner;
        if (allocation) {
            h.mustInsertReserved = true;
        }
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

    /** Takes every queued head (the caller runs them; running may queue new ones). */
    synchronized List<DelayedRefHead> takeAll() {
        List<DelayedRefHead> l = new ArrayList<>(heads.values());
        heads.clear();
        return l;
    }

    synchronized int size() { return heads.size(); }

    /** Frees a run head's slab objects and its share of delayed_refs_rsv. */
    void release(DelayedRefHead h) {
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
