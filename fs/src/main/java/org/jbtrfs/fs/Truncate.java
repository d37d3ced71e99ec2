package org.jbtrfs.fs;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.WbSyncMode;

/**
 * A file's size changed: truncate(2) / ftruncate(2) through btrfs_setattr → btrfs_setsize, and the expansion a write
 * beyond the end of the file does first (btrfs_cont_expand) — fs/btrfs/inode.c, v5.10. The filesystem has no
 * NO_HOLES feature (mkfs of btrfs-progs 5.10), so a range a file expands over gets a hole item (disk_bytenr 0).
 *
 * <p>Granularity: the port's file extents are byte-granular ({@link InodeData}): a hole starts at the old i_size,
 * not at the sector after it, and a shrinking truncate trims the item it cuts to the new size, not to the sector that
 * holds it. So btrfs_truncate_block — zeroing the rest of the sector that holds the old end, and writing it — has
 * nothing to do here: no item covers a byte beyond i_size, and such bytes read as zeros.
 *
 * <p>Not modelled: the snapshot lock an expanding truncate takes (btrfs_drew_write_lock: no snapshots), the block
 * reserve juggling of btrfs_truncate, and its -EAGAIN loop (be_nice ends the transaction only past 32 MiB deleted);
 * BTRFS_INODE_NEEDS_FULL_SYNC (no tree log).
 */
final class Truncate {
    private final FsContext ctx;
    private final FsInfo fs;

    Truncate(FsContext ctx) {
        this.ctx = ctx;
        this.fs = ctx.fs;
    }

    /**
     * kernel: btrfs_setattr() with ATTR_SIZE → btrfs_setsize() — under the inode's i_rwsem (do_truncate). Growing:
     * btrfs_cont_expand puts a hole up to the new size, then a transaction (1 unit) sets i_size, disk_i_size
     * (btrfs_inode_safe_disk_i_size_write) and the inode item. Shrinking, or the same size: BTRFS_INODE_FLUSH_ON_CLOSE
     * when the new size is 0, truncate_setsize (the page cache beyond it goes), btrfs_truncate; if that fails on a
     * linked file, i_size falls back to disk_i_size once the file's ordered extents are done. On success
     * btrfs_setattr's btrfs_dirty_inode updates the inode item (the times) in a joined transaction.
     */
    void setsize(InodeData d, long newSize) {
        d.iRwsem.lock();
        try {
            long oldSize = d.isize();
            if (newSize > oldSize) {
                contExpand(d, oldSize, newSize);
                TransHandle h = Transactions.start(fs, d.inode.root(), 1, "btrfs_setsize");
                try {
                    d.expandISize(newSize);
                    d.safeDiskISizeWrite();
                    d.updateInode(h);
                } finally {
                    Transactions.end(h);
                }
            } else {
                if (newSize == 0) {
                    d.flushOnClose.set(true); // "make sure any new writes to the file get on disk on close"
                }
                d.truncatePagecache(newSize);
                try {
                    truncate(d, newSize == oldSize);
                } catch (BtrfsException e) {
                    if (d.inode.nlink() > 0) {
                        // "wait for disk_i_size to be stable and then update the in-memory size to match"
                        ctx.ordered.writeAndWaitOrderedRange(d, 0);
                        d.isizeFromDisk();
                    }
                    throw e;
                }
            }
            dirtyInode(d);
        } finally {
            d.iRwsem.unlock();
        }
    }

    /**
     * kernel: btrfs_cont_expand() — before a file grows from {@code oldSize} to {@code size} (an expanding truncate, a
     * write beyond the end): wait for ordered extents in the new range (btrfs_lock_and_flush_ordered_range), then
     * maybe_insert_hole over it and mark it covered in the file extent tree (btrfs_inode_set_file_extent_range). The
     * caller holds i_rwsem. btrfs_truncate_block of the old end: nothing to zero at the port's granularity (class doc).
     */
    void contExpand(InodeData d, long oldSize, long size) {
        long holeStart = oldSize;
        if (size <= holeStart) {
            return;
        }
        for (OrderedExtent oe : d.orderedReferenced(holeStart)) {
            oe.waitComplete(); // btrfs_start_ordered_extent(ordered, 1)
            ctx.ordered.put(oe);
        }
        maybeInsertHole(d, holeStart, size - holeStart);
        d.fileExtentRangeSet(holeStart, size - holeStart);
    }

    /**
     * kernel: maybe_insert_hole() — without NO_HOLES, one transaction (3 units): btrfs_drop_extents over the range
     * (items a power cut left beyond disk_i_size), the hole item (btrfs_insert_file_extent with disk_bytenr 0), the
     * inode item; a failure of either step aborts the transaction.
     */
    private void maybeInsertHole(InodeData d, long offset, long len) {
        Root root = d.inode.root();
        TransHandle h = Transactions.start(fs, root, 3, "maybe_insert_hole");
        try {
            try {
                d.fileExtentItemsLock.lock();
                try {
                    ctx.ordered.dropExtents(h, d, offset, offset + len);
                    Trees.insert(h, root, new Key(d.inode.ino(), ItemType.EXTENT_DATA, offset), FileExtentItem.hole(len, h.transid()).encode());
                } finally {
                    d.fileExtentItemsLock.unlock();
                }
            } catch (BtrfsException e) {
                Transactions.abort(h, "maybe_insert_hole", e);
                throw e;
            }
            d.updateInode(h);
        } finally {
            Transactions.end(h);
        }
    }

