package org.jbtrfs.core.disk;

/**
 * struct btrfs_root_item (subset): where a tree's root block is, its refs (0 = deleted subvolume)
 * and drop progress. Layout: generation, root_dirid, bytenr, bytes_used, last_snapshot, flags
 * (u64 each), refs u32, drop_progress key (17), drop_level u8, level u8 = 71 bytes.
 */
public record RootItem(long generation, long rootDirid, long bytenr, long bytesUsed, long lastSnapshot, long flags,
                       int refs, Key dropProgress, int dropLevel, int level) {
    public static final int SIZE = 71;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, generation);
        Le.u64(b, 8, rootDirid);
        Le.u64(b, 16, bytenr);
        Le.u64(b, 24, bytesUsed);
        Le.u64(b, 32, lastSnapshot);
        Le.u64(b, 40, flags);
        Le.u32(b, 48, refs);
        Le.key(b, 52, dropProgress);
        b[69] = (byte) dropLevel;
        b[70] = (byte) level;
        return b;
    }

    public static RootItem decode(byte[] b) {
        return new RootItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u64(b, 32), Le.u64(b, 40),
            Le.u32(b, 48), Le.key(b, 52), b[69] & 0xff, b[70] & 0xff);
    }

    public RootItem withNode(long newBytenr, int newLevel, long newGeneration) {
        return new RootItem(newGeneration, rootDirid, newBytenr, bytesUsed, lastSnapshot, flags, refs, dropProgress,
            dropLevel, newLevel);
    }

    public RootItem withRefs(int newRefs) {
        return new RootItem(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, newRefs, dropProgress,
            dropLevel, level);
    }

    public RootItem withDropProgress(Key progress, int dropLvl) {
        return new RootItem(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, refs, progress, dropLvl, level);
    }
}
