package org.jbtrfs.transaction.space;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelLog;

/**
 * Block groups and space_infos of one filesystem (block-group.c, space-info.c, the allocator of
 * extent-tree.c); the block reservations are {@link BlockRsvs} (block-rsv.c), under the same lock. One lock guards all counters: the port is about
 * lifecycle races, not allocator scalability.
 *
 * <p>A tree block's bytes move reserved → used when its delayed ref is run at commit, used →
 * pinned when its drop ref is run, pinned → free when the commit unpins. A transaction that is
 * never committed therefore leaves {@code reserved} bytes in its block group and space_info — what
 * btrfs_free_block_groups warns about at unmount.
 */
public final class SpaceManager {
    /** btrfs_calc_insert_metadata_size(fs_info, 1) for a 16 KiB nodesize: nodesize * BTRFS_MAX_LEVEL * 2. */
    public static final long METADATA_ITEM_SIZE = 16384L * 8 * 2;
    public static final int NODESIZE = 16384;

    private final Map<BlockGroupType, SpaceInfo> spaceInfos = new EnumMap<>(BlockGroupType.class);
    private final TreeMap<Long, BlockGroup> blockGroups = new TreeMap<>();
    private final LinkedHashSet<BlockGroup> unusedBgs = new LinkedHashSet<>();
    /** Device ranges not in any chunk: start → length. */
    private final TreeMap<Long, Long> unallocated = new TreeMap<>();
    /** The block reservations (block-rsv.c), under this manager's lock. */
    public final BlockRsvs rsvs;
    /** The METADATA space_info's tickets and overcommit (space-info.c), under this manager's lock. */
    public final SpaceReservations reservations;
    private final long dataChunkSize;
    private final long metadataChunkSize;

    /**
     * A filesystem of {@code deviceSize} bytes whose chunks start at {@code firstChunkStart}; new data and metadata chunks
     * are {@code dataChunkSize} and {@code metadataChunkSize} bytes (__btrfs_alloc_chunk's size for the type), or what
     * the largest free device hole still holds.
     */
    public SpaceManager(long deviceSize, long firstChunkStart, long dataChunkSize, long metadataChunkSize) {
        for (BlockGroupType t : BlockGroupType.values()) {
            spaceInfos.put(t, new SpaceInfo(t));
        }
        this.rsvs = new BlockRsvs(this, spaceInfos.get(BlockGroupType.METADATA));
        this.reservations = new SpaceReservations(this, spaceInfos.get(BlockGroupType.METADATA), spaceInfos.get(BlockGroupType.DATA),
            rsvs);
        rsvs.reservations(reservations);
        this.dataChunkSize = dataChunkSize;
        this.metadataChunkSize = metadataChunkSize;
        if (deviceSize > firstChunkStart) {
            unallocated.put(firstChunkStart, deviceSize - firstChunkStart);
        }
    }

    // ---- building (mkfs, mount) -------------------------------------------------------------------

    /** kernel: btrfs_add_block_group_cache() / read_one_block_group() — a block group read from its item. */
    public synchronized BlockGroup addBlockGroup(long start, long length, BlockGroupType type, long used) {
        BlockGroup bg = new BlockGroup(start, length, type);
        bg.used = used;
        bg.itemUsed = used;
        blockGroups.put(start, bg);
        SpaceInfo si = spaceInfos.get(type);
        si.totalBytes += length;
        si.bytesUsed += used;
        carve(start, length);
        if (used == 0 && type == BlockGroupType.DATA) {
            markUnusedLocked(bg);
        }
        // btrfs_update_space_info(): a new group clears full, and may satisfy tickets
        if (length > 0) {
            si.full = false;
        }
        reservations.tryGrantingTickets(si);
        return bg;
    }

    /** Marks {@code [bytenr, bytenr+len)} allocated in the free-space map (caching from extent items). */
    public synchronized void markAllocated(long bytenr, long len) {
        BlockGroup bg = lookup(bytenr);
        if (bg != null) {
            bg.mark(bytenr, len, true);
        }
    }

    private void carve(long start, long length) {
        Map.Entry<Long, Long> e = unallocated.floorEntry(start);
        if (e == null || e.getKey() + e.getValue() < start + length) {
            return;
        }
        unallocated.remove(e.getKey());
        if (start > e.getKey()) {
            unallocated.put(e.getKey(), start - e.getKey());
        }
        long end = e.getKey() + e.getValue();
        if (end > start + length) {
            unallocated.put(start + length, end - start - length);
        }
    }

