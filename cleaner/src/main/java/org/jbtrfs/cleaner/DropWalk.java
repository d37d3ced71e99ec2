package org.jbtrfs.cleaner;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.ctree.BtrfsPath;
import org.jbtrfs.transaction.ctree.Ctree;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

/**
 * kernel: struct walk_control with walk_down_tree() / walk_up_tree() in fs/btrfs/extent-tree.c (v5.10, v5.11) — the
 * walk of btrfs_drop_snapshot() over a path from the root down, in its DROP_REFERENCE stage.
 *
 * <p>One step ({@link #walkDownTree} then {@link #walkUpTree}) goes down to the leftmost leaf not yet dropped, then up:
 * each block is freed as the walk leaves it past its last slot — a leaf with its file extents (btrfs_dec_ref), a node
 * in the step that frees its last child — and stops at the lowest node with a slot left, which is where the drop's
 * progress is recorded ({@link #dropLevel()} at least 1, {@link #dropProgress()} the key of that slot). A drop resumed
 * from the root item searches that key down to that level ({@link #resume}).
 *
 * <p>Each block's reference count is looked up as the kernel does (btrfs_lookup_extent_info: the extent tree and the
 * transaction's delayed refs) — the root's by the first walk_down_proc, every child's by do_walk_down before it is read;
 * a child with none is "Missing references.", EIO. The port has no snapshots, so every count is 1: the shared-block
 * branches (UPDATE_BACKREF, dropping a reference to a shared child, {@code check_ref_exists} of a restarted drop) have
 * nothing to act on and are not ported; a count above 1 is a port error. Tree locks are not taken:
 * BTRFS_ROOT_DELETING keeps every other writer out of a dropping tree, as the kernel's own comment relies on.
 */
final class DropWalk {
    private final FsInfo fs;
    private final Root root;
    /** path->nodes, path->slots. */
    private final ExtentBuffer[] nodes = new ExtentBuffer[BtrfsPath.MAX_LEVEL];
    private final int[] slots = new int[BtrfsPath.MAX_LEVEL];
    /** wc->refs: each path block's reference count, 0 until looked up. */
    private final long[] refs = new long[BtrfsPath.MAX_LEVEL];
    /** wc->level. */
    private int level;

    private DropWalk(FsInfo fs, Root root) {
        this.fs = fs;
        this.root = root;
    }

    /** A drop from the start (drop_progress objectid 0): the path holds the root node at slot 0. */
    static DropWalk fromRoot(FsInfo fs, Root root) {
        DropWalk wc = new DropWalk(fs, root);
        ExtentBuffer node = root.node();
        wc.level = node.level();
        wc.nodes[wc.level] = node;
        wc.slots[wc.level] = 0;
        return wc;
    }

    /**
     * A drop resumed from the root item's drop_progress and drop_level: btrfs_search_slot with lowest_level =
     * drop_level ({@link Ctree#search(java.util.function.LongFunction, ExtentBuffer, Key, int)}: each child read and
     * checked against its pointer), WARN_ON(ret > 0) if the key is not there, then the counts of the path's blocks from
     * the root down (BUG_ON 0; WARN_ON not 1 above drop_level). A drop_level of 0 is BUG_ON(level == 0): the kernel
     * never records one (a step always stops at a node).
     */
    static DropWalk resume(FsInfo fs, TransHandle h, Root root, Key progress, int dropLevel) {
        if (dropLevel == 0) {
            throw fs.log().bug("extent-tree.c", 5429, "btrfs_drop_snapshot: drop_progress " + progress + " with drop_level 0");
        }
        BtrfsPath path = Ctree.search(fs.btreeInode.reader(), root.node(), progress, dropLevel);
        fs.log().warnOn(path.searchResult() > 0, "extent-tree.c", 5437, "btrfs_drop_snapshot");
        DropWalk wc = new DropWalk(fs, root);
        for (int l = root.node().level(); l >= dropLevel; l--) {
            wc.nodes[l] = path.node(l);
            wc.slots[l] = path.slot(l);
            wc.refs[l] = Extents.lookupTreeBlockRefs(h, wc.nodes[l].bytenr(), l);
            if (wc.refs[l] == 0) {
                throw fs.log().bug("extent-tree.c", 5458, "btrfs_drop_snapshot: block " + wc.nodes[l].bytenr() + " has no references");
            }
            if (l > dropLevel) {
                fs.log().warnOn(wc.refs[l] != 1, "extent-tree.c", 5465, "btrfs_drop_snapshot");
            }
        }
        wc.level = dropLevel;
        return wc;
    }

