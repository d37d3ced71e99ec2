package org.jbtrfs.core.disk;

/**
 * struct btrfs_extent_item with one inline backref, keyed (bytenr, EXTENT_ITEM, num_bytes): refs, generation, flags
 * (DATA 1, TREE_BLOCK 2), the owner root, the level (tree blocks), and for a data extent its EXTENT_DATA_REF's objectid
 * (the inode) and offset (the file position of the extent's start: a file extent item's key offset minus its extent
 * offset) = 49 bytes. The owner root is the inline ref's root, where a backref walk starts, and the data ref's (inode,
 * offset) the key it searches the owner's tree for (resolve_indirect_ref); qgroup accounting charges the roots the walk
 * finds. Without snapshots and reflinks an extent
 * has one such ref, whose count is the extent's refs.
 */
public record ExtentItem(long refs, long generation, long flags, long ownerRoot, int level, long dataObjectid, long dataOffset) {
    public static final int SIZE = 49;
    public static final long FLAG_DATA = 1;
    public static final long FLAG_TREE_BLOCK = 2;

    /** A tree block's item, or a data extent's whose data ref key does not matter (no backref walk reads it). */
    public ExtentItem(long refs, long generation, long flags, long ownerRoot, int level) {
        this(refs, generation, flags, ownerRoot, level, 0, 0);
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, refs);
        Le.u64(b, 8, generation);
        Le.u64(b, 16, flags);
        Le.u64(b, 24, ownerRoot);
        b[32] = (byte) level;
        Le.u64(b, 33, dataObjectid);
        Le.u64(b, 41, dataOffset);
        return b;
    }

    public static ExtentItem decode(byte[] b) {
        return new ExtentItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), b[32] & 0xff, Le.u64(b, 33),
            Le.u64(b, 41));
    }

    public boolean isTreeBlock() { return (flags & FLAG_TREE_BLOCK) != 0; }

    /** The same item with {@code refs} references. */
    public ExtentItem withRefs(long refs) {
        return new ExtentItem(refs, generation, flags, ownerRoot, level, dataObjectid, dataOffset);
    }
}
