package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.SlabObject;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.workqueue.AsyncSubmit;

/**
 * The btree inode: its page cache holds every extent buffer (tree block) in memory, its dirty pages
 * are the tree blocks COWed by transactions, and its writeback is the metadata write path
 * (btree_write_cache_pages → btrfs_submit_metadata_bio → check_async_write).
 *
 * <p>The final iput of this inode in close_ctree writes whatever is still dirty — the blocks of a
 * transaction that was never committed — and, without a fast crc32c, hands them to
 * {@code fs_info->workers}, which close_ctree destroyed just before: the seed's use-after-free.
 */
public final class BtreeInode {
    private final FsInfo fs;
    private final Map<Long, ExtentBuffer> pageCache = new ConcurrentHashMap<>();
    private final Map<Long, ExtentBuffer> dirty = new ConcurrentHashMap<>();
    /** BTRFS_I(btree_inode)->sync_writers: > 0 while a commit writes its marked extents. */
    final AtomicInteger syncWriters = new AtomicInteger();
    private volatile boolean evicted;

    /** btrfs_wq_submit_bio with the btree's hooks: checksum in the worker, then write, in order. */
    private final AsyncSubmit<MetadataBio> asyncSubmit;

    /** A metadata write bio: one tree block. */
    private record MetadataBio(long bytenr, byte[] data) { }

    BtreeInode(FsInfo fs) {
        this.fs = fs;
        this.asyncSubmit = new AsyncSubmit<>(fs.kernel,
            bio -> { new ExtentBuffer(bio.data()).updateChecksum(fs.kernel.crc32c()); return null; }, // btree_submit_bio_start
            bio -> { fs.device.write(bio.bytenr(), bio.data(), 0, bio.data().length); return null; }, // btrfs_map_bio
            (bio, status) -> fs.log().error(fs.sbId(), "metadata write error " + status.ret() + " at " + bio.bytenr()),
            null);
    }

    /**
     * kernel: read_tree_block() in fs/btrfs/disk-io.c — the cached buffer, or a read from the device
     * whose checksum and header bytenr are verified; a bad block names its bytenr.
     */
    public ExtentBuffer readTreeBlock(long bytenr) {
        ExtentBuffer eb = pageCache.get(bytenr);
        if (eb != null) {
            return eb;
        }
        if (bytenr <= 0 || bytenr % SuperBlock.NODESIZE != 0 || bytenr + SuperBlock.NODESIZE > fs.device.size()) {
            throw new BtrfsException(Errno.EUCLEAN, "bad tree block start " + bytenr + " on " + fs.sbId());
        }
        byte[] data = new byte[SuperBlock.NODESIZE];
        fs.device.read(bytenr, data, 0, data.length);
        eb = new ExtentBuffer(data);
        try {
            eb.validate(fs.kernel.crc32c(), bytenr);
        } catch (BtrfsException e) {
            // btrfs_validate_extent_buffer logs the reason with the device before failing the read
            fs.log().btrfs(org.jbtrfs.core.LogLevel.WARNING, fs.sbId(), e.getMessage().replaceFirst("^EUCLEAN: ", ""));
            throw new BtrfsException(Errno.EUCLEAN, "failed to read tree block " + bytenr + " on " + fs.sbId() + ": "
                + e.getMessage(), e);
        }
        ExtentBuffer raced = pageCache.putIfAbsent(bytenr, eb);
        return raced != null ? raced : eb;
    }

    /** A new buffer created by the allocator (btrfs_init_new_buffer): enters the page cache. */
    void add(ExtentBuffer eb) { pageCache.put(eb.bytenr(), eb); }

    /**
     * kernel: btrfs_mark_buffer_dirty() + set_extent_dirty() on the transaction's dirty_pages — the
     * first dirtying in a transaction allocates the extent_state recording the range.
     */
    void markDirty(ExtentBuffer eb, Transaction trans) {
        dirty.put(eb.bytenr(), eb);
        synchronized (trans) {
            trans.dirtyPages.computeIfAbsent(eb.bytenr(), b -> fs.kernel.slabs().cache("extent_state").alloc()
                .tag(new StateRange(b, b + SuperBlock.NODESIZE - 1)));
        }
    }

