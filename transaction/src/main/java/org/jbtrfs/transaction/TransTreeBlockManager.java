package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.TreeBlockManager;
import org.jbtrfs.transaction.ctree.TreeRoot;
import org.jbtrfs.transaction.space.SpaceManager;

/**
 * The tree-block side of one transaction handle: COW decisions, tree block allocation and freeing
 * with their delayed refs and reservations, dirtying in the transaction's dirty_pages.
 */
final class TransTreeBlockManager implements TreeBlockManager {
    private final TransHandle h;
    private final FsInfo fs;
    /** The tree whose lock the caller holds while it modifies blocks through this manager, or null. */
    private final Root tree;

    /** For blocks no other thread reaches yet (a new tree's root leaf) or frees only: no tree lock held. */
    TransTreeBlockManager(TransHandle h) {
        this(h, null);
    }

    /** For a modification of {@code tree} under its tree lock (Trees): writeback of its blocks takes that lock. */
    TransTreeBlockManager(TransHandle h, Root tree) {
        this.h = h;
        this.fs = h.fsInfo;
        this.tree = tree;
    }

    @Override public ExtentBuffer read(long bytenr) { return fs.btreeInode.readTreeBlock(bytenr); }

    @Override public java.util.function.LongFunction<ExtentBuffer> reader() { return fs.btreeInode.reader(); }

    /** kernel: should_cow_block() — a block created in this transaction and not yet written is modified in place. */
    @Override public boolean shouldCow(ExtentBuffer eb) {
        boolean cow = !(eb.generation() == h.transaction.transid && !eb.isWritten());
        if (!cow) {
            h.dirty = true; // btrfs_cow_block / btrfs_search_slot: "trans->dirty = true" when no COW is needed
        }
        return cow;
    }

    /**
     * kernel: btrfs_cow_block()'s first checks (v5.11 ctree.c): "COW'ing blocks on a fs root that's being dropped"
     * (btrfs_drop_snapshot sets BTRFS_ROOT_DELETING: its walk assumes nothing else changes the tree), and
     * {@code WARN(1, "trans %llu running %llu")} when the handle's transaction is not the running one or its transid
     * not the filesystem's generation — a change after the commit wrote the root items would not be committed.
     */
    @Override public void checkCow(TreeRoot root) {
        if (root instanceof Root r && r.state.test(RootState.DELETING)) {
            fs.log().error(fs.sbId(), "COW'ing blocks on a fs root that's being dropped");
        }
        Transaction running = fs.runningTransaction;
        if (h.transaction != running) {
            fs.log().warnOn(true, "ctree.c", 1451, "btrfs_cow_block: trans " + h.transaction.transid + " running "
                + (running == null ? "none" : Long.toString(running.transid)));
        } else if (h.transaction.transid != fs.generation) {
            fs.log().warnOn(true, "ctree.c", 1456, "btrfs_cow_block: trans " + h.transaction.transid + " running "
                + fs.generation);
        }
    }

    /** kernel: btrfs_alloc_tree_block() in fs/btrfs/extent-tree.c */
    @Override public ExtentBuffer allocTreeBlock(long owner, int level) {
        checkUsable();
        if (fs.kernel.faults().shouldFail(Fault.ALLOC_TREE_BLOCK_ENOSPC, fs.sbId())) {
            // btrfs_use_block_rsv's -ENOSPC: nothing reserved, nothing changed (the handle stays as clean as it was)
            throw new BtrfsException(Errno.ENOSPC, "btrfs_alloc_tree_block: block rsv returned -28 (injected)");
        }
        long bytenr = fs.space.reserveTreeBlock(h.newBgs);
        ExtentBuffer eb = ExtentBuffer.zeroed(bytenr);
        eb.setGeneration(h.transaction.transid);
        eb.setOwner(owner);
        eb.setLevel(level);
        eb.setFsid(fs.superCopyFsid());
        fs.btreeInode.add(eb);
        fs.btreeInode.markDirty(eb, h.transaction, tree);
        h.dirty = true; // btrfs_init_new_buffer
        DelayedRefs.addTreeRef(h, bytenr, owner, level, +1, true);
        h.blocksTouched++;
        fs.kernel.hooks().arrive(Hook.TREE_BLOCK_ALLOCATED);
        return eb;
    }

    /**
     * kernel: btrfs_free_tree_block() — queue the drop ref; a block of this transaction is cleaned first (the callers'
     * btrfs_clean_tree_block, under the buffer's lock) and, when its allocation is still queued (check_ref_cleanup),
     * given back at once: pinned until the commit if writeback wrote it (BTRFS_HEADER_FLAG_WRITTEN: the write may still be
     * in flight), else free space again — the next allocation of this transaction may take the address.
     */
    @Override public void freeTreeBlock(ExtentBuffer eb) {
        checkUsable();
        if (CommitProbe.tracing()) {
            fs.btreeInode.warnStaleFree(eb, h.transaction);
        }
        long bytenr = eb.bytenr();
        DelayedRefs.addTreeRef(h, bytenr, eb.owner(), eb.level(), -1, false);
        if (eb.generation() == h.transaction.transid) {
            fs.btreeInode.clean(eb);
            if (h.transaction.delayedRefs.cleanupRef(bytenr)) {
                if (eb.isWritten()) {
                    ExtentCommit.pinReserved(h, bytenr, SpaceManager.NODESIZE);
                } else {
                    // btrfs_add_free_space + btrfs_free_reserved_bytes; the buffer leaves the page cache before the space
                    // is free, so a new life of the address gets a buffer of its own
                    fs.btreeInode.forget(bytenr);
                    fs.space.freeReserved(bytenr, SpaceManager.NODESIZE);
                }
            }
        }
        h.blocksTouched++;
    }

    /**
     * kernel: btrfs_mark_buffer_dirty() — every change of a tree block goes through here, including a
     * change of a block already COWed in this transaction (no allocation, no free), so the handle is
     * checked here too: a handle that ended must not dirty blocks in its (maybe committed) transaction.
     */
    @Override public void markDirty(ExtentBuffer eb) {
        checkUsable();
        fs.btreeInode.markDirty(eb, h.transaction, tree);
    }

    @Override public long transid() { return h.transaction.transid; }

    @Override public void arrive(Hook hook) { fs.kernel.hooks().arrive(hook); }

    private void checkUsable() {
        if (h.isEnded()) {
            throw new IllegalStateException("tree modification through an ended transaction handle");
        }
        if (h.transaction.aborted) {
            throw new BtrfsException(Errno.EROFS, "transaction " + h.transaction.transid + " aborted");
        }
    }
}
