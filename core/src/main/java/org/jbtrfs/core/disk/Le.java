package org.jbtrfs.core.disk;

/** Little-endian field access on byte arrays: the on-disk byte order of btrfs. */
public final class Le {
    private Le() { }

    public static long u64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xffL);
        }
        return v;
    }

    public static void u64(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    public static int u32(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    public static void u32(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    public static int u16(byte[] b, int off) { return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8; }

    public static void u16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    public static Key key(byte[] b, int off) { return new Key(u64(b, off), b[off + 8] & 0xff, u64(b, off + 9)); }

    public static void key(byte[] b, int off, Key k) {
        u64(b, off, k.objectid());
        b[off + 8] = (byte) k.type();
        u64(b, off + 9, k.offset());
    }
}