    /** kernel: btrfs_clean_tree_block() — a block freed in its own transaction need not be written. */
    void clean(ExtentBuffer eb) { dirty.remove(eb.bytenr(), eb); }

    /** Drops a freed (unpinned) block from the page cache so its bytenr can be reused. */
    void forget(long bytenr) {
        pageCache.remove(bytenr);
        dirty.remove(bytenr);
    }

    public int dirtyCount() { return dirty.size(); }

    /**
     * kernel: btrfs_write_marked_extents() + btrfs_wait_marked_extents() — the commit writes the
     * transaction's dirty blocks with sync_writers raised, so every block is checksummed and written
     * synchronously; the extent_states are freed.
     */
    void writeMarkedExtents(Transaction trans) {
        List<Map.Entry<Long, SlabObject>> ranges;
        synchronized (trans) {
            ranges = new ArrayList<>(trans.dirtyPages.entrySet());
            trans.dirtyPages.clear();
        }
        syncWriters.incrementAndGet();
        try {
            for (Map.Entry<Long, SlabObject> r : ranges) {
                ExtentBuffer eb = dirty.remove(r.getKey());
                if (eb != null) {
                    submitMetadataBio(eb);
                }
                r.getValue().free();
            }
        } finally {
            syncWriters.decrementAndGet();
        }
    }

    /** Frees the extent_states of a transaction torn down without writing (btrfs_cleanup_transaction). */
    void destroyMarkedExtents(Transaction trans) {
        synchronized (trans) {
            for (Map.Entry<Long, SlabObject> r : trans.dirtyPages.entrySet()) {
                ExtentBuffer eb = dirty.remove(r.getKey());
                if (eb != null) {
                    pageCache.remove(eb.bytenr());
                }
                r.getValue().free();
            }
            trans.dirtyPages.clear();
        }
    }

    /**
     * kernel: iput(fs_info->btree_inode) in close_ctree — the last reference: VFS writes the dirty pages
     * (write_inode_now → btree_write_cache_pages) before evicting the inode.
     */
    public void finalIput() {
        if (evicted) {
            throw new IllegalStateException("btree inode already evicted");
        }
        evicted = true;
        List<ExtentBuffer> toWrite = new ArrayList<>(dirty.values());
        toWrite.sort((a, b) -> Long.compare(a.bytenr(), b.bytenr()));
        for (ExtentBuffer eb : toWrite) {
            dirty.remove(eb.bytenr());
            submitMetadataBio(eb);
        }
        pageCache.clear();
    }

    /**
     * kernel: btrfs_submit_metadata_bio() for a write — synchronous when check_async_write says so,
     * else through btrfs_wq_submit_bio on fs_info->workers (checksum in the worker, then the write in
     * submission order).
     */
    private void submitMetadataBio(ExtentBuffer eb) {
        eb.setHeaderFlag(ExtentBuffer.HEADER_FLAG_WRITTEN);
        byte[] copy = eb.array().clone();
        if (!checkAsyncWrite()) {
            csumAndWrite(eb.bytenr(), copy);
            return;
        }
        asyncSubmit.submit(fs.workqueues.workers, new MetadataBio(eb.bytenr(), copy), false);
    }

    /** kernel: check_async_write() — synchronous if a commit is writing or the crc32c driver is fast. */
    boolean checkAsyncWrite() {
        if (syncWriters.get() > 0) {
            return false;
        }
        return !fs.flags.test(FsFlag.CSUM_IMPL_FAST);
    }

    private void csumAndWrite(long bytenr, byte[] data) {
        new ExtentBuffer(data).updateChecksum(fs.kernel.crc32c());
        fs.device.write(bytenr, data, 0, data.length);
    }

    /** The range an extent_state covers, printed by the state leak check at module unload. */
    public record StateRange(long start, long end) {
        @Override
        public String toString() { return "start " + start + " end " + end + " state 1 in tree 1 refs 1"; }
    }
}
