package org.jbtrfs.core.disk;

import java.nio.charset.StandardCharsets;

/**
 * struct btrfs_root_ref, in the root tree under two keys (btrfs_add_root_ref): (parent subvolume,
 * ROOT_REF, child subvolume) and (child, ROOT_BACKREF, parent) — dirid u64 (the directory of the parent
 * subvolume holding the entry), sequence u64 (the entry's DIR_INDEX offset), name_len u16, name =
 * 18 + name bytes. btrfs_get_subvol_name_from_objectid walks the backrefs up to the top level (subvolid=
 * mounts); may_destroy_subvol refuses to delete a subvolume that still has ROOT_REF items (children).
 */
public record RootRef(long dirid, long sequence, String name) {
    public static final int HEADER = 18;

    public byte[] encode() {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[HEADER + n.length];
        Le.u64(b, 0, dirid);
        Le.u64(b, 8, sequence);
        Le.u16(b, 16, n.length);
        System.arraycopy(n, 0, b, HEADER, n.length);
        return b;
    }

    public static RootRef decode(byte[] b) {
        int len = Le.u16(b, 16);
        return new RootRef(Le.u64(b, 0), Le.u64(b, 8), new String(b, HEADER, len, StandardCharsets.UTF_8));
    }

    /** True if {@code b} has exactly the size its name_len says. */
    public static boolean wellFormed(byte[] b) { return b.length >= HEADER && HEADER + Le.u16(b, 16) == b.length; }
}
