package org.jbtrfs.transaction.space;

import java.util.BitSet;

/**
 * struct btrfs_block_group: one chunk of the device for one type, with its byte counters, its
 * free-space map (a bit per sector) and a reference count. Guarded by the SpaceManager lock.
 */
public final class BlockGroup {
    public static final int SECTOR = 4096;

    final long start;
    final long length;
    final BlockGroupType type;
    long used;
    long reserved;
    long pinned;
    /**
     * cache->ro: how many holders keep the group read-only (the cleaner removing it, a scrub reading it); 0 when
     * allocations may use it.
     */
    int ro;
    /**
     * What the group's 0 → 1 step added to bytes_readonly. The kernel's btrfs_dec_block_group_ro subtracts the free
     * bytes as they are then, and its unpin_extent_range adds the bytes freed in a read-only group to bytes_readonly
     * meanwhile; the port's unpin does not, so the last decrement takes back what the first increment added.
     */
    long roBytes;
    boolean removed;
    /** true while linked on fs_info->unused_bgs (list_empty(&bg->bg_list) is false). */
    boolean onUnusedList;
    /** The used bytes as the block group item on disk says; differs from {@link #used} until committed. */
    long itemUsed;
    boolean itemDirty;
    /**
     * needs_free_space: made by a chunk allocation while the free space tree was on (btrfs_make_block_group), so its
     * info item is still to be added (add_block_group_free_space, when its own item is inserted).
     */
    boolean needsFreeSpace;
    int refs = 1;
    final BitSet allocated;
    /** disk_cache_state: where this group's v1 free space cache stands (guarded by the SpaceManager lock). */
    DiskCacheState diskCacheState = DiskCacheState.WRITTEN;
    /** cache_generation: the transaction cache_save_setup last set this group's cache up in. */
    long cacheGeneration;
    /** iref: the group holds a reference on its cache inode (block_group->inode). */
    boolean iref;
    /**
     * Free sectors whose trim state is BTRFS_TRIM_STATE_UNTRIMMED: freed by a commit's unpin since the async discard
     * worker last trimmed them (space found at load or in a new group counts as trimmed, btrfs_add_free_space_async_trimmed).
     * Guarded by the SpaceManager lock; only free sectors (clear in {@link #allocated}) count.
     */
    final BitSet untrimmed;

    // ---- async discard (discard.c); guarded by the discard control's lock (discard_ctl->lock) ----
    /** block_group->discard_index: which discard list, 0 the unused one. */
    public int discardIndex = 1;
    /** block_group->discard_eligible_time, on the module's clock. */
    public long discardEligibleTime;
    /** block_group->discard_state. */
    public DiscardState discardState = DiscardState.RESET_CURSOR;
    /** block_group->discard_cursor. */
    public long discardCursor;
    /** The discard list this group is linked on, or -1 (list_empty(&block_group->discard_list)). */
    public int discardList = -1;

    /** enum btrfs_discard_state. */
    public enum DiscardState { EXTENTS, BITMAPS, RESET_CURSOR }

    BlockGroup(long start, long length, BlockGroupType type) {
        this.start = start;
        this.length = length;
        this.type = type;
        this.allocated = new BitSet((int) (length / SECTOR));
        this.untrimmed = new BitSet((int) (length / SECTOR));
    }

    /** btrfs_block_group_end(). */
    public long end() { return start + length; }

    /** btrfs_is_block_group_data_only(): data, and not a mixed group. */
    public boolean dataOnly() { return type == BlockGroupType.DATA; }

    public long start() { return start; }

    public long length() { return length; }

    public BlockGroupType type() { return type; }

    /** enum btrfs_disk_cache_state, in the kernel's order (WRITTEN is 0, the state of a group just read). */
    public enum DiskCacheState { WRITTEN, ERROR, CLEAR, SETUP }

    boolean contains(long bytenr) { return bytenr >= start && bytenr < start + length; }

    /** First-fit search for {@code sectors} contiguous free sectors aligned to {@code align} sectors; -1 if none. */
    long findFree(int sectors, int align) {
        int n = (int) (length / SECTOR);
        int i = 0;
        while (i + sectors <= n) {
            int s = allocated.nextClearBit(i);
            if (s % align != 0) {
                s += align - s % align;
            }
            if (s + sectors > n) {
                return -1;
            }
            int setInRange = allocated.nextSetBit(s);
            if (setInRange < 0 || setInRange >= s + sectors) {
                return start + (long) s * SECTOR;
            }
            i = setInRange + 1;
        }
        return -1;
    }

    /** The longest run of free sectors, in bytes (find_free_extent's max_extent_size for this group). */
    long maxFreeExtent() {
        int n = (int) (length / SECTOR);
        int best = 0;
        int i = allocated.nextClearBit(0);
        while (i < n) {
            int e = allocated.nextSetBit(i);
            int end = e < 0 || e > n ? n : e;
            best = Math.max(best, end - i);
            i = allocated.nextClearBit(end);
        }
        return (long) best * SECTOR;
    }

    void mark(long bytenr, long len, boolean value) {
        int from = (int) ((bytenr - start) / SECTOR);
        int to = (int) ((bytenr - start + len) / SECTOR);
        allocated.set(from, to, value);
    }

    @Override
    public String toString() { return "block group " + start + " " + type + " len " + length + " used " + used; }
}
