package org.jbtrfs.core.disk;

/**
 * struct btrfs_inode_item (subset): generation, transid, size, nbytes (u64), nlink u32, mode u32 = 40 bytes.
 */
public record InodeItem(long generation, long transid, long size, long nbytes, int nlink, int mode) {
    public static final int SIZE = 40;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, generation);
        Le.u64(b, 8, transid);
        Le.u64(b, 16, size);
        Le.u64(b, 24, nbytes);
        Le.u32(b, 32, nlink);
        Le.u32(b, 36, mode);
        return b;
    }

    public static InodeItem decode(byte[] b) {
        return new InodeItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u32(b, 32), Le.u32(b, 36));
    }

    public boolean isDir() { return (mode & 0170000) == S_IFDIR; }

    /** A regular file (S_IFREG). */
    public boolean isRegular() { return (mode & 0170000) == S_IFREG; }
}