    /** kernel: fs_info->free_chunk_space — device bytes in no chunk (caller holds the lock). */
    long unallocatedBytes() {
        long sum = 0;
        for (long len : unallocated.values()) {
            sum += len;
        }
        return sum;
    }

    private BlockGroup lookup(long bytenr) {
        Map.Entry<Long, BlockGroup> e = blockGroups.floorEntry(bytenr);
        return e != null && e.getValue().contains(bytenr) ? e.getValue() : null;
    }

    // ---- allocation ---------------------------------------------------------------------------------

    /**
     * kernel: btrfs_reserve_extent() → find_free_extent() for a tree block — the bytes count as reserved until the ref is
     * run. No writable metadata group with a free block: find_free_extent_update_loop's LOOP_ALLOC_CHUNK forces a metadata
     * chunk (btrfs_chunk_alloc, CHUNK_ALLOC_FORCE, through the caller's handle; its -ENOSPC is not an error, "we can do
     * more") and searches again; still nothing is find_free_extent's -ENOSPC. The reservations counted on this: metadata
     * overcommits into unallocated device space (btrfs_can_overcommit), which only such an allocation turns into
     * metadata space. The new group goes on {@code newBgs}, the caller's handle's trans->new_bgs: its item is inserted
     * when that handle ends or by the commit's loop ({@code btrfs_create_pending_block_groups} from
     * btrfs_run_delayed_refs / btrfs_start_dirty_block_groups), so a commit that writes a block in it also writes its
     * item.
     */
    public synchronized long reserveTreeBlock(List<BlockGroup> newBgs) {
        try {
            return reserve(BlockGroupType.METADATA, NODESIZE, NODESIZE / BlockGroup.SECTOR);
        } catch (BtrfsException e) {
            if (!allocChunkForced(BlockGroupType.METADATA, metadataChunkSize, newBgs)) {
                throw e;
            }
            return reserve(BlockGroupType.METADATA, NODESIZE, NODESIZE / BlockGroup.SECTOR);
        }
    }

    /**
     * kernel: btrfs_reserve_extent() for data. Allocates a new data chunk when the existing data block
     * groups are full; the new block group goes on {@code newBgs} (the caller's handle's trans->new_bgs) so that the
     * handle inserts its item (btrfs_create_pending_block_groups).
     */
    public synchronized long reserveDataExtent(long len, List<BlockGroup> newBgs) {
        int sectors = (int) ((len + BlockGroup.SECTOR - 1) / BlockGroup.SECTOR);
        try {
            return reserve(BlockGroupType.DATA, (long) sectors * BlockGroup.SECTOR, 1);
        } catch (BtrfsException e) {
            allocChunk(BlockGroupType.DATA, Math.max(dataChunkSize, (long) sectors * BlockGroup.SECTOR), newBgs);
            return reserve(BlockGroupType.DATA, (long) sectors * BlockGroup.SECTOR, 1);
        }
    }

    /**
     * kernel: find_free_extent() for data over the existing data block groups — {@code len} bytes (rounded up to
     * sectors) contiguous; ENOSPC if none has room (the caller then allocates a chunk under a transaction handle, and
     * halves its request: {@link #maxDataFreeExtent}).
     */
    public synchronized long reserveDataExtentInExistingGroups(long len) {
        int sectors = (int) ((len + BlockGroup.SECTOR - 1) / BlockGroup.SECTOR);
        return reserve(BlockGroupType.DATA, (long) sectors * BlockGroup.SECTOR, 1);
    }

    /** find_free_extent's ins->offset on ENOSPC: the longest free run of any writable data block group. */
    public synchronized long maxDataFreeExtent() {
        long best = 0;
        for (BlockGroup bg : blockGroups.values()) {
            if (bg.type == BlockGroupType.DATA && bg.ro == 0 && !bg.removed) {
                best = Math.max(best, bg.maxFreeExtent());
            }
        }
        return best;
    }

    /**
     * btrfs_add_reserved_bytes()'s {@code btrfs_space_info_update_bytes_may_use(-ram_bytes)} for a delalloc extent just
     * reserved: the data reservation of its range is the extent's bytes_reserved now; no ticket is looked at.
     */
    public synchronized void dataMayUseToReserved(long ramBytes) {
        reservations.dataMayUseToReserved(ramBytes);
    }

