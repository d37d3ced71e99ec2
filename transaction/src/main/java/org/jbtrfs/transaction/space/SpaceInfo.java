package org.jbtrfs.transaction.space;

import org.jbtrfs.core.KernelLog;

/**
 * struct btrfs_space_info: byte counters of one block-group type. Guarded by the owning
 * {@link SpaceManager}'s lock.
 */
public final class SpaceInfo {
    final BlockGroupType type;
    long totalBytes;
    long bytesUsed;
    long bytesPinned;
    long bytesReserved;
    long bytesMayUse;
    long bytesReadonly;
    boolean full;
    /** space_info->tickets: the FLUSH_ALL reservations waiting for the async reclaim work, oldest first. */
    final java.util.ArrayDeque<Ticket> tickets = new java.util.ArrayDeque<>();
    /** space_info->tickets_id: bumped whenever a ticket is granted (the reclaim work's measure of progress). */
    long ticketsId;
    /** space_info->flush: the async reclaim work is queued or running for this space_info. */
    boolean flush;
    /** space_info->reclaim_size: the bytes of the tickets on the list. */
    long reclaimSize;
    /** space_info->clamp (5.12): how far need_preemptive_reclaim shifts its threshold; 1 to 8. */
    int clamp = 1;

    /** Where the update helpers' WARN_ON goes: the filesystem's kernel log, once mounted (null before: mkfs). */
    KernelLog log;

    SpaceInfo(BlockGroupType type) { this.type = type; }

    /**
     * kernel: btrfs_space_info_update_bytes_may_use() (DECLARE_SPACE_INFO_UPDATE, space-info.h) — a decrease below zero
     * is a WARN_ON and leaves the counter at 0: someone gave back bytes they never reserved (caller holds the lock).
     */
    void updateBytesMayUse(long bytes) {
        if (bytes < 0 && bytesMayUse < -bytes) {
            warnUnderflow("btrfs_space_info_update_bytes_may_use");
            bytesMayUse = 0;
            return;
        }
        bytesMayUse += bytes;
    }

    /** kernel: btrfs_space_info_update_bytes_pinned() — the same for the pinned bytes (caller holds the lock). */
    void updateBytesPinned(long bytes) {
        if (bytes < 0 && bytesPinned < -bytes) {
            warnUnderflow("btrfs_space_info_update_bytes_pinned");
            bytesPinned = 0;
            return;
        }
        bytesPinned += bytes;
    }

    private void warnUnderflow(String function) {
        if (log != null) {
            log.warnOn(true, "space-info.h", 109, function);
        }
    }

    public BlockGroupType type() { return type; }

    /** kernel: btrfs_space_info_used(space_info, true) — every byte counted against total_bytes. */
    long usedWithMayUse() { return bytesUsed + bytesReserved + bytesPinned + bytesReadonly + bytesMayUse; }

    long free() { return totalBytes - usedWithMayUse(); }

    /** A snapshot of the counters, for tests and the inspection view. */
    public record Counters(long total, long used, long pinned, long reserved, long mayUse, long readonly) { }

    Counters counters() { return new Counters(totalBytes, bytesUsed, bytesPinned, bytesReserved, bytesMayUse, bytesReadonly); }
}
