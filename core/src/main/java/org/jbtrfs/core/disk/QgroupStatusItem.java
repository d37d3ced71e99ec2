package org.jbtrfs.core.disk;

/**
 * struct btrfs_qgroup_status_item, keyed (0, QGROUP_STATUS, 0): version, generation, flags, rescan
 * progress objectid = 32 bytes. Flags: ON 1, RESCAN 2, INCONSISTENT 4.
 */
public record QgroupStatusItem(long version, long generation, long flags, long rescan) {
    public static final int SIZE = 32;
    public static final long FLAG_ON = 1;
    public static final long FLAG_RESCAN = 2;
    public static final long FLAG_INCONSISTENT = 4;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, version);
        Le.u64(b, 8, generation);
        Le.u64(b, 16, flags);
        Le.u64(b, 24, rescan);
        return b;
    }

    public static QgroupStatusItem decode(byte[] b) {
        return new QgroupStatusItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24));
    }
}
