package org.jbtrfs.core.disk;

/** struct btrfs_block_group_item, keyed (start, BLOCK_GROUP_ITEM, length): used, chunk_objectid, flags = 24 bytes. */
public record BlockGroupItem(long used, long chunkObjectid, long flags) {
    public static final int SIZE = 24;
    public static final long TYPE_DATA = 1;
    public static final long TYPE_SYSTEM = 2;
    public static final long TYPE_METADATA = 4;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, used);
        Le.u64(b, 8, chunkObjectid);
        Le.u64(b, 16, flags);
        return b;
    }

    public static BlockGroupItem decode(byte[] b) { return new BlockGroupItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16)); }
}