    /**
     * kernel: walk_down_tree() — from wc->level down to a leaf: walk_down_proc (a block with one reference: go on),
     * then do_walk_down into the child at the node's slot, until a leaf, or a node with no slot left.
     */
    void walkDownTree(TransHandle h) {
        while (level >= 0) {
            walkDownProc(h);
            if (level == 0) {
                break;
            }
            if (slots[level] >= nodes[level].nritems()) {
                break;
            }
            doWalkDown(h);
        }
    }

    /**
     * kernel: walk_down_proc() in the DROP_REFERENCE stage — a block whose count is not known yet (the root of a drop
     * from the start) is looked up (BUG_ON 0); a block with one reference is walked into.
     */
    private void walkDownProc(TransHandle h) {
        if (refs[level] != 1) {
            refs[level] = Extents.lookupTreeBlockRefs(h, nodes[level].bytenr(), level);
            if (refs[level] == 0) {
                throw fs.log().bug("extent-tree.c", 4888, "walk_down_proc: block " + nodes[level].bytenr() + " has no references");
            }
        }
        requireUnshared(nodes[level].bytenr(), refs[level]);
    }

    /** A shared block (a count above 1) needs snapshots, which the port does not have: its walk would be wrong. */
    private static void requireUnshared(long bytenr, long count) {
        if (count > 1) {
            throw new IllegalStateException("tree block " + bytenr + " has " + count + " references: the port has no snapshots");
        }
    }

    /**
     * kernel: do_walk_down() — look up the count of the child the slot points to ("Missing references." and EIO when it
     * has none), read it (read_tree_block with the pointer's generation: "parent transid verify failed" is EIO), check its
     * level ("mismatched level", EIO), and put it on the path.
     */
    private void doWalkDown(TransHandle h) {
        long bytenr = nodes[level].blockPtr(slots[level]);
        refs[level - 1] = Extents.lookupTreeBlockRefs(h, bytenr, level - 1);
        if (refs[level - 1] == 0) {
            fs.log().error(fs.sbId(), "Missing references.");
            throw new BtrfsException(Errno.EIO, "Missing references. (tree block " + bytenr + ")");
        }
        requireUnshared(bytenr, refs[level - 1]);
        ExtentBuffer next = fs.btreeInode.readTreeBlock(bytenr, nodes[level].ptrGeneration(slots[level]));
        if (next.level() != level - 1) {
            fs.log().error(fs.sbId(), "mismatched level");
            throw new BtrfsException(Errno.EIO, "mismatched level: block " + next.bytenr() + " has level " + next.level()
                + ", its parent is at level " + level);
        }
        level--;
        nodes[level] = next;
        slots[level] = 0;
    }

    /**
     * kernel: walk_up_tree(..., BTRFS_MAX_LEVEL) — the block at wc->level is done; going up, a node with a slot left
     * moves to it and the step ends there (false); a node past its last slot is freed (walk_up_proc) and left. Returns
     * true once the root node itself was freed: the whole tree is gone.
     */
    boolean walkUpTree(TransHandle h) {
        slots[level] = nodes[level].nritems();
        while (level < BtrfsPath.MAX_LEVEL && nodes[level] != null) {
            if (slots[level] + 1 < nodes[level].nritems()) {
                slots[level]++;
                return false;
            }
            walkUpProc(h);
            nodes[level] = null;
            refs[level] = 0; // wc->refs[level] = 0 at walk_up_proc's end
            level++;
        }
        return true;
    }

    /**
     * kernel: walk_up_proc() for a block with one reference — a leaf drops its file extents' references first
     * (btrfs_dec_ref: every EXTENT_DATA item but a hole's; the qgroup accounting of btrfs_qgroup_trace_leaf_items happens
     * as those refs run), then btrfs_free_tree_block.
     */
    private void walkUpProc(TransHandle h) {
        ExtentBuffer eb = nodes[level];
        if (level == 0) {
            for (int slot = 0; slot < eb.nritems(); slot++) {
                Key k = eb.itemKey(slot);
                if (k.type() == ItemType.EXTENT_DATA) {
                    FileExtentItem fe = FileExtentItem.decode(eb.itemData(slot));
                    if (!fe.isHole()) { // btrfs_dec_ref skips disk_bytenr 0
                        Extents.freeDataExtent(h, root.objectid(), fe.diskBytenr(), fe.diskNumBytes());
                    }
                }
            }
        }
        Extents.freeTreeBlock(h, eb);
    }

    /** drop_level as btrfs_drop_snapshot records it after a step: wc->level. */
    int dropLevel() { return level; }

    /** drop_progress as btrfs_drop_snapshot records it after a step: the key of the slot the walk stopped at. */
    Key dropProgress() { return nodes[level].nodeKey(slots[level]); }
}