    /**
     * kernel: btrfs_chunk_alloc() of a DATA chunk with CHUNK_ALLOC_FORCE — from the async data reclaim work's
     * ALLOC_CHUNK_FORCE state and find_free_extent's LOOP_ALLOC_CHUNK: see {@link #allocChunkForced}. Returns whether a
     * chunk was added to {@code newBgs} (the handle's trans->new_bgs: its item is inserted when the handle ends).
     */
    public synchronized boolean allocDataChunkForced(List<BlockGroup> newBgs) {
        return allocChunkForced(BlockGroupType.DATA, dataChunkSize, newBgs);
    }

    /**
     * kernel: btrfs_chunk_alloc(trans, btrfs_get_alloc_profile(space_info->flags), CHUNK_ALLOC_FORCE) for a group of
     * {@code type} — btrfs_inc_block_group_ro's retry for a caller that may allocate (a dev-replace): see
     * {@link #allocChunkForced}. The port's system chunks do not grow: SYSTEM gets none (-ENOSPC).
     */
    public synchronized boolean allocChunkForcedFor(BlockGroupType type, List<BlockGroup> newBgs) {
        return switch (type) {
            case DATA -> allocChunkForced(type, dataChunkSize, newBgs);
            case METADATA -> allocChunkForced(type, metadataChunkSize, newBgs);
            default -> false;
        };
    }

    /**
     * kernel: btrfs_chunk_alloc(CHUNK_ALLOC_FORCE) of a {@code type} chunk (caller holds the lock): nothing once the
     * space_info is full; a chunk of the usual size, or smaller to fit the largest free device hole (__btrfs_alloc_chunk;
     * 1 MiB granules here); no hole of 1 MiB left marks the space_info full.
     */
    private boolean allocChunkForced(BlockGroupType type, long desired, List<BlockGroup> newBgs) {
        SpaceInfo si = spaceInfos.get(type);
        if (si.full) {
            return false;
        }
        long hole = 0;
        for (long len : unallocated.values()) {
            hole = Math.max(hole, len);
        }
        long size = Math.min(desired, hole & ~((1L << 20) - 1));
        if (size == 0) {
            si.full = true;
            return false;
        }
        allocChunk(type, size, newBgs);
        return true;
    }

    /**
     * kernel: btrfs_alloc_chunk() — a new block group carved from unallocated device space, added to {@code newBgs}
     * (btrfs_make_block_group: {@code list_add_tail(&cache->bg_list, &trans->new_bgs)}).
     */
    private void allocChunk(BlockGroupType type, long size, List<BlockGroup> newBgs) {
        for (Map.Entry<Long, Long> e : unallocated.entrySet()) {
            if (e.getValue() >= size) {
                BlockGroup bg = addBlockGroup(e.getKey(), size, type, 0);
                unusedBgs.remove(bg);
                bg.onUnusedList = false;
                bg.refs = 1;
                bg.itemDirty = true;
                bg.needsFreeSpace = freeSpaceTree.getAsBoolean();
                newBgs.add(bg);
                return;
            }
        }
        spaceInfos.get(type).full = true;
        throw new BtrfsException(Errno.ENOSPC, "no space left for a new " + type + " chunk of " + size + " bytes");
    }

    /**
     * kernel: btrfs_chunk_alloc() of a METADATA chunk from flush_space (ALLOC_CHUNK, ALLOC_CHUNK_FORCE): unless forced,
     * only when the space_info is at least 80% used without counting bytes_may_use (should_alloc_chunk); then as
     * {@link #allocChunkForced} (flush_space: "if (ret > 0 || ret == -ENOSPC) ret = 0"). Returns whether a chunk was
     * added to {@code newBgs} (the handle's trans->new_bgs: its item is inserted when the handle ends).
     */
    public synchronized boolean allocMetadataChunk(boolean force, List<BlockGroup> newBgs) {
        SpaceInfo si = spaceInfos.get(BlockGroupType.METADATA);
        if (!force) {
            long used = si.bytesUsed + si.bytesReserved + si.bytesPinned + si.bytesReadonly;
            if (used + (2L << 20) < si.totalBytes * 8 / 10) {
                return false;
            }
        }
        return allocChunkForced(BlockGroupType.METADATA, metadataChunkSize, newBgs);
    }

