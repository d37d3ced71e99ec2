package org.jbtrfs.core.disk;

/** struct btrfs_qgroup_info_item, keyed (0, QGROUP_INFO, qgroupid): generation, rfer, rfer_cmpr, excl, excl_cmpr = 40 bytes. */
public record QgroupInfoItem(long generation, long rfer, long rferCmpr, long excl, long exclCmpr) {
    public static final int SIZE = 40;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, generation);
        Le.u64(b, 8, rfer);
        Le.u64(b, 16, rferCmpr);
        Le.u64(b, 24, excl);
        Le.u64(b, 32, exclCmpr);
        return b;
    }

    public static QgroupInfoItem decode(byte[] b) {
        return new QgroupInfoItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u64(b, 32));
    }
}
