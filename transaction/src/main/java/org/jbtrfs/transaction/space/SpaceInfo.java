package org.jbtrfs.transaction.space;

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

    SpaceInfo(BlockGroupType type) { this.type = type; }

    public BlockGroupType type() { return type; }

    long free() { return totalBytes - bytesUsed - bytesPinned - bytesReserved - bytesMayUse - bytesReadonly; }

    /** A snapshot of the counters, for tests and the inspection view. */
    public record Counters(long total, long used, long pinned, long reserved, long mayUse, long readonly) { }

    Counters counters() { return new Counters(totalBytes, bytesUsed, bytesPinned, bytesReserved, bytesMayUse, bytesReadonly); }
}
