package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.SpaceReservation;
import org.jbtrfs.transaction.space.Flush;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.SpaceManager;

/**
 * The data side of one in-memory inode: the struct btrfs_inode fields the data path keeps in memory
 * (i_size, disk_i_size, i_bytes, last_trans, sync_writers) and its page cache — the address_space with
 * its io_tree: dirty (delalloc) ranges, pages under writeback, the inode's ordered extents and the
 * mapping's error. Installed on the cleaner module's {@link Inode} as its {@link Inode.Mapping}, so an
 * inode with dirty or writeback pages stays cached after its last iput (the VFS's inode LRU).
 *
 * <p>Granularity: bytes. A delalloc range starts at the byte the write started, not at a page boundary, so an
 * append never rewrites a block already written; in the kernel an append into a partly written page COWs that page.
 * Rewrites are pwrite ({@link #writeAt}), autodefrag's re-dirtied whole extents ({@link #redirtyForDefrag}), and an
 * append over items a power cut left beyond disk_i_size. The ordered extent's completion drops what its range replaces
 * (btrfs_drop_extents: deleting, trimming or splitting items, at any byte). Inline extents
 * (max_inline) are not modelled: every range becomes a regular extent.
 *
 * <p>Locking: the fields are guarded by this object. Never take the inode's own lock while holding it
 * (iput_final asks {@link #pinsInode()} under the inode lock; that method reads a volatile only).
 * Inode item updates are serialised by {@link #updateLock} and write the in-memory values, as
 * btrfs_update_inode fills the item from the in-memory inode.
 */
final class InodeData implements Inode.Mapping {
    final Inode inode;
    private final FsInfo fs;
    private final long generation;
    private final int mode;
    /** BTRFS_I(inode)->sync_writers: fsync's writeback checksums inline, not through btrfs_wq_submit_bio. */
    final AtomicInteger syncWriters = new AtomicInteger();
    /** BTRFS_INODE_IN_DEFRAG: queued for autodefrag; set and tested under {@link AutoDefrag}'s lock, cleared by its run. */
    volatile boolean inDefrag;
    /** Serialises btrfs_update_inode of this inode (the port's stand-in for the leaf lock). */
    private final Object updateLock = new Object();
    /**
     * The port's stand-in for the leaf locks a search for write holds (btrfs_search_slot with a write-locked path):
     * whoever reads this inode's file extent items to change them — __btrfs_drop_extents with the insert that follows
     * it, btrfs_truncate_inode_items — holds it from the search to the last change, so a second one searches afresh.
     * The port reads the items into a list first; without this, two ordered extents of one inode completing on two
     * endio-write workers both split the same item they read (a port bug found while porting truncate, stop 38).
     * Taken inside a transaction handle; nothing under it waits for a handle to end.
     */
    final Mutex fileExtentItemsLock = new Mutex("btrfs_tree_lock: file extent items");
    /**
     * inode->i_rwsem, held exclusively by write(2), pwrite(2) and truncate (btrfs_file_write_iter's and do_truncate's
     * inode_lock) across their waits for ordered extents and page locks. Taken before this object's monitor, never
     * while holding it.
     */
    final Mutex iRwsem;
    /**
     * BTRFS_INODE_FLUSH_ON_CLOSE: set by a truncate to size 0 (btrfs_setsize), tested and cleared by the last close of
     * a descriptor (btrfs_release_file), which then starts writeback of what was written since (filemap_flush).
     */
    final java.util.concurrent.atomic.AtomicBoolean flushOnClose = new java.util.concurrent.atomic.AtomicBoolean();

