package org.jbtrfs.core.disk;

import java.nio.charset.StandardCharsets;

/**
 * struct btrfs_inode_ref, keyed (inode, INODE_REF, parent directory inode): index u64 (the entry's
 * DIR_INDEX offset in the parent), name_len u16, name = 10 + name bytes. A subvolume's top directory has
 * one to itself named ".." with index 0 (btrfs_create_subvol_root). One name per item here: the kernel
 * packs the names of hard links to the same parent into one item, and the port has no hard links.
 */
public record InodeRef(long index, String name) {
    public static final int HEADER = 10;

    public byte[] encode() {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[HEADER + n.length];
        Le.u64(b, 0, index);
        Le.u16(b, 8, n.length);
        System.arraycopy(n, 0, b, HEADER, n.length);
        return b;
    }

    public static InodeRef decode(byte[] b) {
        int len = Le.u16(b, 8);
        return new InodeRef(Le.u64(b, 0), new String(b, HEADER, len, StandardCharsets.UTF_8));
    }

    /** True if {@code b} has exactly the size its name_len says (a damaged item stays undecoded). */
    public static boolean wellFormed(byte[] b) { return b.length >= HEADER && HEADER + Le.u16(b, 8) == b.length; }
}