    private long reserve(BlockGroupType type, long bytes, int alignSectors) {
        int sectors = (int) (bytes / BlockGroup.SECTOR);
        for (BlockGroup bg : blockGroups.values()) {
            if (bg.type != type || bg.ro > 0 || bg.removed) {
                continue;
            }
            long at = bg.findFree(sectors, alignSectors);
            if (at >= 0) {
                bg.mark(at, bytes, true);
                bg.reserved += bytes;
                spaceInfos.get(type).bytesReserved += bytes;
                // a group on unused_bgs stays there: btrfs_delete_unused_bgs re-checks used/reserved/pinned
                // under the group's lock and skips it (kernel: the list is only ever emptied by that pass)
                return at;
            }
        }
        // find_free_extent's ENOSPC: space_info->full is btrfs_chunk_alloc's, not the allocator's
        throw new BtrfsException(Errno.ENOSPC, "no free " + type + " space for " + bytes + " bytes");
    }

    /** kernel: alloc_reserved_tree_block() / alloc_reserved_file_extent() accounting — reserved → used. */
    public synchronized void allocReserved(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.reserved -= len;
        bg.used += len;
        bg.itemDirty = true;
        SpaceInfo si = spaceInfos.get(bg.type);
        si.bytesReserved -= len;
        si.bytesUsed += len;
    }

    /** kernel: btrfs_free_reserved_extent() — an extent allocated and freed before its ref was run. */
    public synchronized void freeReserved(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.reserved -= len;
        spaceInfos.get(bg.type).bytesReserved -= len;
        bg.mark(bytenr, len, false);
    }

    /**
     * kernel: pin_down_extent() of a reserved extent (cleanup_ref_head of a data extent allocated and freed in one
     * transaction; btrfs_free_tree_block of a block written in its own transaction) — reserved → pinned, free again
     * once the commit unpins it.
     */
    public synchronized void pinReserved(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.reserved -= len;
        bg.pinned += len;
        SpaceInfo si = spaceInfos.get(bg.type);
        si.bytesReserved -= len;
        si.bytesPinned += len;
    }

    /** kernel: __btrfs_free_extent() accounting — used → pinned (free again once the commit unpins it). */
    public synchronized void dropUsed(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.used -= len;
        bg.pinned += len;
        bg.itemDirty = true;
        SpaceInfo si = spaceInfos.get(bg.type);
        si.bytesUsed -= len;
        si.bytesPinned += len;
        if (bg.used == 0 && bg.reserved == 0 && !asyncDiscard.getAsBoolean()) {
            // update_block_group: with discard=async an emptied group reaches unused_bgs through the discard worker
            markUnusedLocked(bg);
        }
    }

    /**
     * kernel: unpin_extent_range() — at the end of a commit, pinned bytes become free space (btrfs_add_free_space:
     * untrimmed). Returns the group, for btrfs_discard_queue_work.
     */
    public synchronized BlockGroup unpin(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.pinned -= len;
        spaceInfos.get(bg.type).updateBytesPinned(-len);
        bg.mark(bytenr, len, false);
        int from = (int) ((bytenr - bg.start) / BlockGroup.SECTOR);
        bg.untrimmed.set(from, from + (int) (len / BlockGroup.SECTOR));
        if (bg.type == BlockGroupType.METADATA && bg.ro == 0) {
            // unpin_extent_range(): the freed bytes first refill a global reserve a ticket stole from, then go to the
            // tickets
            rsvs.refillGlobal(len);
            reservations.tryGrantingTickets();
        }
        return bg;
    }

    /**
     * kernel: btrfs_error_unpin_extent_range() → unpin_extent_range(…, return_free_space = false) — an aborted
     * transaction's pinned bytes (btrfs_destroy_pinned_extent; btrfs_destroy_delayed_refs' reserved extents, pinned first)
     * leave the pinned counters, but the range is not given to the free space cache: nothing allocates it again while
     * this mount lives — the committed trees may still use it (a block the aborted transaction COWed), and a block of
     * the aborted transaction may still be written there. Nor do the bytes refill the global reserve or grant tickets.
     * In a read-only group they count as read-only, as unpin_extent_range counts any unpinned bytes there.
     */
    public synchronized void errorUnpin(long bytenr, long len) {
        BlockGroup bg = need(bytenr);
        bg.pinned -= len;
        SpaceInfo si = spaceInfos.get(bg.type);
        si.updateBytesPinned(-len);
        if (bg.ro > 0 && !bg.removed) {
            si.bytesReadonly += len;
            bg.roBytes += len; // btrfs_dec_block_group_ro counts them among the group's free bytes it gives back
        }
    }

