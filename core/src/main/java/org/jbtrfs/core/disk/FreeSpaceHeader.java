package org.jbtrfs.core.disk;

/**
 * struct btrfs_free_space_header, the v1 free space cache's item in the root tree, keyed
 * (BTRFS_FREE_SPACE_OBJECTID, 0, block group start): location (the cache inode's INODE_ITEM key, 17),
 * generation u64 (the transaction the cache was written in; 0 = never written), num_entries u64,
 * num_bitmaps u64 = 41 bytes.
 */
public record FreeSpaceHeader(Key location, long generation, long numEntries, long numBitmaps) {
    public static final int SIZE = 41;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.key(b, 0, location);
        Le.u64(b, 17, generation);
        Le.u64(b, 25, numEntries);
        Le.u64(b, 33, numBitmaps);
        return b;
    }

    public static FreeSpaceHeader decode(byte[] b) {
        return new FreeSpaceHeader(Le.key(b, 0), Le.u64(b, 17), Le.u64(b, 25), Le.u64(b, 33));
    }

    /** The header key of the cache of the block group starting at {@code bgStart}. */
    public static Key key(long bgStart) { return new Key(ItemType.FREE_SPACE_OBJECTID, 0, bgStart); }

    public FreeSpaceHeader withWritten(long gen, long entries, long bitmaps) {
        return new FreeSpaceHeader(location, gen, entries, bitmaps);
    }
}
