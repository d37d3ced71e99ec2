package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.jbtrfs.cleaner.Inodes;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.WbSyncMode;
import org.jbtrfs.workqueue.AsyncSubmit;

/**
 * Writeback of one mounted filesystem, as the VFS drives it and btrfs carries it out: the superblock's
 * dirty inode list (fs/fs-writeback.c: writeback_inodes_sb, sync_inodes_sb), an inode's writepages
 * (extent_writepages → writepage_delalloc → cow_file_range, which reserves the extent and adds the
 * ordered extent) and the data bio's submission (btrfs_submit_data_bio: through btrfs_wq_submit_bio on
 * {@code fs_info->workers} unless the inode has sync_writers — fsync — whatever the crc32c driver) and
 * end (end_bio_extent_writepage: btrfs_writepage_endio_finish_ordered, then end_page_writeback).
 *
 * <p>With {@code -o compress} writeback hands each range to async chunks on {@code fs_info->delalloc_workers}
 * (cow_file_range_async): compress (async_cow_start), then in queueing order reserve the extent, add the ordered
 * extent, put the pages under writeback and submit (async_cow_submit), then drop the chunk's inode reference with
 * btrfs_add_delayed_iput (async_cow_free). The writer waits for the chunks only through the page locks of its range's
 * later pages: a one-page range's chunk outlives the writer. A sync waits for every chunk's pages — they stay locked
 * and tagged dirty until the submit step puts them under writeback (clear_page_dirty_for_io clears the page flag, not
 * the mapping's tag), so sync_inodes_sb finds the inode dirty again and its lock_page waits — but not for the chunk's
 * last step. The port compresses each chunk with zlib for the cost
 * and writes the data as given — the kernel's path for data that does not compress (submit_uncompressed_range);
 * compressed extents on disk, the heuristics and NOCOMPRESS are not modelled.
 *
 * <p>Not modelled: the flusher threads (periodic and background writeback: dirty data is written only by
 * sync, fsync, sync_file_range, RW umount and remount), data space reservation at write time (the extent
 * is reserved at writeback), compressed extents, NOCOW and NODATASUM, inline extents.
 */
final class Writeback {
    private static final int SECTOR = 4096;

    private final FsContext ctx;
    private final FsInfo fs;
    /** The superblock's dirty inodes (the bdi's b_dirty list for this sb), oldest first. Guarded by itself. */
    private final Set<InodeData> dirtyInodes = new LinkedHashSet<>();
    /** sb->s_inodes_wb: inodes with pages under writeback (each entry's change under that inode's lock). */
    private final Set<InodeData> inodesWb = ConcurrentHashMap.newKeySet();
    /** btrfs_wq_submit_bio for data: checksum in the worker, then map and write in order. */
    private final AsyncSubmit<DataBio> asyncSubmit;
    private final LongAdder inlineBios = new LongAdder();
    private final LongAdder asyncBios = new LongAdder();
    private final LongAdder asyncHighBios = new LongAdder();
    /** -o compress: the async chunks on the delalloc workqueue. */
    private final AsyncCow asyncCow;

    /** A data write bio: the pages of one ordered extent. */
    record DataBio(OrderedExtent oe, byte[] data) { }

    /** How this mount's data bios were submitted: checksummed inline (fsync) or through btrfs_wq_submit_bio. */
    record DataWriteStats(long inline, long async, long asyncHigh) { }

