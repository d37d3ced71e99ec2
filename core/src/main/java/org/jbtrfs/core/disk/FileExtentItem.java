package org.jbtrfs.core.disk;

/** struct btrfs_file_extent_item (regular extents only): disk_bytenr, disk_num_bytes, num_bytes, generation = 32 bytes. */
public record FileExtentItem(long diskBytenr, long diskNumBytes, long numBytes, long generation) {
    public static final int SIZE = 32;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, diskBytenr);
        Le.u64(b, 8, diskNumBytes);
        Le.u64(b, 16, numBytes);
        Le.u64(b, 24, generation);
        return b;
    }

    public static FileExtentItem decode(byte[] b) {
        return new FileExtentItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24));
    }
}