    // ---- guarded by this ----
    /** i_size: what readers see, updated at write time. */
    private long isize;
    /** disk_i_size: what the inode item says; covers only data whose file extent item exists. */
    private long diskISize;
    /** i_bytes (inode item nbytes): added when an ordered extent's file extent item is inserted. */
    private long nbytes;
    /** End of the file range covered, contiguously from 0, by file extent items (the file_extent_tree). */
    private long extentsEnd;
    /** Ranges whose file extent items exist beyond {@link #extentsEnd} (finished out of order). */
    private final TreeMap<Long, Long> extentsAfterGap = new TreeMap<>();
    /** The io_tree's EXTENT_DELALLOC ranges with their dirty pages, by file offset. */
    private final TreeMap<Long, DirtyRange> delalloc = new TreeMap<>();
    /**
     * The sectors whose data reservation the inode holds (EXTENT_DELALLOC set with its data reservation, stop 56): set by
     * a write or autodefrag's re-dirtying, cleared when cow_file_range takes them (the reservation becomes the extent's)
     * or the page cache drops them (EXTENT_CLEAR_DATA_RESV). Guarded by this.
     */
    private final java.util.BitSet dataRsv = new java.util.BitSet();
    /** Reserved bytes a re-dirtied sector held already (btrfs_dirty_pages' clear_extent_bit), for the writer to give back. */
    private long dataRsvOverlap;
    /** Bytes of pages under writeback (PageWriteback), from submission to end_page_writeback. */
    private long writebackBytes;
    /** Bytes of pages locked by a compressed write's async chunks, not yet under writeback. */
    private long lockedBytes;
    /**
     * Bytes taken for writeback whose ordered extent cow_file_range has not added yet: the kernel clears their
     * EXTENT_DELALLOC only then (extent_clear_unlock_delalloc after btrfs_add_ordered_extent), so until then the inode
     * is still on its root's delalloc list ({@link #onDelallocList}).
     */
    private long cowPendingBytes;
    /**
     * The file ranges of those pages and of an async chunk's locked pages, start to end: what lock_page would wait for
     * (a write into them waits, {@link #writeAt}).
     */
    private final TreeMap<Long, Long> lockedRanges = new TreeMap<>();
    /**
     * An abort's btrfs_destroy_delalloc_inodes took the inode off its root's delalloc list (__btrfs_del_delalloc_inode:
     * BTRFS_INODE_IN_DELALLOC_LIST cleared) with its delalloc bytes left — its dirty pages stay, invalidate_inode_pages2
     * cannot drop them. Cleared when new delalloc is set (btrfs_set_delalloc_extent adds the inode again).
     */
    private boolean offDelallocList;
    /**
     * Changes to the inode's file extent items so far (inserted or dropped): the defragger reads the items, then
     * re-dirties their range; a change in between makes what it read stale ({@link #redirtyForDefrag}).
     */
    private long extentChanges;
    /** The inode's ordered_tree: ordered extents not yet removed, by file offset. */
    private final TreeMap<Long, OrderedExtent> ordered = new TreeMap<>();
    /** BTRFS_I(inode)->last_trans: the transaction that last updated the inode item. */
    private long lastTrans;
    /** The mapping's writeback error (AS_EIO / AS_ENOSPC), reported once by fsync. */
    private Errno error;

    /** Volatile mirror of "dirty or under writeback", read lock-free by {@link #pinsInode()}. */
    private volatile boolean pins;

    private InodeData(Inode inode, FsInfo fs, InodeItem item) {
        this.inode = inode;
        this.fs = fs;
        this.iRwsem = new Mutex("i_rwsem", fs.kernel.lockdep(), "&sb->s_type->i_mutex_key");
        this.generation = item.generation();
        this.mode = item.mode();
        this.isize = item.size();
        this.diskISize = item.size();
        this.extentsEnd = item.size();
        this.nbytes = item.nbytes();
        // btrfs_read_locked_inode(): last_trans from the item's transid
        this.lastTrans = item.transid();
    }

    /**
     * The data side of {@code inode}, read from its inode item on first use (btrfs_read_locked_inode: btrfs_fill_inode
     * takes the copy still queued in the delayed node first).
     */
    static InodeData of(FsInfo fs, Inode inode) {
        return (InodeData) inode.mapping(in -> {
            byte[] b = fs.delayedInodes.readInodeItem(in.root(), in.ino());
            if (b == null) {
                throw new BtrfsException(Errno.ENOENT, "inode item " + in.ino() + " of root " + in.root().objectid() + " gone");
            }
            InodeItem item = InodeItem.decode(b);
            if (item.isDir()) {
                // a port invariant, not a kernel check: the page-cache state is a regular file's; a directory's i_size
                // lives in its inode item (DirEntries). Stop 68: class 96d7fd75 (a directory's i_size too large by what
                // looks like an append's length) is looked for here — a directory reaching this path says which one
                throw new IllegalStateException("port invariant: page-cache state asked for directory inode " + in.ino()
                    + " of root " + in.root().objectid());
            }
            return new InodeData(in, fs, item);
        });
    }

    // ---- buffered writes ------------------------------------------------------------------------

    /** Dirty pages of one delalloc range: the bytes written to [start, start + len). */
    static final class DirtyRange {
        final long start;
        private byte[] buf;
        private int len;

        DirtyRange(long start, int capacity) {
            this.start = start;
            this.buf = new byte[Math.max(capacity, 16)];
        }

        void append(byte[] data) {
            if (len + data.length > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(len + data.length, buf.length * 2));
            }
            System.arraycopy(data, 0, buf, len, data.length);
            len += data.length;
        }

        int len() { return len; }

        long end() { return start + len; }

        byte[] data() { return buf.length == len ? buf : java.util.Arrays.copyOf(buf, len); }

