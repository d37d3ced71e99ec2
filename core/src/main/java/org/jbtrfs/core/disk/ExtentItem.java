package org.jbtrfs.core.disk;

/**
 * struct btrfs_extent_item with one inline backref, keyed (bytenr, EXTENT_ITEM, num_bytes):
 * refs, generation, flags (DATA 1, TREE_BLOCK 2), owner root, level (tree blocks) = 33 bytes.
 * The owner root is what qgroup accounting charges the extent to.
 */
public record ExtentItem(long refs, long generation, long flags, long ownerRoot, int level) {
    public static final int SIZE = 33;
    public static final long FLAG_DATA = 1;
    public static final long FLAG_TREE_BLOCK = 2;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, refs);
        Le.u64(b, 8, generation);
        Le.u64(b, 16, flags);
        Le.u64(b, 24, ownerRoot);
        b[32] = (byte) level;
        return b;
    }

    public static ExtentItem decode(byte[] b) {
        return new ExtentItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), b[32] & 0xff);
    }

    public boolean isTreeBlock() { return (flags & FLAG_TREE_BLOCK) != 0; }
}