    Writeback(FsContext ctx) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.asyncCow = new AsyncCow(ctx, this);
        this.asyncSubmit = new AsyncSubmit<>(fs.kernel,
            bio -> {                                          // btrfs_submit_bio_start
                fs.kernel.hooks().arrive(Hook.DATA_BIO_BEFORE_CSUM);
                csumOneBio(bio);
                return null;
            },
            bio -> { mapBio(bio); return null; },           // btrfs_map_bio
            (bio, status) -> {
                fs.log().error(fs.sbId(), "data write error " + status.ret() + " at " + bio.oe().diskBytenr);
                endBio(bio, false);
            },
            null);
    }

    // ---- the superblock's inode lists --------------------------------------------------------------

    /** kernel: __mark_inode_dirty(inode, I_DIRTY_PAGES) — the inode goes on the superblock's dirty list. */
    void markInodeDirty(InodeData d) {
        synchronized (dirtyInodes) {
            dirtyInodes.add(d);
        }
    }

    private List<InodeData> takeDirtyInodes() {
        synchronized (dirtyInodes) {
            List<InodeData> l = new ArrayList<>(dirtyInodes);
            dirtyInodes.clear();
            return l;
        }
    }

    /**
     * kernel: writeback_inodes_sb() in fs/fs-writeback.c — WB_SYNC_NONE writeback of every dirty inode
     * (the btree inode among them: btree_writepages skips it below the dirty threshold). Does not wait.
     */
    void writebackInodesSb() {
        for (InodeData d : takeDirtyInodes()) {
            writeInode(d, WbSyncMode.NONE, null);
        }
        fs.btreeInode.writepages(WbSyncMode.NONE);
    }

    /**
     * bdi_has_dirty_io(sb->s_bdi): an inode of the filesystem is dirty — a data inode on the dirty list, or the btree
     * inode with a dirty page (whatever btree_writepages' threshold would then write).
     */
    boolean hasDirtyIo() {
        synchronized (dirtyInodes) {
            if (!dirtyInodes.isEmpty()) {
                return true;
            }
        }
        return fs.btreeInode.dirtyMetadataBytes() > 0;
    }

    /**
     * kernel: btrfs_start_delalloc_roots(fs_info, U64_MAX, false) — WB_SYNC_NONE writeback of every inode with delalloc
     * (the port's dirty inodes), all of them (no nr_to_write limit); the ordered extents it makes are waited for by the
     * caller (btrfs_wait_ordered_roots).
     */
    void startDelallocRoots() {
        for (InodeData d : takeDirtyInodes()) {
            writeInode(d, WbSyncMode.NONE, null);
        }
    }

    /**
     * kernel: sync_inodes_sb() in fs/fs-writeback.c — WB_SYNC_ALL writeback of every dirty inode, the
     * btree inode first (it was dirtied first: every change starts by COWing tree blocks), then
     * wait_sb_inodes: wait for every page under writeback, data and metadata. The ordered extents are not
     * waited for here: their completion is queued before end_page_writeback.
     */
    void syncInodesSb() {
        fs.btreeInode.writepages(WbSyncMode.ALL);
        for (InodeData d : takeDirtyInodes()) {
            writeInode(d, WbSyncMode.ALL, null);
        }
        for (InodeData d : List.copyOf(inodesWb)) {
            d.waitLockedAndWriteback(); // write_cache_pages' lock_page on pages still tagged dirty, then wait_sb_inodes
        }
        fs.btreeInode.waitWriteback();
    }

    // ---- one inode ----------------------------------------------------------------------------------

    /**
     * kernel: btrfs_writepages() → extent_writepages() in fs/btrfs/extent_io.c — for each dirty range of
     * the inode: cow_file_range reserves the extent and adds the ordered extent (which takes an inode
     * reference), then the bios are submitted. Writeback holds the inode only while it adds ordered
     * extents ({@code beforeSubmit} runs there, see {@link FileHandle#closeFromWorker()}); while the bios
     * are in flight only the ordered extents hold it. Returns the ordered extents it added.
     */
    List<OrderedExtent> writeInode(InodeData d, WbSyncMode mode, Runnable beforeSubmit) {
        return writeInode(d, mode, 0, beforeSubmit);
    }

    /**
     * The same for the dirty pages from file offset {@code from} on (filemap_fdatawrite_range from there to the end):
     * a dirty range starting before it keeps its front dirty, and the inode stays on the dirty list when anything is
     * left.
     */
    List<OrderedExtent> writeInode(InodeData d, WbSyncMode mode, long from, Runnable beforeSubmit) {
        Inodes inodes = ctx.cleaner.inodes();
        if (!inodes.igrab(d.inode)) {
            return List.of(); // I_FREEING: eviction drops its pages
        }
        // btrfs_run_delalloc_range: inode_need_compress (the heuristics and NOCOMPRESS are not modelled)
        boolean compress = fs.mountOpt.test(MountOpt.COMPRESS);
        List<DataBio> bios = new ArrayList<>();
        try {
            List<InodeData.DirtyRange> ranges;
            synchronized (d) {
                // on s_inodes_wb in the same step as the pages leave the dirty ranges: from here until their ordered
                // extent exists the kernel's pages are locked (clear_page_dirty_for_io under lock_page in
                // extent_write_cache_pages) and still tagged dirty, so sync_inodes_sb waits for them; a sync that
                // found neither dirty ranges nor writeback here would commit before the ordered extent was added.
                // An async chunk's pages too: locked and tagged dirty until its submit step puts them under
                // writeback, so the sync's lock_page waits for that step (stop 28: the port's sync missed them)
                ranges = compress ? d.takeDelallocForAsync(from) : d.takeDelallocForWriteback(from);
                if (!ranges.isEmpty()) {
                    inodesWb.add(d);
                }
            }
            if (!ranges.isEmpty()) {
                fs.kernel.hooks().arrive(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            }
            if (compress) {
                for (InodeData.DirtyRange r : ranges) {
                    asyncCow.cowFileRangeAsync(d, r);
                }
            } else {
                for (InodeData.DirtyRange r : ranges) {
                    for (OrderedExtent oe : cowFileRange(d, r)) {
                        bios.add(new DataBio(oe, oe.data()));
                    }
                }
            }
            if (beforeSubmit != null) {
                beforeSubmit.run();
            }
        } finally {
            inodes.iput(d.inode);
        }
        List<OrderedExtent> added = new ArrayList<>(bios.size());
        for (DataBio bio : bios) {
            added.add(bio.oe());
            submitDataBio(d, bio, mode == WbSyncMode.ALL);
        }
        return added;
    }

    /**
     * kernel: cow_file_range() in fs/btrfs/inode.c — reserve data extents for the range (btrfs_reserve_extent, which may
     * allocate a chunk, and hands back less than asked when no block group has the range contiguous: the loop goes on
     * with the rest) and add an ordered extent for each. On failure the pages not covered yet end writeback with the
     * error (extent_clear_unlock_delalloc, mapping_set_error); the ordered extents added stay.
     */
    private List<OrderedExtent> cowFileRange(InodeData d, InodeData.DirtyRange r) {
        ctx.defrag.inodeShouldDefrag(d, r.start, sectorAligned(r.len()), AutoDefrag.SMALL_WRITE);
        List<OrderedExtent> added = new ArrayList<>(1);
        byte[] all = r.data();
        int off = 0;
        try {
            while (off < all.length) {
                OrderedExtent oe = reserveAndAddOrdered(d, r.start + off,
                    off == 0 ? all : Arrays.copyOfRange(all, off, all.length), SECTOR);
                added.add(oe);
                off += (int) oe.numBytes;
            }
        } catch (BtrfsException e) {
            d.setError(e.errno());
            freeDataRsv(d, r.start + off, all.length - off);
            endPageWriteback(d, all.length - off);
        } finally {
            d.cowDone(r.start, r.len());
        }
        return added;
    }

    /** extent_clear_unlock_delalloc(EXTENT_CLEAR_DATA_RESV) of a range whose extent could not be reserved. */
    void freeDataRsv(InodeData d, long start, long len) {
        d.freeDataRsv(d.takeDataRsv(start, len));
    }

    /** {@code len} rounded up to whole sectors: an extent's disk_num_bytes, what i_bytes counts for it. */
    /** The start of the sector holding file offset {@code off} ({@code off & ~(sectorsize - 1)}). */
    static long sectorStart(long off) { return off / SECTOR * SECTOR; }

    static long sectorAligned(long len) { return (len + SECTOR - 1) / SECTOR * SECTOR; }

    /**
     * The two steps of cow_file_range for {@code data} at file offset {@code start}: btrfs_reserve_extent for all of it or,
     * when no block group has it contiguous, as much as fits (at least {@code minLen}; a BtrfsException when not even
     * that does), then btrfs_add_ordered_extent over the sectors reserved — for the bytes the extent took, which the
     * returned ordered extent's numBytes tells. The sectors' data reservation (EXTENT_DELALLOC's) becomes the extent's.
     */
    OrderedExtent reserveAndAddOrdered(InodeData d, long start, byte[] data, long minLen) {
        Extents.Reserved ext = Extents.reserveDataExtent(fs, d.inode.root(), data.length, Math.min(minLen, data.length));
        byte[] taken = ext.len() >= data.length ? data : Arrays.copyOf(data, (int) ext.len());
        fs.space.dataMayUseToReserved(d.takeDataRsv(start, taken.length)); // btrfs_add_reserved_bytes
        return ctx.ordered.add(d, start, taken.length, ext.bytenr(), sectorAligned(taken.length), taken);
    }

    /**
     * An async chunk's extent_clear_unlock_delalloc: its {@code len} bytes of pages at {@code start} under writeback
     * ({@code writeback}) or, after a failed reservation, just unlocked.
     */
    void asyncPagesUnlocked(InodeData d, long start, long len, boolean writeback) {
        synchronized (d) {
            if (d.unlockAsync(start, len, writeback)) {
                inodesWb.remove(d);
            }
        }
    }

    /** An async chunk's bio (extent_write_locked_range: WB_SYNC_ALL). */
    void submitAsyncBio(OrderedExtent oe) {
        submitDataBio(oe.inode, new DataBio(oe, oe.data()), true);
    }

    /**
     * kernel: btrfs_submit_data_bio() in fs/btrfs/inode.c, for a write — with checksums (NODATASUM is not
     * modelled) and no sync_writers the bio goes through btrfs_wq_submit_bio (high priority when REQ_SYNC,
     * i.e. WB_SYNC_ALL), whatever the crc32c driver; fsync raises sync_writers, so its bios are checksummed
     * and mapped in the caller.
     */
    private void submitDataBio(InodeData d, DataBio bio, boolean sync) {
        if (d.syncWriters.get() == 0) {
            (sync ? asyncHighBios : asyncBios).increment();
            asyncSubmit.submit(fs.workqueues().workers, bio, sync);
            return;
        }
        inlineBios.increment();
        csumOneBio(bio);
        mapBio(bio);
    }

    /**
     * kernel: btrfs_csum_one_bio() — one crc32c per sector, kept with the ordered extent (ordered sums) for
     * add_pending_csums; the last sector's tail beyond the data is zero, as the page's is when it is written.
     */
    private void csumOneBio(DataBio bio) {
        bio.oe().setSums(org.jbtrfs.transaction.Csums.compute(fs.kernel.crc32c(), bio.data()));
    }

    /**
     * kernel: btrfs_map_bio() — write the data to the device; the bio ends when the write returns. A device's write
     * error ends the bio with its status (btrfs_end_bio → end_bio_extent_writepage): it reaches the ordered extent and
     * the mapping, never the submitter (writeback goes on; fsync reports it).
     */
    private void mapBio(DataBio bio) {
        boolean ok = false;
        try {
            byte[] sectors = org.jbtrfs.transaction.Csums.sectorPadded(bio.data()); // whole sectors, the tail zeroed (__extent_writepage)
            fs.device.write(bio.oe().diskBytenr, sectors, 0, sectors.length);
            ok = true;
        } catch (BtrfsException e) {
            return; // btrfs_end_bio printed the device's error counters; the bio ends with the error below
        } finally {
            endBio(bio, ok);
        }
    }

    /**
     * kernel: end_bio_extent_writepage() → end_extent_writepage() in fs/btrfs/extent_io.c — the ordered
     * extent's accounting (which may queue its completion), the mapping's error, then end_page_writeback.
     */
    private void endBio(DataBio bio, boolean uptodate) {
        OrderedExtent oe = bio.oe();
        ctx.ordered.writepageEndioFinishOrdered(oe, oe.numBytes, uptodate);
        if (!uptodate) {
            oe.inode.setError(Errno.EIO);
        }
        endPageWriteback(oe.inode, oe.numBytes);
    }

    private void endPageWriteback(InodeData d, long len) {
        synchronized (d) {
            if (d.endWriteback(len)) {
                inodesWb.remove(d);
            }
        }
    }

    /** How this mount's data bios were submitted so far. */
    DataWriteStats writeStats() { return new DataWriteStats(inlineBios.sum(), asyncBios.sum(), asyncHighBios.sum()); }
}