        /** The {@code n} bytes at {@code skip} into this range, as a range of their own. */
        DirtyRange cut(long skip, long n) {
            DirtyRange r = new DirtyRange(start + skip, (int) n);
            r.append(java.util.Arrays.copyOfRange(buf, (int) skip, (int) (skip + n)));
            return r;
        }
    }

    /**
     * kernel: btrfs_buffered_write() → btrfs_dirty_pages() — copy {@code data} into the page cache at
     * i_size, set EXTENT_DELALLOC on the range (merged with a range ending there, as the io_tree merges
     * equal states) and i_size_write the new size. Returns true if the inode was clean before (the caller
     * puts it on the superblock's dirty list: __mark_inode_dirty(I_DIRTY_PAGES)).
     */
    synchronized boolean append(byte[] data) {
        return dirty(isize, data);
    }

    /**
     * The same at {@code offset} (at most i_size: a write beyond it expands the file first, btrfs_cont_expand): the
     * bytes are copied over what the page cache holds there — dirty ranges the write meets or touches become one (the io_tree merges adjacent EXTENT_DELALLOC states) — and i_size
     * grows if the write ends beyond it. Nothing is dirtied while the range is not free yet: part of it is under an
     * ordered extent (lock_and_cleanup_extent_if_need waits for it and retries: the ordered extents are returned, each
     * with a reference for the caller), or pages of the range are locked by writeback before their ordered extent exists
     * or by an async chunk (prepare_pages' lock_page: the caller waits for them, {@link #waitPagesUnlocked}).
     */
    synchronized WriteAt writeAt(long offset, byte[] data) {
        long end = offset + data.length;
        List<OrderedExtent> in = new ArrayList<>();
        for (OrderedExtent oe : ordered.values()) {
            if (oe.fileOffset < end && oe.fileOffset + oe.numBytes > offset) {
                oe.refs.incrementAndGet(); // btrfs_lookup_ordered_range
                in.add(oe);
            }
        }
        if (!in.isEmpty()) {
            return new WriteAt(false, false, in);
        }
        if (locked(offset, end)) {
            return new WriteAt(false, false, List.of());
        }
        return new WriteAt(true, dirty(offset, data), List.of());
    }

    /**
     * What {@link #writeAt} did: dirtied the range ({@code wasClean}: the inode had no dirty range before), or found
     * ordered extents to wait for (each with a reference), or, with none, locked pages to wait for.
     */
    record WriteAt(boolean dirtied, boolean wasClean, List<OrderedExtent> waitFor) { }

    /** lock_page on [start, end): waits until writeback (before its ordered extent) or an async chunk let the pages go. */
    synchronized void waitPagesUnlocked(long start, long end) {
        fs.kernel.sched().waitUntil(this, "lock_page", () -> !locked(start, end));
    }

    /** btrfs_dirty_pages() for [offset, offset + data.length): the dirty ranges it meets or touches merged with it. */
    private boolean dirty(long offset, byte[] data) {
        boolean wasClean = delalloc.isEmpty();
        offDelallocList = false; // btrfs_set_delalloc_extent: btrfs_add_delalloc_inodes
        markDataReserved(offset, data.length);
        long end = offset + data.length;
        Map.Entry<Long, DirtyRange> last = delalloc.lastEntry();
        if (offset == isize && last != null && last.getValue().end() == isize) {
            last.getValue().append(data); // the common append: no copy of what is there
        } else {
            long start = offset;
            long mergedEnd = end;
            Map.Entry<Long, DirtyRange> e = delalloc.floorEntry(offset);
            if (e == null || e.getValue().end() < offset) {
                e = delalloc.ceilingEntry(offset);
            }
            List<DirtyRange> met = new ArrayList<>();
            while (e != null && e.getKey() <= end) {
                met.add(e.getValue());
                start = Math.min(start, e.getKey());
                mergedEnd = Math.max(mergedEnd, e.getValue().end());
                e = delalloc.higherEntry(e.getKey());
            }
            byte[] bytes = new byte[(int) (mergedEnd - start)];
            for (DirtyRange r : met) {
                System.arraycopy(r.data(), 0, bytes, (int) (r.start - start), r.len());
                delalloc.remove(r.start);
            }
            System.arraycopy(data, 0, bytes, (int) (offset - start), data.length);
            DirtyRange merged = new DirtyRange(start, bytes.length);
            merged.append(bytes);
            delalloc.put(start, merged);
        }
        isize = Math.max(isize, end);
        updatePins();
        return wasClean;
    }

    /**
     * The delalloc ranges, taken for writeback: EXTENT_DELALLOC cleared and the pages set under writeback
     * (extent_write_cache_pages → writepage_delalloc / extent_clear_unlock_delalloc).
     */
    synchronized List<DirtyRange> takeDelallocForWriteback(long from) {
        List<DirtyRange> l = takeDelalloc(from);
        writebackBytes += bytes(l);
        cowPendingBytes += bytes(l);
        updatePins();
        return l;
    }

    /**
     * cow_file_range's extent_clear_unlock_delalloc for the {@code len} bytes at {@code start}: EXTENT_DELALLOC cleared
     * (ordered extent added, or failed), the pages unlocked.
     */
    synchronized void cowDone(long start, long len) {
        cowPendingBytes -= len;
        unlockRange(start, len);
        notifyAll(); // a write waiting in lock_page
    }

    /**
     * Whether the kernel's inode would be on its root's delalloc_inodes list (delalloc bytes left): dirty ranges, pages
     * taken by writeback before their ordered extent, or an async chunk's locked pages (EXTENT_DELALLOC stays set until
     * the chunk's submit step runs cow_file_range). btrfs_destroy_all_delalloc_inodes visits exactly these.
     */
    synchronized boolean onDelallocList() {
        return !offDelallocList && (!delalloc.isEmpty() || cowPendingBytes > 0 || lockedBytes > 0);
    }

    /** __btrfs_del_delalloc_inode() from an abort's btrfs_destroy_delalloc_inodes: off the list, its bytes kept. */
    synchronized void takeOffDelallocList() { offDelallocList = true; }

    /**
     * end_page_writeback() for {@code len} bytes; returns true when no page of the inode is under writeback or locked
     * by an async chunk (the inode leaves s_inodes_wb).
     */
    synchronized boolean endWriteback(long len) {
        writebackBytes -= len;
        updatePins();
        notifyAll();
        return writebackBytes == 0 && lockedBytes == 0;
    }

    synchronized boolean underWriteback() { return writebackBytes > 0; }

    /**
     * The delalloc ranges, taken for a compressed write's async chunks (cow_file_range_async): EXTENT_DELALLOC
     * cleared, the pages locked (and still tagged dirty) until the chunk's submit step puts them under writeback
     * ({@link #unlockAsync}): filemap_fdatawait does not wait for them, a sync does ({@link #waitLockedAndWriteback}).
     */
    synchronized List<DirtyRange> takeDelallocForAsync(long from) {
        List<DirtyRange> l = takeDelalloc(from);
        lockedBytes += bytes(l);
        updatePins();
        return l;
    }

    /**
     * The dirty ranges from file offset {@code from} on (0: all): a range that starts before it is cut there, its front
     * staying dirty (writeback of a file range, filemap_fdatawrite_range, starts at the page of {@code from}).
     */
    private List<DirtyRange> takeDelalloc(long from) {
        splitDirtyAt(from);
        List<DirtyRange> l = new ArrayList<>(delalloc.tailMap(from, true).values());
        delalloc.tailMap(from, true).clear();
        List<DirtyRange> taken = new ArrayList<>(l.size());
        for (DirtyRange r : l) {
            // __extent_writepage: a page wholly beyond i_size is not written but invalidated, one holding it is written
            // up to it — dirty bytes lie beyond i_size only while a truncate, which set i_size first, waits for the
            // page locks before it drops them (truncatePagecache)
            if (r.start >= isize) {
                continue;
            }
            DirtyRange w = r.end() > isize ? r.cut(0, isize - r.start) : r;
            lockedRanges.put(w.start, w.end()); // locked (lock_page) from here until their extent_clear_unlock_delalloc
            taken.add(w);
        }
        return taken;
    }

    // ---- the data reservation of the delalloc sectors (delalloc-space.c, 5.11; stop 56) --------------------------------

    /**
     * kernel: btrfs_check_data_free_space()'s range — the sectors [round_down(start), round_up(start + len)) a write of
     * {@code len} bytes at {@code start} reserves.
     */
    static long dataRsvBytes(long start, long len) {
        return Writeback.sectorAligned(start + len) - Writeback.sectorStart(start);
    }

    /**
     * btrfs_dirty_pages(): clear_extent_bit(EXTENT_DELALLOC | EXTENT_DO_ACCOUNTING) over the write's sectors — those
     * reserved already give their reservation back ({@link #takeDataRsvOverlap}) — then set_extent_delalloc: the write's
     * reservation is the sectors' now (caller holds this).
     */
    private void markDataReserved(long start, long len) {
        int from = (int) (Writeback.sectorStart(start) / BlockGroup.SECTOR);
        int to = (int) (Writeback.sectorAligned(start + len) / BlockGroup.SECTOR);
        int already = dataRsv.get(from, to).cardinality();
        dataRsvOverlap += (long) already * BlockGroup.SECTOR;
        dataRsv.set(from, to);
    }

    /**
     * kernel: btrfs_check_data_free_space() (delalloc-space.c, 5.11) for {@code len} bytes at {@code offset} — the
     * sectors' bytes from the DATA space_info (BTRFS_RESERVE_FLUSH_DATA: a full data space waits for the async data
     * reclaim work, which allocates a chunk or flushes; ENOSPC when nothing helps). Qgroup data reservations are not
     * modelled. Returns the bytes reserved, for {@link #releaseData}.
     */
    long reserveData(long offset, long len) {
        long bytes = dataRsvBytes(offset, len);
        SpaceReservation.reserveDataBytes(fs, bytes);
        return bytes;
    }

    /**
     * After btrfs_dirty_pages (or set_extent_defrag): the reservation the sectors held already goes back
     * (clear_extent_bit with EXTENT_DO_ACCOUNTING); nothing dirtied gives back all {@code reserved}
     * (btrfs_free_reserved_data_space).
     */
    void releaseData(boolean dirtied, long reserved) {
        freeDataRsv(dirtied ? takeDataRsvOverlap() : reserved);
    }

    /**
     * kernel: btrfs_delalloc_reserve_metadata() (delalloc-space.c, 5.11) for {@code len} bytes — its extent, checksum
     * leaves and inode update, with BTRFS_RESERVE_FLUSH_ALL; into the inode's block_rsv until {@link #metaRsvWriteEnd}.
     */
    void reserveDelallocMetadata(long len) {
        long meta = metaReserveForWrite(len);
        SpaceReservation.reserveMetadataBytes(fs, meta, Flush.FLUSH_ALL);
        metaRsvWriteStart(meta);
    }

    /** The bytes of data reservation the last writes found already held by their sectors (to free; reset to 0). */
    synchronized long takeDataRsvOverlap() {
        long o = dataRsvOverlap;
        dataRsvOverlap = 0;
        return o;
    }

    /**
     * cow_file_range for [start, start + len): the reservation its sectors hold is the extent's now (btrfs_add_reserved_bytes
     * moves it to bytes_reserved; a failure frees it: EXTENT_CLEAR_DATA_RESV) — returns its bytes, the sectors cleared.
     */
    synchronized long takeDataRsv(long start, long len) {
        return clearDataRsv(Writeback.sectorStart(start), Writeback.sectorAligned(start + len));
    }

    /** Clears the reserved sectors in [from, to) (byte offsets, sector aligned; caller holds this); returns their bytes. */
    private long clearDataRsv(long from, long to) {
        if (to <= from) {
            return 0;
        }
        int a = (int) (from / BlockGroup.SECTOR);
        int b = (int) Math.min(Integer.MAX_VALUE, to / BlockGroup.SECTOR);
        long n = dataRsv.get(a, b).cardinality();
        dataRsv.clear(a, b);
        return n * BlockGroup.SECTOR;
    }

    /** btrfs_invalidatepage's EXTENT_CLEAR_DATA_RESV: the dropped sectors' data reservation back to the space_info. */
    void freeDataRsv(long bytes) {
        fs.space.reservations.freeDataBytesMayUse(bytes);
    }

    /** The dirty range holding file offset {@code at}, if any, becomes two: [start, at) and [at, end). */
    private void splitDirtyAt(long at) {
        Map.Entry<Long, DirtyRange> before = delalloc.lowerEntry(at);
        if (before != null && before.getValue().end() > at) {
            DirtyRange r = before.getValue();
            delalloc.put(r.start, r.cut(0, at - r.start));
            delalloc.put(at, r.cut(at - r.start, r.end() - at));
        }
    }

    /** The pages of [start, start + len) unlocked: cut out of {@link #lockedRanges} (a chunk unlocks part of a range). */
    private void unlockRange(long start, long len) {
        long end = start + len;
        Map.Entry<Long, Long> e = lockedRanges.floorEntry(start);
        if (e == null || e.getValue() <= start) {
            return;
        }
        lockedRanges.remove(e.getKey());
        if (e.getKey() < start) {
            lockedRanges.put(e.getKey(), start);
        }
        if (end < e.getValue()) {
            lockedRanges.put(end, e.getValue());
        }
    }

    /** Whether a page of [start, end) is locked by writeback before its ordered extent or by an async chunk. */
    private boolean locked(long start, long end) {
        Map.Entry<Long, Long> e = lockedRanges.lowerEntry(end);
        return e != null && e.getValue() > start;
    }

    private static long bytes(List<DirtyRange> ranges) {
        return ranges.stream().mapToLong(DirtyRange::len).sum();
    }

    /**
     * extent_clear_unlock_delalloc() of an async chunk's pages: {@code writeback} — set under writeback, then
     * unlocked (the ordered extent exists); otherwise unlocked with writeback started and ended at once (the extent
     * could not be reserved). Returns true when no page is left under writeback or locked.
     */
    synchronized boolean unlockAsync(long start, long len, boolean writeback) {
        lockedBytes -= len;
        unlockRange(start, len);
        if (writeback) {
            writebackBytes += len;
        }
        updatePins();
        notifyAll();
        return writebackBytes == 0 && lockedBytes == 0;
    }

    /**
     * A sync's wait for this inode (sync_inodes_sb): write_cache_pages' lock_page on the pages still tagged dirty —
     * an async chunk's, locked until its submit step put them under writeback — then wait_sb_inodes' wait for
     * writeback.
     */
    synchronized void waitLockedAndWriteback() {
        fs.kernel.sched().waitUntil(this, "filemap_fdatawait", () -> lockedBytes == 0 && writebackBytes == 0);
    }

    /** The second filemap_fdatawrite_range of btrfs_fdatawrite_range: lock_page waits until the async chunks let go. */
    synchronized void waitAsyncUnlocked() {
        fs.kernel.sched().waitUntil(this, "lock_page: async chunk", () -> lockedBytes == 0);
    }

    /** kernel: filemap_fdatawait() — wait until no page of this inode is under writeback. */
    synchronized void waitWriteback() {
        fs.kernel.sched().waitUntil(this, "filemap_fdatawait", () -> writebackBytes == 0);
    }

    synchronized boolean isDirty() { return !delalloc.isEmpty(); }

    /** This inode's share of fs_info->delalloc_bytes: the bytes of its dirty ranges. */
    synchronized long delallocBytes() {
        long sum = 0;
        for (DirtyRange r : delalloc.values()) {
            sum += r.len();
        }
        return sum;
    }

    /** What {@link #redirtyForDefrag} did. */
    enum Redirtied { WAS_CLEAN, WAS_DIRTY, OVERLAP }

    /**
     * Autodefrag's cluster_pages_for_defrag(): the bytes of whole extents at {@code start}, read back, marked delalloc and
     * dirty again (set_extent_defrag) so writeback rewrites them as one extent. Nothing is done (OVERLAP) when part of
     * the range is dirty already or under an ordered extent: that writeback rewrites it anyway.
     */
    synchronized Redirtied redirtyForDefrag(long start, byte[] data, long extentChangesSeen) {
        long end = start + data.length;
        if (extentChangesSeen != extentChanges || lockedBytes > 0 || writebackBytes > 0) {
            // the cluster's file extent items changed since the defragger read them, or pages of the inode left the dirty
            // ranges and are locked by an async chunk or under writeback — from before their ordered extent exists until
            // its items replace what the defragger read: the kernel's cluster_pages_for_defrag would wait for those pages
            // and rewrite its range anyway from the page cache; the port read the cluster's bytes from the items it
            // saw, which are stale now, so it leaves the cluster to a later pass
            return Redirtied.OVERLAP;
        }
        Map.Entry<Long, DirtyRange> before = delalloc.floorEntry(start);
        Map.Entry<Long, DirtyRange> after = delalloc.ceilingEntry(start);
        if (before != null && before.getValue().end() > start || after != null && after.getKey() < end) {
            return Redirtied.OVERLAP;
        }
        for (OrderedExtent oe : ordered.values()) {
            if (oe.fileOffset < end && oe.fileOffset + oe.numBytes > start) {
                return Redirtied.OVERLAP;
            }
        }
        boolean wasClean = delalloc.isEmpty();
        offDelallocList = false; // btrfs_set_delalloc_extent: btrfs_add_delalloc_inodes
        markDataReserved(start, data.length);
        DirtyRange r = new DirtyRange(start, data.length);
        r.append(data);
        delalloc.put(start, r);
        updatePins();
        return wasClean ? Redirtied.WAS_CLEAN : Redirtied.WAS_DIRTY;
    }

    /** btrfs_drop_extents()' inode_sub_bytes() for the file extent bytes a write replaced (the port's sector charge). */
    synchronized void fileExtentsDropped(long bytes) {
        nbytes -= bytes;
        extentChanges++;
    }

    /** How many times the inode's file extent items changed so far (see {@link #redirtyForDefrag}). */
    synchronized long extentChanges() { return extentChanges; }

    /** disk_i_size. */
    synchronized long diskISize() { return diskISize; }

    synchronized long isize() { return isize; }

    /** mapping_set_error() */
    synchronized void setError(Errno e) {
        if (error == null) {
            error = e;
        }
    }

    /** filemap_check_errors(): the error since the last check, cleared. */
    synchronized Errno takeError() {
        Errno e = error;
        error = null;
        return e;
    }

    // ---- ordered extents ------------------------------------------------------------------------

    synchronized void addOrdered(OrderedExtent oe) { ordered.put(oe.fileOffset, oe); }

    /**
     * btrfs_remove_ordered_extent(): out of the ordered tree, then btrfs_delalloc_release_metadata of its bytes (its
     * extent and checksums no longer count in the inode's reservation).
     */
    void removeOrdered(OrderedExtent oe) {
        synchronized (this) {
            ordered.remove(oe.fileOffset, oe);
        }
        releaseMetaExcess();
    }

    /** The inode's ordered extents, each with a new reference for the caller (btrfs_lookup_first_ordered_extent). */
    synchronized List<OrderedExtent> orderedReferenced() {
        return orderedReferenced(0);
    }

    /** The same for those that end after file offset {@code from}. */
    synchronized List<OrderedExtent> orderedReferenced(long from) {
        List<OrderedExtent> l = new ArrayList<>();
        for (OrderedExtent oe : ordered.values()) {
            if (oe.fileOffset + oe.numBytes > from) {
                oe.refs.incrementAndGet();
                l.add(oe);
            }
        }
        return l;
    }

    // ---- truncate -------------------------------------------------------------------------------

    /**
     * kernel: truncate_setsize() → truncate_pagecache() — i_size_write({@code newSize}), then the page cache beyond it
     * goes: each page is locked first (lock_page waits for pages writeback took before their ordered extent and for an
     * async chunk's), dirty ones are thrown away unwritten, and the dirty range holding the new end keeps its front.
     * Pages under writeback beyond it belong to ordered extents btrfs_truncate waits for next.
     */
    void truncatePagecache(long newSize) {
        long dropped;
        synchronized (this) {
            isize = newSize;
            fs.kernel.sched().waitUntil(this, "truncate_inode_pages: lock_page", () -> !locked(newSize, Long.MAX_VALUE));
            splitDirtyAt(newSize);
            delalloc.tailMap(newSize, true).clear();
            // the pages wholly beyond the new size go; the one holding it stays (zeroed past it), with its delalloc
            dropped = clearDataRsv(Writeback.sectorAligned(newSize), Long.MAX_VALUE);
            updatePins();
        }
        freeDataRsv(dropped); // btrfs_invalidatepage: EXTENT_CLEAR_DATA_RESV of the dropped delalloc
        releaseMetaExcess(); // btrfs_invalidatepage: EXTENT_CLEAR_META_RESV of the dropped delalloc
    }

    /** btrfs_setsize after a failed btrfs_truncate: i_size_write(inode, BTRFS_I(inode)->disk_i_size). */
    synchronized void isizeFromDisk() {
        isize = diskISize;
    }

    /** i_size_write() of an expanding truncate (btrfs_setsize, after btrfs_cont_expand put holes up to it). */
    synchronized void expandISize(long newSize) {
        isize = Math.max(isize, newSize);
    }

    /** insert_reserved_file_extent(): inode_add_bytes() and btrfs_inode_set_file_extent_range(). */
    synchronized void fileExtentInserted(OrderedExtent oe) {
        nbytes += oe.diskNumBytes;
        fileExtentRangeSet(oe.fileOffset, oe.numBytes);
    }

    /** kernel: btrfs_inode_set_file_extent_range() — [start, start + len) has file extent items (a hole's too). */
    synchronized void fileExtentRangeSet(long start, long len) {
        extentChanges++;
        extentsAfterGap.merge(start, start + len, Math::max);
        Map.Entry<Long, Long> next;
        while ((next = extentsAfterGap.firstEntry()) != null && next.getKey() <= extentsEnd) {
            extentsEnd = Math.max(extentsEnd, next.getValue());
            extentsAfterGap.remove(next.getKey());
        }
    }

    /**
     * kernel: btrfs_inode_clear_file_extent_range(inode, from, (u64)-1) — btrfs_truncate_inode_items dropped the items
     * from {@code from} on.
     */
    synchronized void fileExtentRangeClear(long from) {
        extentChanges++;
        extentsEnd = Math.min(extentsEnd, from);
        extentsAfterGap.tailMap(from, true).clear();
        extentsAfterGap.replaceAll((start, end) -> Math.min(end, from)); // ranges set separately may overlap
    }

    /**
     * kernel: btrfs_inode_safe_disk_i_size_write(inode, 0) — disk_i_size becomes i_size, capped at the end
     * of the range covered contiguously from 0 by file extent items: a file extent finished ahead of an
     * earlier one does not move it past the gap.
     */
    synchronized void safeDiskISizeWrite() {
        safeDiskISizeWrite(0);
    }

    /** The same with {@code newISize} instead of i_size (0: i_size), as btrfs_truncate_inode_items passes last_size. */
    synchronized void safeDiskISizeWrite(long newISize) {
        diskISize = Math.min(newISize == 0 ? isize : newISize, extentsEnd);
    }

    /**
     * kernel: btrfs_update_inode() — queue the in-memory inode (disk_i_size, i_bytes, i_nlink) as its inode item
     * (btrfs_delayed_update_inode: the commit or a delayed-meta work writes it), and record {@code h}'s transaction
     * in last_trans.
     */
    void updateInode(TransHandle h) {
        synchronized (updateLock) {
            long size;
            long bytes;
            synchronized (this) {
                size = diskISize;
                bytes = nbytes;
                lastTrans = Math.max(lastTrans, h.transid());
            }
            int nlink = inode.nlink();
            fs.delayedInodes.updateInode(inode.root(), inode.ino(), new InodeItem(generation, h.transid(), size, bytes, nlink, mode).encode());
        }
    }

    /** BTRFS_I(inode)->last_trans. */
    synchronized long lastTrans() { return lastTrans; }

    /** What readers see beyond the file extent items: the data of ordered extents and of dirty ranges. */
    synchronized List<Pending> pendingData() {
        List<Pending> l = new ArrayList<>();
        for (OrderedExtent oe : ordered.values()) {
            l.add(new Pending(oe.fileOffset, oe.data()));
        }
        for (DirtyRange r : delalloc.values()) {
            l.add(new Pending(r.start, r.data()));
        }
        return l;
    }

    /** Bytes at a file offset still in the page cache. */
    record Pending(long offset, byte[] data) { }

    // ---- Inode.Mapping --------------------------------------------------------------------------

    @Override
    public boolean pinsInode() { return pins; }

    /**
     * kernel: truncate_inode_pages_final() (evict_inode_truncate_pages) — the inode is being evicted: its
     * dirty pages are thrown away unwritten; pages under writeback are waited for first.
     */
    @Override
    public void truncateFinal() {
        long dropped;
        synchronized (this) {
            fs.kernel.sched().waitUntil(this, "truncate_inode_pages_final: page writeback",
                () -> writebackBytes == 0 && lockedBytes == 0);
            delalloc.clear();
            dropped = clearDataRsv(0, Long.MAX_VALUE);
            updatePins();
        }
        freeDataRsv(dropped); // btrfs_invalidatepage: EXTENT_CLEAR_DATA_RESV of the dropped delalloc
        releaseMetaExcess(); // btrfs_invalidatepage: EXTENT_CLEAR_META_RESV of the dropped delalloc
    }

    // ---- the inode's metadata reservation (delalloc-space.c, 5.11) ------------------------------------------------

    /**
     * BTRFS_I(inode)->block_rsv.reserved: metadata reserved for its delalloc and ordered extents; its size is derived
     * ({@link #rsvSizeLocked}). Guarded by this.
     */
    private long rsvReserved;
    /** Writes between btrfs_delalloc_reserve_metadata and btrfs_delalloc_release_extents (their extent counted). */
    private int writesReserving;

    /** kernel: btrfs_calc_metadata_size(fs_info, 1) — nodesize * BTRFS_MAX_LEVEL. */
    static final long METADATA_SIZE_ONE = SpaceManager.NODESIZE * 8L;

    /**
     * kernel: btrfs_csum_bytes_to_leaves() — checksum leaves for {@code csumBytes} of data: 4-byte crc32c items in 16 KiB
     * leaves (BTRFS_MAX_ITEM_SIZE / (csum_size + sizeof(struct btrfs_item)) sectors a leaf).
     */
    static long csumBytesToLeaves(long csumBytes) {
        long perLeaf = (SpaceManager.NODESIZE - 101 - 25) / (4 + 25);
        long csums = csumBytes / BlockGroup.SECTOR;
        return (csums + perLeaf - 1) / perLeaf;
    }

    /**
     * kernel: calc_inode_reservations() — what btrfs_delalloc_reserve_metadata reserves for a write of {@code numBytes}:
     * its extent and checksum leaves, plus the inode update btrfs_finish_ordered_io makes.
     */
    static long metaReserveForWrite(long numBytes) {
        return (1 + csumBytesToLeaves(Writeback.sectorAligned(numBytes))) * SpaceManager.METADATA_ITEM_SIZE
            + METADATA_SIZE_ONE;
    }

    /**
     * kernel: btrfs_calculate_inode_block_rsv_size() — from outstanding_extents and csum_bytes, which the port derives
     * from the inode's state (no counter to drift): a write reserving, each delalloc range, the ranges being COWed, each
     * ordered extent not yet removed; and their bytes.
     */
    private long rsvSizeLocked() {
        long outstanding = writesReserving + delalloc.size() + (cowPendingBytes > 0 || lockedBytes > 0 ? 1 : 0) + ordered.size();
        long csumBytes = cowPendingBytes + lockedBytes + delallocBytes();
        for (OrderedExtent oe : ordered.values()) {
            csumBytes += oe.numBytes;
        }
        long size = 0;
        if (outstanding > 0) {
            size = outstanding * SpaceManager.METADATA_ITEM_SIZE + METADATA_SIZE_ONE;
        }
        return size + csumBytesToLeaves(csumBytes) * SpaceManager.METADATA_ITEM_SIZE;
    }

    /**
     * btrfs_delalloc_reserve_metadata()'s tail: {@code metaReserve} bytes, reserved by the caller, join the inode's
     * block_rsv; the write's extent counts until {@link #metaRsvWriteEnd}.
     */
    synchronized void metaRsvWriteStart(long metaReserve) {
        writesReserving++;
        rsvReserved += metaReserve;
    }

    /** kernel: btrfs_delalloc_release_extents() — the write's extent is accounted by its delalloc range now. */
    void metaRsvWriteEnd() {
        synchronized (this) {
            writesReserving--;
        }
        releaseMetaExcess();
    }

    /**
     * kernel: btrfs_inode_rsv_release() after btrfs_calculate_inode_block_rsv_size() — what the inode's block_rsv holds
     * beyond its size goes back (to the delayed-refs reserve while it is not full, else to the space_info, where a
     * waiting ticket may take it). Called where the size may have dropped: a write's end, an ordered extent removed, the
     * page cache truncated.
     */
    void releaseMetaExcess() {
        long excess;
        synchronized (this) {
            long size = rsvSizeLocked();
            excess = rsvReserved - size;
            if (excess <= 0) {
                return;
            }
            rsvReserved = size;
        }
        fs.space.rsvs.releaseExcess(excess);
    }

    private void updatePins() { pins = !delalloc.isEmpty() || writebackBytes > 0 || lockedBytes > 0; }

    @Override
    public String toString() { return inode.toString(); }
}
