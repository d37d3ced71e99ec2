package org.jbtrfs.core.disk;

import java.nio.charset.StandardCharsets;

/**
 * struct btrfs_dir_item (subset), keyed (dir ino, DIR_ITEM, name hash): location key (17), type u8,
 * name_len u16, name. Location is an INODE_ITEM key for files, a ROOT_ITEM key for subvolumes.
 */
public record DirItem(Key location, int type, String name) {
    public static final int FT_REG_FILE = 1;
    public static final int FT_DIR = 2;

    public byte[] encode() {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[20 + n.length];
        Le.key(b, 0, location);
        b[17] = (byte) type;
        Le.u16(b, 18, n.length);
        System.arraycopy(n, 0, b, 20, n.length);
        return b;
    }

    public static DirItem decode(byte[] b) {
        int len = Le.u16(b, 18);
        return new DirItem(Le.key(b, 0), b[17] & 0xff, new String(b, 20, len, StandardCharsets.UTF_8));
    }

    /** The key offset of a dir item: a stable hash of the name (the kernel uses crc32c; any stable hash keeps the layout). */
    public static long nameHash(String name) {
        return Integer.toUnsignedLong(org.jbtrfs.core.kernel.GenericCrc32c.INSTANCE.compute(name.getBytes(StandardCharsets.UTF_8)));
    }
}
