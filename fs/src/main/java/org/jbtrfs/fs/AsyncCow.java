package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * Compressed writes (-o compress): cow_file_range_async and the async chunks it queues on
 * {@code fs_info->delalloc_workers} (fs/btrfs/inode.c, 5.11). Each chunk compresses (async_cow_start), then in
 * queueing order reserves its extent, adds the ordered extent, puts its pages under writeback and submits
 * (async_cow_submit), then drops its inode reference with btrfs_add_delayed_iput (async_cow_free). The port compresses
 * with zlib for the cost and writes the data as given — the kernel's path for data that does not compress
 * (submit_uncompressed_range). docs/writeback.md, "Compressed writeback".
 */
final class AsyncCow {
    private static final int SECTOR = 4096;
    /** cow_file_range_async: one async chunk per 512 KiB of a range. */
    private static final int ASYNC_CHUNK = 512 * 1024;
    /** The zlib level of the port's compression (btrfs's default for zlib is 3). */
    private static final int LEVEL = 3;

    private final FsContext ctx;
    private final FsInfo fs;
    private final Writeback writeback;

    AsyncCow(FsContext ctx, Writeback writeback) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.writeback = writeback;
    }

    /** One async_chunk: a piece of at most 512 KiB of a range, with its own inode reference (ihold). */
    private static final class AsyncChunk {
        final InodeData d;
        final long start;
        final byte[] data;
        /** Its pages left the lock (extent_clear_unlock_delalloc in the submit step, or the error path). */
        private boolean unlocked;

        AsyncChunk(InodeData d, long start, byte[] data) {
            this.d = d;
            this.start = start;
            this.data = data;
        }

        synchronized void markUnlocked() {
            unlocked = true;
            notifyAll();
        }
    }

    /**
     * kernel: cow_file_range_async() in fs/btrfs/inode.c — split the range into 512 KiB chunks, each with an
     * inode reference, queued on the delalloc workqueue (ordered: the submit
     * steps run in queueing order). extent_write_cache_pages then goes on to the range's later pages: lock_page
     * waits until each chunk's submit step unlocked them — so a range of more than one page returns only when its
     * chunks have put everything under writeback, and a one-page range returns at once.
     */
    void cowFileRangeAsync(InodeData d, InodeData.DirtyRange r) {
        byte[] all = r.data();
        List<AsyncChunk> chunks = new ArrayList<>();
        for (int off = 0; off < all.length; off += ASYNC_CHUNK) {
            int n = Math.min(ASYNC_CHUNK, all.length - off);
            if (!ctx.cleaner.inodes().igrab(d.inode)) {
                // ihold: the writer holds a reference, the inode cannot be I_FREEING
                throw fs.log().bug("inode.c", 1385, "ihold of " + d.inode + " failed during writeback");
            }
            AsyncChunk c = new AsyncChunk(d, r.start + off, Arrays.copyOfRange(all, off, off + n));
            chunks.add(c);
            fs.workqueues().delallocWorkers.queueWork(new BtrfsWork(() -> asyncCowStart(c), () -> asyncCowSubmit(c),
                () -> asyncCowFree(c)));
        }
        if (pages(r.start, all.length) > 1) {
            for (AsyncChunk c : chunks) {
                synchronized (c) {
                    fs.kernel.sched().waitUntil(c, "lock_page", () -> c.unlocked);
                }
            }
        }
    }

    /** The pages [start, start + len) spans. */
    private static long pages(long start, long len) {
        return len == 0 ? 0 : (start + len - 1) / SECTOR - start / SECTOR + 1;
    }

    /**
     * kernel: btrfs_init_compress() in init_btrfs_fs — the module's first compression workspace of each type, allocated
     * at insmod, so a mount's first compressed write does not pay for it. The port loads and runs zlib once (the JVM's
     * native library and its code paths), which a first chunk would otherwise pay for in the middle of a sync.
     */
    static void initCompress() {
        deflate(new byte[SECTOR]);
    }

    /** One zlib pass over {@code data}: the CPU time of compressing it (the output is not kept). */
    private static void deflate(byte[] data) {
        Deflater z = new Deflater(LEVEL);
        try {
            z.setInput(data);
            z.finish();
            byte[] out = new byte[SECTOR];
            while (!z.finished()) {
                z.deflate(out);
            }
        } finally {
            z.end();
        }
    }

    /**
     * kernel: async_cow_start() → compress_file_range() — take a compression workspace (which may sleep) and
     * compress the chunk. The port spends the CPU time of a zlib compression and keeps the data as given.
     */
    private void asyncCowStart(AsyncChunk c) {
        fs.kernel.hooks().arrive(Hook.ASYNC_COW_BEFORE_COMPRESS);
        ctx.defrag.inodeShouldDefrag(c.d, c.start, c.data.length, AutoDefrag.SMALL_WRITE_COMPRESSED);
        deflate(c.data);
    }

    /**
     * kernel: async_cow_submit() → submit_compressed_extents(), for an extent that did not compress
     * (submit_uncompressed_range: cow_file_range, then extent_write_locked_range with WB_SYNC_ALL) — reserve the
     * extent, add the ordered extent, put the pages under writeback and unlock them, submit the bio.
     * async_delalloc_pages, which only throttles writers, is not modelled.
     */
    private void asyncCowSubmit(AsyncChunk c) {
        InodeData d = c.d;
        OrderedExtent oe = null;
        ctx.defrag.inodeShouldDefrag(d, c.start, c.data.length, AutoDefrag.SMALL_WRITE); // cow_file_range's
        try {
            // the chunk as one extent (an async chunk is 512 KiB at most, a data chunk's free run rarely shorter)
            oe = writeback.reserveAndAddOrdered(d, c.start, c.data, c.data.length);
        } catch (BtrfsException e) {
            d.setError(e.errno());
            writeback.freeDataRsv(d, c.start, c.data.length);
        }
        writeback.asyncPagesUnlocked(d, c.start, c.data.length, oe != null);
        c.markUnlocked();
        if (oe != null) {
            writeback.submitAsyncBio(oe);
        }
    }

    /** kernel: async_cow_free() — the chunk's inode reference goes to btrfs_add_delayed_iput. */
    private void asyncCowFree(AsyncChunk c) {
        fs.kernel.hooks().arrive(Hook.ASYNC_COW_BEFORE_FREE);
        ctx.cleaner.delayedIputs().add(c.d.inode);
    }
}
