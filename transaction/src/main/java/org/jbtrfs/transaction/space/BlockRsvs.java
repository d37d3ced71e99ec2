package org.jbtrfs.transaction.space;

import java.util.List;
import org.jbtrfs.core.KernelLog;

/**
 * The block reservations of one filesystem (fs/btrfs/block-rsv.c and the delayed-refs part of
 * delayed-ref.c): the global, trans, chunk, delayed and delayed_refs reserves. Their bytes are
 * bytes_may_use of the METADATA space_info, so every method runs under the {@link SpaceManager}'s lock
 * (one lock for all space counters: the port is about lifecycle races, not allocator scalability).
 */
public final class BlockRsvs {
    /** btrfs_calc_insert_metadata_size(fs_info, 1) for a 16 KiB nodesize: nodesize * BTRFS_MAX_LEVEL * 2. */
    public static final long METADATA_ITEM_SIZE = SpaceManager.METADATA_ITEM_SIZE;

    public final BlockRsv global = new BlockRsv("global_block_rsv");
    public final BlockRsv trans = new BlockRsv("trans_block_rsv");
    public final BlockRsv chunk = new BlockRsv("chunk_block_rsv");
    public final BlockRsv delayed = new BlockRsv("delayed_block_rsv");
    public final BlockRsv delayedRefs = new BlockRsv("delayed_refs_rsv");

    private final SpaceManager space;
    private final SpaceInfo metadata;

    BlockRsvs(SpaceManager space, SpaceInfo metadata) {
        this.space = space;
        this.metadata = metadata;
    }

    /** A block reservation's counters, as btrfs_dump_space_info prints them. */
    public record Counters(long size, long reserved) { }

    /** The size and reserved bytes of {@code rsv} (one of these reservations). */
    public Counters counters(BlockRsv rsv) {
        synchronized (space) {
            return new Counters(rsv.size, rsv.reserved);
        }
    }

    /** kernel: btrfs_block_rsv_add() into trans_block_rsv for a handle's {@code items}; returns the bytes. */
    public long reserveMetadataItems(int items) {
        long bytes = items * METADATA_ITEM_SIZE;
        synchronized (space) {
            metadata.bytesMayUse += bytes;
            trans.size += bytes;
            trans.reserved += bytes;
        }
        return bytes;
    }

    /** kernel: btrfs_block_rsv_release() of a handle's reservation. */
    public void releaseMetadata(long bytes) {
        synchronized (space) {
            metadata.bytesMayUse -= bytes;
            trans.size -= bytes;
            trans.reserved -= bytes;
        }
    }

    /** kernel: btrfs_update_delayed_refs_rsv() — a new delayed ref head grows the rsv by one item. */
    public void delayedRefsAddHead() {
        synchronized (space) {
            delayedRefs.size += METADATA_ITEM_SIZE;
        }
    }

    /** kernel: btrfs_delayed_refs_rsv_release() — a head was run. */
    public void delayedRefsReleaseHead() {
        synchronized (space) {
            delayedRefs.size -= METADATA_ITEM_SIZE;
        }
    }

    /** delayed_refs_rsv's size: one item per queued delayed ref head. */
    public long delayedRefsSize() {
        synchronized (space) {
            return delayedRefs.size;
        }
    }

    /** kernel: btrfs_update_global_block_rsv() at mount: reserve a global rsv from free metadata space. */
    public void fillGlobal() {
        synchronized (space) {
            long want = Math.min(16L << 20, metadata.totalBytes / 8);
            global.size = want;
            global.reserved = want;
            metadata.bytesMayUse += want;
        }
    }

    /**
     * kernel: btrfs_release_global_block_rsv() in fs/btrfs/block-rsv.c — give the global reserve back and
     * WARN on what the other reservations still hold (a leaked transaction's delayed_refs_rsv). Caller
     * holds the SpaceManager lock (btrfs_free_block_groups).
     */
    void releaseGlobal(KernelLog log) {
        metadata.bytesMayUse -= global.reserved;
        global.size = 0;
        global.reserved = 0;
        log.warnOn(trans.size > 0, "block-rsv.c", 452, "btrfs_release_global_block_rsv");
        log.warnOn(trans.reserved > 0, "block-rsv.c", 453, "btrfs_release_global_block_rsv");
        log.warnOn(chunk.size > 0, "block-rsv.c", 454, "btrfs_release_global_block_rsv");
        log.warnOn(chunk.reserved > 0, "block-rsv.c", 455, "btrfs_release_global_block_rsv");
        log.warnOn(delayed.size > 0, "block-rsv.c", 456, "btrfs_release_global_block_rsv");
        log.warnOn(delayed.reserved > 0, "block-rsv.c", 457, "btrfs_release_global_block_rsv");
        log.warnOn(delayedRefs.reserved > 0, "block-rsv.c", 458, "btrfs_release_global_block_rsv");
        log.warnOn(delayedRefs.size > 0, "block-rsv.c", 459, "btrfs_release_global_block_rsv");
    }

    /** The reservations in btrfs_dump_space_info's order. Caller holds the SpaceManager lock. */
    List<BlockRsv> inDumpOrder() { return List.of(global, trans, chunk, delayed, delayedRefs); }
}