    /** Installed by FsInfo: the kernel log the space_info update helpers WARN into. */
    public synchronized void log(KernelLog log) {
        for (SpaceInfo si : spaceInfos.values()) {
            si.log = log;
        }
    }

    /** btrfs_fs_compat_ro(fs_info, FREE_SPACE_TREE), btrfs_make_block_group's test. */
    private java.util.function.BooleanSupplier freeSpaceTree = () -> false;

    /** Installed by FsInfo: the compat_ro test btrfs_make_block_group makes. */
    public synchronized void freeSpaceTree(java.util.function.BooleanSupplier test) { freeSpaceTree = test; }

    /** add_block_group_free_space's {@code needs_free_space} test and clearing: whether the group's info is still due. */
    public synchronized boolean takeNeedsFreeSpace(BlockGroup bg) {
        boolean needs = bg.needsFreeSpace;
        bg.needsFreeSpace = false;
        return needs;
    }

    /** Whether fs_info->mount_opt has DISCARD_ASYNC now (btrfs_update_block_group's test). */
    private java.util.function.BooleanSupplier asyncDiscard = () -> false;

    /** Installed by FsInfo: the mount option test update_block_group makes. */
    public synchronized void asyncDiscard(java.util.function.BooleanSupplier test) { asyncDiscard = test; }

    /** kernel: btrfs_is_free_space_trimmed() — no free space of the group is untrimmed. */
    public synchronized boolean isFreeSpaceTrimmed(BlockGroup bg) {
        BitSet u = (BitSet) bg.untrimmed.clone();
        u.andNot(bg.allocated);
        return u.isEmpty();
    }

    /**
     * The search of btrfs_trim_block_group_extents / _bitmaps (async): from {@code cursor}, the first run of free
     * untrimmed sectors at least {@code minlen} long (and shorter than {@code maxlen} when that is not 0), marked
     * trimmed. Returns {start, length}, or null when there is none before the group's end. The port keeps free space
     * as a bitmap, so the two passes differ only in their length filters.
     */
    public synchronized long[] trimNext(BlockGroup bg, long cursor, long minlen, long maxlen) {
        int n = (int) (bg.length / BlockGroup.SECTOR);
        int i = (int) (Math.max(0, cursor - bg.start) / BlockGroup.SECTOR);
        while (i < n) {
            int s = nextUntrimmedFree(bg, i, n);
            if (s < 0) {
                return null;
            }
            int e = s;
            while (e < n && bg.untrimmed.get(e) && !bg.allocated.get(e)) {
                e++;
            }
            long len = (long) (e - s) * BlockGroup.SECTOR;
            if (len >= minlen && (maxlen == 0 || len < maxlen)) {
                bg.untrimmed.clear(s, e);
                return new long[] {bg.start + (long) s * BlockGroup.SECTOR, len};
            }
            i = e;
        }
        return null;
    }

    private static int nextUntrimmedFree(BlockGroup bg, int from, int n) {
        for (int i = bg.untrimmed.nextSetBit(from); i >= 0 && i < n; i = bg.untrimmed.nextSetBit(i + 1)) {
            if (!bg.allocated.get(i)) {
                return i;
            }
        }
        return -1;
    }

    /** kernel: btrfs_mark_bg_unused(), from the discard worker and btrfs_discard_purge_list. */
    public synchronized void markUnused(BlockGroup bg) { markUnusedLocked(bg); }

    /** Takes every group off fs_info->unused_bgs and drops the list's references (btrfs_discard_punt_unused_bgs_list). */
    public synchronized List<BlockGroup> takeUnused() {
        List<BlockGroup> out = new ArrayList<>(unusedBgs);
        unusedBgs.clear();
        for (BlockGroup bg : out) {
            bg.onUnusedList = false;
            bg.refs--; // btrfs_put_block_group: the list's reference
        }
        return out;
    }

    private BlockGroup need(long bytenr) {
        BlockGroup bg = lookup(bytenr);
        if (bg == null) {
            throw new IllegalStateException("no block group contains " + bytenr);
        }
        return bg;
    }

    // ---- block group items -------------------------------------------------------------------

    /**
     * The transaction's dirty_bgs: block groups whose used bytes changed since their item was last
     * written, taken off the list (btrfs_write_dirty_block_groups' list_del_init).
     */
    public synchronized List<BlockGroup> takeDirtyBlockGroups() {
        List<BlockGroup> out = new ArrayList<>();
        for (BlockGroup bg : blockGroups.values()) {
            if (bg.itemDirty && !bg.removed) {
                bg.itemDirty = false;
                out.add(bg);
            }
        }
        return out;
    }

