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

    /** The reservations' space_info side (tickets, overcommit); set by the SpaceManager once both exist. */
    private SpaceReservations reservations;

    void reservations(SpaceReservations r) { reservations = r; }

    /**
     * kernel: btrfs_block_rsv_add_bytes() — {@code bytes} already counted in bytes_may_use join {@code rsv}; with
     * {@code updateSize} the reserve's size grows too, else it may become full.
     */
    public void addBytes(BlockRsv rsv, long bytes, boolean updateSize) {
        synchronized (space) {
            rsv.reserved += bytes;
            if (updateSize) {
                rsv.size += bytes;
            } else if (rsv.reserved >= rsv.size) {
                rsv.full = true;
            }
        }
    }

    /**
     * kernel: btrfs_block_rsv_release() → block_rsv_release_bytes() — shrink {@code rsv} by {@code bytes}; what it then
     * holds beyond its size refills the delayed-refs reserve (a reserve other than the global one, while that is not
     * full) or the global reserve (the delayed-refs reserve's own release), and the rest leaves bytes_may_use, where a
     * waiting ticket may take it.
     */
    public void release(BlockRsv rsv, long bytes) {
        synchronized (space) {
            BlockRsv target = rsv == delayedRefs ? global : rsv != global && !delayedRefs.full ? delayedRefs : null;
            rsv.size -= bytes;
            long free = 0;
            if (rsv.reserved >= rsv.size) {
                free = rsv.reserved - rsv.size;
                rsv.reserved = rsv.size;
                rsv.full = true;
            }
            giveBack(free, target);
        }
    }

    /**
     * block_rsv_release_bytes()'s last part (caller holds the lock): {@code bytes} refill {@code target} up to its size
     * while it is not full; the rest leaves bytes_may_use.
     */
    private void giveBack(long bytes, BlockRsv target) {
        long free = bytes;
        if (free > 0 && target != null && !target.full) {
            long add = Math.max(0, Math.min(free, target.size - target.reserved));
            target.reserved += add;
            if (target.reserved >= target.size) {
                target.full = true;
            }
            free -= add;
        }
        if (free > 0) {
            reservations.freeBytesMayUse(free);
        }
    }

    /**
     * block_rsv_release_bytes()'s destination part for a private reserve (an inode's block_rsv): {@code bytes} it held
     * beyond its size refill the delayed-refs reserve while that is not full; the rest leaves bytes_may_use.
     */
    public void releaseExcess(long bytes) {
        synchronized (space) {
            giveBack(bytes, delayedRefs);
        }
    }

    /** kernel: btrfs_trans_release_metadata() — a handle gives back what is left of its trans_block_rsv bytes. */
    public void releaseMetadata(long bytes) { release(trans, bytes); }

    /**
     * kernel: btrfs_migrate_to_delayed_refs_rsv() — start_transaction reserved twice its items: move {@code bytes} from
     * {@code src} to the delayed-refs reserve up to what that reserve lacks; the rest leaves bytes_may_use.
     */
    public void migrateToDelayedRefs(BlockRsv src, long bytes) {
        synchronized (space) {
            src.reserved -= bytes;
            src.size -= bytes;
            long toFree = 0;
            long add = bytes;
            if (delayedRefs.size > delayedRefs.reserved) {
                long delta = delayedRefs.size - delayedRefs.reserved;
                if (add > delta) {
                    toFree = add - delta;
                    add = delta;
                }
            } else {
                toFree = add;
                add = 0;
            }
            delayedRefs.reserved += add;
            if (delayedRefs.reserved >= delayedRefs.size) {
                delayedRefs.full = true;
            }
            if (toFree > 0) {
                reservations.freeBytesMayUse(toFree);
            }
        }
    }

    /**
     * btrfs_delayed_refs_rsv_refill()'s last step as 2ed45c0f1879 (v6.6, "btrfs: fix race when refilling delayed refs
     * block reserve") has it: {@code bytes} (counted in bytes_may_use) join the delayed-refs reserve up to what it still
     * lacks — another refill, or an abort's cleanup shrinking it, may have come first — and the rest leaves
     * bytes_may_use, where a waiting ticket may take it.
     */
    public void refillDelayedRefsUpToSize(long bytes) {
        synchronized (space) {
            long toFree = bytes;
            if (delayedRefs.reserved < delayedRefs.size) {
                long needed = delayedRefs.size - delayedRefs.reserved;
                long add = Math.min(bytes, needed);
                delayedRefs.reserved += add;
                if (add == needed) {
                    delayedRefs.full = true;
                }
                toFree -= add;
            }
            if (toFree > 0) {
                reservations.freeBytesMayUse(toFree);
            }
        }
    }

    /**
     * unpin_extent_range()'s refill of the global reserve (caller holds the lock): up to {@code len} of the unpinned
     * bytes go back into it, counted in bytes_may_use, while it is not full (a ticket stole from it).
     */
    void refillGlobal(long len) {
        if (!global.full && global.size > 0) {
            long add = Math.min(len, global.size - global.reserved);
            global.reserved += add;
            metadata.bytesMayUse += add;
            if (global.reserved >= global.size) {
                global.full = true;
            }
        }
    }

    /** delayed_refs_rsv->full, start_transaction's test before doubling its reservation. */
    public boolean delayedRefsFull() {
        synchronized (space) {
            return delayedRefs.full;
        }
    }

    /**
     * btrfs_delayed_refs_rsv_refill()'s amount — what the delayed-refs reserve lacks, at most one item; 0 when full.
     */
    public long delayedRefsRefillBytes() {
        synchronized (space) {
            return delayedRefs.reserved < delayedRefs.size
                ? Math.min(delayedRefs.size - delayedRefs.reserved, METADATA_ITEM_SIZE) : 0;
        }
    }

    /** kernel: btrfs_update_delayed_refs_rsv() — a new delayed ref head grows the rsv by one item. */
    public void delayedRefsAddHead() {
        synchronized (space) {
            delayedRefs.size += METADATA_ITEM_SIZE;
            delayedRefs.full = false;
        }
    }

    /** kernel: btrfs_delayed_refs_rsv_release(fs_info, 1) — a head was run; its item's bytes refill the global rsv. */
    public void delayedRefsReleaseHead() { release(delayedRefs, METADATA_ITEM_SIZE); }

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
            global.full = true;
            metadata.bytesMayUse += want;
        }
    }

    /**
     * kernel: btrfs_release_global_block_rsv() in fs/btrfs/block-rsv.c — give the global reserve back and
     * WARN on what the other reservations still hold (a leaked transaction's delayed_refs_rsv). Caller
     * holds the SpaceManager lock (btrfs_free_block_groups).
     */
    void releaseGlobal(KernelLog log) {
        metadata.updateBytesMayUse(-global.reserved);
        global.size = 0;
        global.reserved = 0;
        global.full = false;
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
