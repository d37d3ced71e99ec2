package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.ctree.Ctree;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

/** Extent allocation and freeing for the layers above (extent-tree.c entry points). */
public final class Extents {
    private Extents() { }

    /**
     * kernel: btrfs_reserve_extent() + btrfs_alloc_reserved_file_extent() — reserve a data extent of
     * {@code len} bytes for inode {@code ino} of tree {@code ownerRoot}, its start at file offset {@code offset}, and
     * queue its add ref; returns its bytenr.
     */
    public static long allocDataExtent(TransHandle h, long ownerRoot, long ino, long offset, long len) {
        long bytenr = h.fsInfo.space.reserveDataExtent(len, h.newBgs);
        long rounded = ((len + 4095) / 4096) * 4096;
        DelayedRefs.addDataRef(h, bytenr, rounded, ownerRoot, ino, offset, +1, true);
        return bytenr;
    }

    /** A data extent reserved at writeback: its start and its length (the request, or less after halving). */
    public record Reserved(long bytenr, long len) { }

    /**
     * kernel: btrfs_reserve_extent() for data, from cow_file_range at writeback — no transaction handle: the bytes count
     * as reserved until the ordered extent's completion queues the extent's ref ({@link #allocReservedFileExtent}).
     * find_free_extent looks in the data block groups; when none has {@code len} contiguous bytes, its LOOP_ALLOC_CHUNK
     * joins a transaction, forces a chunk (btrfs_chunk_alloc, refused once the space_info is full) and ends the handle
     * (btrfs_create_pending_block_groups: a commit cannot run before the new group's item is inserted), then looks again;
     * still nothing, btrfs_reserve_extent halves the request — at most the longest free run found (ins->offset), at
     * least {@code minLen} — and tries again. ENOSPC when not even {@code minLen} fits.
     */
    public static Reserved reserveDataExtent(FsInfo fs, Root root, long len, long minLen) {
        long numBytes = len;
        boolean finalTried = false;
        while (true) {
            try {
                return new Reserved(findFreeDataExtent(fs, root, numBytes), numBytes);
            } catch (BtrfsException e) {
                long maxExtent = fs.space.maxDataFreeExtent();
                if (e.errno() != Errno.ENOSPC || finalTried || maxExtent == 0) {
                    throw e;
                }
                numBytes = Math.min(numBytes >> 1, maxExtent) / 4096 * 4096;
                numBytes = Math.max(numBytes, minLen);
                finalTried = numBytes == minLen;
            }
        }
    }

    /** find_free_extent() for {@code len} data bytes, with its LOOP_ALLOC_CHUNK (see {@link #reserveDataExtent}). */
    private static long findFreeDataExtent(FsInfo fs, Root root, long len) {
        try {
            return fs.space.reserveDataExtentInExistingGroups(len);
        } catch (BtrfsException e) {
            if (e.errno() != Errno.ENOSPC) {
                throw e;
            }
        }
        TransHandle h = Transactions.join(fs, root, "find_free_extent");
        try {
            fs.space.allocDataChunkForced(h.newBgs);
        } finally {
            Transactions.end(h);
        }
        return fs.space.reserveDataExtentInExistingGroups(len);
    }

    /**
     * kernel: btrfs_alloc_reserved_file_extent() (insert_reserved_file_extent, from
     * btrfs_finish_ordered_io) — queue the add ref of an extent reserved at writeback, for inode {@code ino}, its start
     * at file offset {@code offset}.
     */
    public static void allocReservedFileExtent(TransHandle h, long ownerRoot, long ino, long offset, long bytenr, long len) {
        long rounded = ((len + 4095) / 4096) * 4096;
        DelayedRefs.addDataRef(h, bytenr, rounded, ownerRoot, ino, offset, +1, true);
    }

    /** kernel: btrfs_free_reserved_extent() — an extent reserved at writeback whose ordered extent failed. */
    public static void freeReservedDataExtent(FsInfo fs, long bytenr, long len) {
        fs.space.freeReserved(bytenr, ((len + 4095) / 4096) * 4096);
    }

    /** kernel: btrfs_free_extent() for a data extent — queue the drop ref. */
    public static void freeDataExtent(TransHandle h, long ownerRoot, long bytenr, long len) {
        DelayedRefs.addDataRef(h, bytenr, len, ownerRoot, 0, 0, -1, false);
        h.blocksTouched++;
    }

    /**
     * kernel: btrfs_inc_extent_ref() for a data extent — queue an add ref: one more file extent item points into it (the
     * back part of an item btrfs_drop_extents split).
     */
    public static void incDataExtentRef(TransHandle h, long ownerRoot, long bytenr, long len) {
        DelayedRefs.addDataRef(h, bytenr, len, ownerRoot, 0, 0, +1, false);
        h.blocksTouched++;
    }

    /** kernel: btrfs_free_tree_block() of a block no longer referenced (drop_snapshot's walk). */
    public static void freeTreeBlock(TransHandle h, ExtentBuffer eb) {
        new TransTreeBlockManager(h).freeTreeBlock(eb);
    }

    /**
     * kernel: btrfs_lookup_extent_info(trans, fs_info, bytenr, level, metadata = 1, &refs, NULL) — a tree block's
     * reference count: its METADATA_ITEM's refs in the extent tree plus what the handle's transaction has queued for it
     * (a block allocated in this transaction has no item yet, only its head's +1). The search holds the extent tree
     * while it looks at the delayed refs, as the kernel's path holds the leaf; a head being run is waited for and the
     * search made again ("goto search_again").
     */
    public static long lookupTreeBlockRefs(TransHandle h, long bytenr, int level) {
        FsInfo fs = h.fsInfo;
        Root extentRoot = fs.extentRoot();
        Key key = new Key(bytenr, ItemType.METADATA_ITEM, level);
        while (true) {
            long refs;
            Integer queued;
            extentRoot.use("btrfs_search_slot");
            extentRoot.treeLock.lock();
            try {
                byte[] item = Ctree.lookup(fs.btreeInode.reader(), extentRoot.node(), key);
                refs = item == null ? 0 : ExtentItem.decode(item).refs();
                queued = h.transaction.delayedRefs.queuedRefMod(bytenr);
            } finally {
                extentRoot.treeLock.unlock();
            }
            if (queued != null) {
                return refs + queued;
            }
            h.transaction.delayedRefs.awaitRun(bytenr, fs.kernel.sched());
        }
    }

    /** Reads a tree block through the btree inode (verified). */
    public static ExtentBuffer readTreeBlock(FsInfo fs, long bytenr) { return fs.btreeInode.readTreeBlock(bytenr); }

    /** kernel: btrfs_alloc_tree_block() for the root leaf of a new tree (subvolume, quota tree). */
    public static ExtentBuffer allocRootLeaf(TransHandle h, long owner) {
        return new TransTreeBlockManager(h).allocTreeBlock(owner, 0);
    }
}