    /** update_block_group_item(): the used bytes the item now records (read under the lock). */
    public synchronized long blockGroupItemWritten(BlockGroup bg) {
        bg.itemUsed = bg.used;
        return bg.used;
    }

    // ---- v1 free space cache state (free-space-cache.c reads and sets these under block_group->lock) ----

    public synchronized BlockGroup.DiskCacheState diskCacheState(BlockGroup bg) { return bg.diskCacheState; }

    public synchronized void setDiskCacheState(BlockGroup bg, BlockGroup.DiskCacheState s) { bg.diskCacheState = s; }

    public synchronized long cacheGeneration(BlockGroup bg) { return bg.cacheGeneration; }

    public synchronized void setCacheGeneration(BlockGroup bg, long gen) { bg.cacheGeneration = gen; }

    /** lookup_free_space_inode's "if (!block_group->iref) { block_group->inode = igrab(inode); iref = 1 }". */
    public synchronized void grabCacheInodeRef(BlockGroup bg) { bg.iref = true; }

    /** The group's reference on its cache inode is dropped: true if it held one. */
    public synchronized boolean dropCacheInodeRef(BlockGroup bg) {
        boolean had = bg.iref;
        bg.iref = false;
        return had;
    }

    public synchronized boolean holdsCacheInodeRef(BlockGroup bg) { return bg.iref; }

    public synchronized long used(BlockGroup bg) { return bg.used; }

    public synchronized boolean isReadOnly(BlockGroup bg) { return bg.ro > 0; }

    /** The free ranges of {@code bg} in its free-space map, as (start, length) pairs in address order. */
    public synchronized List<long[]> freeRanges(BlockGroup bg) {
        List<long[]> out = new ArrayList<>();
        int n = (int) (bg.length / BlockGroup.SECTOR);
        int i = bg.allocated.nextClearBit(0);
        while (i < n) {
            int end = bg.allocated.nextSetBit(i);
            if (end < 0 || end > n) {
                end = n;
            }
            out.add(new long[] {bg.start + (long) i * BlockGroup.SECTOR, (long) (end - i) * BlockGroup.SECTOR});
            i = bg.allocated.nextClearBit(end);
        }
        return out;
    }

    /** Every block group, in address order (the block_group_cache_tree walk). */
    public synchronized List<BlockGroup> blockGroups() { return new ArrayList<>(blockGroups.values()); }

    /**
     * One block group's counters at a moment, for inspection.
     *
     * @param unused on fs_info->unused_bgs (a candidate for btrfs_delete_unused_bgs)
     */
    public record BlockGroupState(long start, long length, BlockGroupType type, long used, long reserved, long pinned,
                                  boolean readOnly, boolean unused) { }

    /** Every block group's counters, in address order (one consistent snapshot). */
    public synchronized List<BlockGroupState> snapshot() {
        List<BlockGroupState> l = new ArrayList<>();
        for (BlockGroup bg : blockGroups.values()) {
            l.add(new BlockGroupState(bg.start, bg.length, bg.type, bg.used, bg.reserved, bg.pinned, bg.ro > 0, bg.onUnusedList));
        }
        return l;
    }

    /** Every space_info's counters (one consistent snapshot). */
    public synchronized Map<BlockGroupType, SpaceInfo.Counters> spaceInfoSnapshot() {
        Map<BlockGroupType, SpaceInfo.Counters> m = new EnumMap<>(BlockGroupType.class);
        spaceInfos.forEach((t, si) -> m.put(t, si.counters()));
        return m;
    }

    // ---- unused block groups ------------------------------------------------------------------

    /** kernel: btrfs_mark_bg_unused() (idempotent; a removed group stays off the list) */
    private void markUnusedLocked(BlockGroup bg) {
        if (!bg.onUnusedList && !bg.removed) {
            bg.onUnusedList = true;
            bg.refs++;
            unusedBgs.add(bg);
        }
    }

    /** The list_del_init step of btrfs_delete_unused_bgs: unlink the first unused group, or null. */
    public synchronized BlockGroup pollUnused() {
        var it = unusedBgs.iterator();
        if (!it.hasNext()) {
            return null;
        }
        BlockGroup bg = it.next();
        it.remove();
        bg.onUnusedList = false;
        return bg; // the list's reference moves to the caller, who puts it
    }