    /**
     * kernel: btrfs_truncate() — unless the size did not change, btrfs_wait_ordered_range from the sector holding the
     * new end (the rest of that dirty range is written and every ordered extent reaching past it completes); then a
     * transaction (2 units) in which btrfs_truncate_inode_items drops the items beyond i_size and the inode item is
     * updated — also after a failure, which aborted the transaction.
     */
    private void truncate(InodeData d, boolean skipWriteback) {
        long newSize = d.isize();
        if (!skipWriteback) {
            ctx.ordered.writeAndWaitOrderedRange(d, Writeback.sectorStart(newSize));
        }
        TransHandle h = Transactions.start(fs, d.inode.root(), 2, "btrfs_truncate");
        BtrfsException failed = null;
        try {
            try {
                truncateInodeItems(h, d, newSize);
            } catch (BtrfsException e) {
                Transactions.abort(h, "btrfs_truncate", e);
                failed = e;
            }
            d.updateInode(h);
        } finally {
            Transactions.end(h);
            fs.delayedInodes.balance(); // btrfs_btree_balance_dirty
        }
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * kernel: btrfs_truncate_inode_items(trans, root, inode, new_size, BTRFS_EXTENT_DATA_KEY) — the file extent range
     * beyond {@code newSize} is cleared, then the items are walked from the last: one ending at or before the new size
     * stops the walk; one starting at or beyond it is deleted and its data extent loses the reference
     * (btrfs_free_extent; a hole has none), i_bytes its bytes; the one holding the new end is cut to it (num_bytes;
     * its extent keeps the reference). disk_i_size then becomes the offset of the last item deleted, capped at the new
     * size (btrfs_inode_safe_disk_i_size_write(inode, last_size)), also after a failure.
     */
    private void truncateInodeItems(TransHandle h, InodeData d, long newSize) {
        d.fileExtentRangeClear(newSize);
        long[] lastSize = {Long.MAX_VALUE}; // (u64)-1
        boolean ok = false;
        try {
            truncateItems(h, d, newSize, lastSize);
            ok = true;
        } finally {
            d.safeDiskISizeWrite(ok && lastSize[0] > newSize ? newSize : lastSize[0]);
        }
    }

    /** The walk of {@link #truncateInodeItems}, holding the items' leaf lock; {@code lastSize[0]}: the last item deleted. */
    private void truncateItems(TransHandle h, InodeData d, long newSize, long[] lastSize) {
        Root root = d.inode.root();
        long ino = d.inode.ino();
        d.fileExtentItemsLock.lock();
        try {
            List<TreeItem> items = Trees.range(fs, root, new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L));
            for (int i = items.size() - 1; i >= 0; i--) {
                Key key = items.get(i).key();
                FileExtentItem fe = FileExtentItem.decode(items.get(i).data());
                long itemEnd = key.offset() + fe.numBytes();
                if (itemEnd <= newSize) {
                    break;
                }
                if (key.offset() >= newSize) {
                    ctx.ordered.deleteItem(h, d, key, fe); // btrfs_free_extent unless a hole, inode_sub_bytes
                    lastSize[0] = key.offset();
                } else {
                    Trees.update(h, root, key, fe.withNumBytes(newSize - key.offset()).encode());
                    OrderedExtents.dropped(d, fe, OrderedExtents.charge(fe.numBytes()) - OrderedExtents.charge(newSize - key.offset()));
                }
            }
        } finally {
            d.fileExtentItemsLock.unlock();
        }
    }

    /**
     * kernel: btrfs_dirty_inode() — btrfs_setattr's update of the inode item: a joined transaction (no RO check of its
     * own: the caller holds write access), btrfs_update_inode, the end.
     */
    private void dirtyInode(InodeData d) {
        TransHandle h = Transactions.join(fs, d.inode.root(), "btrfs_dirty_inode");
        try {
            d.updateInode(h);
        } finally {
            Transactions.end(h);
        }
        fs.delayedInodes.balance(); // btrfs_balance_delayed_items
    }

    /**
     * kernel: btrfs_release_file() — the last close of a descriptor: if a truncate to 0 set FLUSH_ON_CLOSE, clear it
     * and start writeback of what was written since (filemap_flush: WB_SYNC_NONE, no wait).
     */
    void release(InodeData d) {
        if (d.flushOnClose.getAndSet(false)) {
            ctx.writeback.writeInode(d, WbSyncMode.NONE, null);
        }
    }
}
