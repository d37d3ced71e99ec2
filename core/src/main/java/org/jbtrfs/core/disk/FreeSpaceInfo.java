package org.jbtrfs.core.disk;

/**
 * struct btrfs_free_space_info, the free space tree's per-block-group item keyed (start, FREE_SPACE_INFO,
 * length): extent_count u32, flags u32 (bit 0 BTRFS_FREE_SPACE_USING_BITMAPS) = 8 bytes.
 */
public record FreeSpaceInfo(int extentCount, int flags) {
    public static final int SIZE = 8;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u32(b, 0, extentCount);
        Le.u32(b, 4, flags);
        return b;
    }

    public static FreeSpaceInfo decode(byte[] b) { return new FreeSpaceInfo(Le.u32(b, 0), Le.u32(b, 4)); }
}
