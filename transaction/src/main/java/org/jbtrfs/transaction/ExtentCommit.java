package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.space.BlockGroup;

/**
 * The extent-tree side of a commit (fs/btrfs/extent-tree.c): btrfs_run_delayed_refs() applying queued
 * reference changes to the extent tree (the qgroups are charged from the records instead: {@link QgroupTrace}), and btrfs_finish_extent_commit() unpinning
 * what the transaction freed once its superblock is written.
 */
final class ExtentCommit {
    private ExtentCommit() { }

    /**
     * kernel: btrfs_run_delayed_refs(trans, 0) — apply every queued head to the extent tree; a head of a bytenr another
     * run is running waits for that run to let go of it ({@link DelayedRefs#takeAll}).
     */
    static int runDelayedRefs(TransHandle h) {
        FsInfo fs = h.fsInfo;
        DelayedRefs refs = h.transaction.delayedRefs;
        int run = 0;
        List<DelayedRefHead> heads;
        while (true) {
            heads = refs.takeAll();
            if (heads.isEmpty()) {
                if (refs.awaitContended(fs.kernel.sched())) {
                    continue;
                }
                break;
            }
            int i = 0;
            try {
                for (; i < heads.size(); i++) {
                    DelayedRefHead head = heads.get(i);
                    runOneHead(h, head);
                    refs.release(head);
                    run++;
                }
            } catch (RuntimeException e) {
                // btrfs_run_delayed_refs_for_head's error: unselect_delayed_ref_head — the failed head and the ones this
                // run had not reached stay queued in the transaction, for the abort's btrfs_destroy_delayed_refs to free
                // (and to pin what they were to insert). Stop 69, port bug: they were dropped — their slab objects leaked
                // and their reserved bytes stayed reserved ("btrfs_put_block_group" WARN at umount), met once the
                // ALLOC_TREE_BLOCK_ENOSPC fault failed a COW of the extent tree inside a run
                refs.unselect(heads.subList(i, heads.size()));
                throw e;
            } finally {
                refs.stopRunning(heads); // after an error too: a lookup waiting for one of them goes on
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
                Trees.insert(h, fs.extentRoot(), key, new ExtentItem(head.refMod, h.transid(), flags, head.ownerRoot,
                    head.level, head.dataObjectid, head.dataOffset).encode());
                fs.space.allocReserved(head.bytenr, head.numBytes);
            } else {
                // cleanup_ref_head(): an extent allocated and freed in this transaction whose head btrfs_free_tree_block's
                // check_ref_cleanup did not take (a data extent; TransTreeBlockManager.freeTreeBlock gives a tree block
                // back at once) is pinned (btrfs_pin_extent with must_insert_reserved), free once this transaction commits
                pinReserved(h, head.bytenr, head.numBytes);
                if (head.isData) {
                    Csums.delete(h, head.bytenr, head.numBytes); // cleanup_ref_head: btrfs_del_csums of a data head
                }
            }
            return;
        }
        if (head.refMod == 0) {
            return;
        }
        byte[] cur = Trees.lookup(fs, fs.extentRoot(), key);
        if (cur == null) {
            throw fs.log().bug("extent-tree.c", 3030, "__btrfs_free_extent: extent " + key + " not found");
        }
        ExtentItem ei = ExtentItem.decode(cur);
        long refs = ei.refs() + head.refMod;
        if (refs > 0) {
            Trees.update(h, fs.extentRoot(), key, ei.withRefs(refs).encode());
            return;
        }
        // __btrfs_free_extent(): last ref gone — the extent is pinned until this transaction commits
        Trees.delete(h, fs.extentRoot(), key);
        if (head.isData) {
            Csums.delete(h, head.bytenr, head.numBytes); // btrfs_del_csums, before the block group's accounting
        }
        fs.space.dropUsed(head.bytenr, head.numBytes);
        synchronized (h.transaction) {
            h.transaction.pinned.put(head.bytenr, head.numBytes);
        }
    }

    /**
     * kernel: pin_down_extent() of a reserved extent (btrfs_pin_extent with reserved = 1) — its bytes move from
     * reserved to pinned and it is recorded in the transaction's pinned extents, which the commit unpins
     * ({@link #finishExtentCommit}) and an abort gives back (btrfs_destroy_pinned_extent).
     */
    static void pinReserved(TransHandle h, long bytenr, long len) {
        h.fsInfo.space.pinReserved(bytenr, len);
        synchronized (h.transaction) {
            h.transaction.pinned.put(bytenr, len);
        }
    }

    /** kernel: btrfs_finish_extent_commit() — unpin what this transaction freed, release removed chunks. */
    static void finishExtentCommit(FsInfo fs, Transaction cur) {
        Map<Long, Long> pinned;
        List<BlockGroup> deleted;
        synchronized (cur) {
            pinned = Map.copyOf(cur.pinned);
            cur.pinned.clear();
            deleted = new ArrayList<>(cur.deletedBgs);
            cur.deletedBgs.clear();
        }
        java.util.Set<BlockGroup> freed = new java.util.LinkedHashSet<>();
        fs.commitRootSem.writeLock().lock();
        try {
            for (Map.Entry<Long, Long> e : pinned.entrySet()) {
                // Drop the freed block's buffer before its space can be allocated again: this runs while
                // the next transaction already allocates (we are past UNBLOCKED), and a forget after the
                // unpin could drop the buffer that transaction just created at the same bytenr.
                fs.btreeInode.forget(e.getKey());
                freed.add(fs.space.unpin(e.getKey(), e.getValue()));
            }
        } finally {
            fs.commitRootSem.writeLock().unlock();
        }
        // btrfs_add_free_space of untrimmed space: btrfs_discard_queue_work per group; then the base delay is
        // recomputed and the work rescheduled
        for (BlockGroup bg : freed) {
            fs.discard.queueWork(bg);
        }
        if (fs.mountOpt.test(org.jbtrfs.core.kernel.MountOpt.DISCARD_ASYNC)) {
            fs.discard.calcDelay();
            fs.discard.scheduleWork(true);
        }
        for (BlockGroup bg : deleted) {
            fs.space.releaseChunk(bg);
        }
    }
}