    public synchronized int unusedCount() { return unusedBgs.size(); }

    /**
     * The checks of btrfs_delete_unused_bgs under groups_sem: still unused, not read-only, not the last
     * group of its type. On success marks it read-only: inc_block_group_ro(cache, 0) — "we don't want to force the
     * issue, only flip if it's ok" — see {@link #roLeavesRoom} (since stop 56 a data group's test counts the buffered
     * writes' reservations, and an empty group they need stays; since stop 61 a metadata group's is btrfs_can_overcommit,
     * where the port had let every empty metadata group go).
     */
    public synchronized boolean tryMarkRoForRemoval(BlockGroup bg) {
        if (bg.removed || bg.used > 0 || bg.reserved > 0 || bg.pinned > 0 || bg.ro > 0) {
            return false;
        }
        long sameType = blockGroups.values().stream().filter(b -> b.type == bg.type && !b.removed).count();
        if (sameType <= 1) {
            return false;
        }
        if (!roLeavesRoom(bg, bg.length)) {
            return false; // -ENOSPC: "we still have enough free space as buffer" is not true
        }
        markRoLocked(bg, bg.length);
        return true;
    }

    /**
     * kernel: inc_block_group_ro(cache, 0) in fs/btrfs/block-group.c — one more holder of a group already read-only;
     * else the group's free bytes go to bytes_readonly if the space_info can spare them ({@link #roLeavesRoom}). False:
     * -ENOSPC.
     */
    public synchronized boolean incBlockGroupRo(BlockGroup bg) {
        if (bg.ro > 0) {
            bg.ro++;
            return true;
        }
        long numBytes = bg.length - bg.reserved - bg.pinned - bg.used;
        if (!roLeavesRoom(bg, numBytes)) {
            return false;
        }
        markRoLocked(bg, numBytes);
        return true;
    }

    /**
     * inc_block_group_ro's test (caller holds the lock): {@code numBytes} more read-only still fit — data never
     * overcommits (what is used or promised plus them within the total, {@code <=}); metadata and system by
     * btrfs_can_overcommit with BTRFS_RESERVE_NO_FLUSH, "the most amount of leeway": strictly below the total plus half
     * the unallocated device space, which a tree block allocation turns into metadata space when it needs it
     * ({@link #reserveTreeBlock}'s LOOP_ALLOC_CHUNK; before stop 61 the port had none, and held metadata to its total).
     */
    private boolean roLeavesRoom(BlockGroup bg, long numBytes) {
        SpaceInfo si = spaceInfos.get(bg.type);
        if (bg.type == BlockGroupType.DATA) {
            return si.usedWithMayUse() + numBytes <= si.totalBytes;
        }
        return reservations.canOvercommit(si, numBytes, Flush.NO_FLUSH);
    }

    private void markRoLocked(BlockGroup bg, long numBytes) {
        bg.ro = 1;
        bg.roBytes = numBytes;
        spaceInfos.get(bg.type).bytesReadonly += numBytes;
    }

    /**
     * kernel: btrfs_dec_block_group_ro() — one holder fewer; the last gives the group back to the allocator. A group
     * the cleaner removed meanwhile keeps its count (btrfs_remove_block_group took its bytes out of the space_info).
     */
    public synchronized void decBlockGroupRo(BlockGroup bg) {
        if (bg.ro <= 0) {
            throw new IllegalStateException("BUG_ON(!cache->ro): block group " + bg.start + " is not read-only");
        }
        if (--bg.ro == 0 && !bg.removed) {
            spaceInfos.get(bg.type).bytesReadonly -= bg.roBytes;
            bg.roBytes = 0;
        }
    }

    /** cache->removed: btrfs_remove_block_group took the group out (read under the group's lock by scrub). */
    public synchronized boolean isRemoved(BlockGroup bg) { return bg.removed; }

    /** The group holding {@code bytenr}, or null (btrfs_lookup_block_group), with a reference the caller puts. */
    public synchronized BlockGroup lookupBlockGroup(long bytenr) {
        BlockGroup bg = lookup(bytenr); // a removed group has left the map
        if (bg != null) {
            bg.refs++;
        }
        return bg;
    }

    /** Whether a free group would be put on unused_bgs now: not removed, not read-only, nothing reserved or used. */
    public synchronized boolean isUnused(BlockGroup bg) {
        return !bg.removed && bg.ro == 0 && bg.reserved == 0 && bg.used == 0;
    }

