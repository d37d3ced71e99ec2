package org.jbtrfs.core.disk;

/**
 * struct btrfs_file_extent_item (regular extents only): disk_bytenr, disk_num_bytes, offset, num_bytes, generation =
 * 40 bytes. A hole (without the NO_HOLES feature, btrfs_cont_expand's maybe_insert_hole) is a regular item with
 * disk_bytenr 0: it references no data extent, reads as zeros and counts for no i_bytes. {@code offset} is where the file's bytes start inside the data extent: 0 for a written extent, more for
 * the back part of one btrfs_drop_extents split or trimmed; the item covers [key.offset, key.offset + num_bytes) of
 * the file with the disk bytes [disk_bytenr + offset, disk_bytenr + offset + num_bytes).
 */
public record FileExtentItem(long diskBytenr, long diskNumBytes, long offset, long numBytes, long generation) {
    public static final int SIZE = 40;

    /** An item for a whole extent written at once (offset 0). */
    public FileExtentItem(long diskBytenr, long diskNumBytes, long numBytes, long generation) {
        this(diskBytenr, diskNumBytes, 0, numBytes, generation);
    }

    /** A hole of {@code numBytes} written in transaction {@code generation} (btrfs_insert_file_extent with disk_bytenr 0). */
    public static FileExtentItem hole(long numBytes, long generation) { return new FileExtentItem(0, 0, 0, numBytes, generation); }

    /** Whether this item is a hole: disk_bytenr 0, no data extent behind it. */
    public boolean isHole() { return diskBytenr == 0; }

    /** Where this item's file bytes are on disk: disk_bytenr + offset (an uncompressed extent map's block_start). */
    public long blockStart() { return diskBytenr + offset; }

    /** The same extent with its file range moved to start {@code by} bytes later inside it and {@code numBytes} long. */
    public FileExtentItem advance(long by, long numBytes) { return new FileExtentItem(diskBytenr, diskNumBytes, offset + by, numBytes, generation); }

    /** The same extent with {@code numBytes} set (btrfs_set_file_extent_num_bytes). */
    public FileExtentItem withNumBytes(long numBytes) { return new FileExtentItem(diskBytenr, diskNumBytes, offset, numBytes, generation); }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, diskBytenr);
        Le.u64(b, 8, diskNumBytes);
        Le.u64(b, 16, offset);
        Le.u64(b, 24, numBytes);
        Le.u64(b, 32, generation);
        return b;
    }

    public static FileExtentItem decode(byte[] b) {
        return new FileExtentItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u64(b, 32));
    }
}