    /** kernel: btrfs_remove_block_group() — the group leaves the space_info; its chunk is freed at commit. */
    public synchronized void removeBlockGroup(BlockGroup bg) {
        SpaceInfo si = spaceInfos.get(bg.type);
        si.totalBytes -= bg.length;
        si.bytesReadonly -= bg.roBytes;
        bg.removed = true;
        blockGroups.remove(bg.start);
        bg.refs--;
    }

    /** Returns a removed group's chunk to unallocated device space (the commit's pinned chunk release). */
    public synchronized void releaseChunk(BlockGroup bg) {
        // one hole with its free neighbours: find_free_dev_extent sees the gap between device extents, not the chunks
        // that once were there, so a chunk may span what two removed ones held
        long start = bg.start;
        long end = bg.start + bg.length;
        Map.Entry<Long, Long> before = unallocated.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            start = before.getKey();
            unallocated.remove(start);
        }
        Long after = unallocated.remove(end);
        if (after != null) {
            end += after;
        }
        unallocated.put(start, end - start);
        // btrfs_remove_chunk: the device extent's bytes are free chunk space again, btrfs_clear_space_info_full()
        for (SpaceInfo si : spaceInfos.values()) {
            si.full = false;
        }
    }

    /** kernel: btrfs_put_block_group() (outside teardown) */
    public synchronized void putBlockGroup(BlockGroup bg) { bg.refs--; }

    // ---- inspection -----------------------------------------------------------------------------

    public synchronized SpaceInfo.Counters counters(BlockGroupType t) { return spaceInfos.get(t).counters(); }


    public synchronized int blockGroupCount(BlockGroupType t) {
        return (int) blockGroups.values().stream().filter(b -> b.type == t).count();
    }

    /** used bytes of every block group: start → used (for tests and fsck). */
    public synchronized Map<Long, Long> usedByBlockGroup() {
        Map<Long, Long> m = new TreeMap<>();
        blockGroups.values().forEach(b -> m.put(b.start, b.used));
        return m;
    }

    // ---- teardown -------------------------------------------------------------------------------

    /**
     * kernel: btrfs_free_block_groups() in fs/btrfs/block-group.c — drops every block group (WARNING in
     * btrfs_put_block_group if bytes are still pinned or reserved), releases the global reserve
     * (btrfs_release_global_block_rsv WARNs on what the other reservations still hold), then warns
     * and dumps every space_info that still has pinned, reserved or may_use bytes. These are exactly the
     * WARNINGs of the seed when a transaction leaked.
     */
    public synchronized void freeBlockGroups(KernelLog log, String device) {
        for (BlockGroup bg : new ArrayList<>(unusedBgs)) {
            bg.onUnusedList = false;
            bg.refs--;
        }
        unusedBgs.clear();
        for (BlockGroup bg : new ArrayList<>(blockGroups.values())) {
            putBlockGroupFinal(log, bg);
        }
        blockGroups.clear();
        rsvs.releaseGlobal(log);
        reservations.freeSpaceInfos();
        for (SpaceInfo si : spaceInfos.values()) {
            if (log.warnOn(si.bytesPinned > 0 || si.bytesReserved > 0 || si.bytesMayUse > 0, "block-group.c", 3377,
                "btrfs_free_block_groups")) {
                dumpSpaceInfo(log, device, si);
            }
        }
    }

    /** kernel: btrfs_put_block_group() dropping the last reference. */
    private static void putBlockGroupFinal(KernelLog log, BlockGroup bg) {
        log.warnOn(bg.pinned > 0, "block-group.c", 124, "btrfs_put_block_group");
        log.warnOn(bg.reserved > 0, "block-group.c", 125, "btrfs_put_block_group");
    }

    /** kernel: btrfs_dump_space_info() in fs/btrfs/space-info.c */
    private void dumpSpaceInfo(KernelLog log, String device, SpaceInfo si) {
        log.info(device, "space_info " + si.type.flag() + " has " + si.free() + " free, is " + (si.full ? "" : "not ") + "full");
        log.info(device, "space_info total=" + si.totalBytes + ", used=" + si.bytesUsed + ", pinned=" + si.bytesPinned
            + ", reserved=" + si.bytesReserved + ", may_use=" + si.bytesMayUse + ", readonly=" + si.bytesReadonly);
        for (BlockRsv r : rsvs.inDumpOrder()) {
            log.info(device, r.dumpLine());
        }
    }
}
