package org.jbtrfs.core.kernel;

/**
 * Software CRC-32C, slice-by-8 (Intel's "Slicing-by-8", as the kernel's crc32c-generic builds its
 * tables): eight 256-entry tables let the loop fold eight input bytes per step.
 */
public final class GenericCrc32c implements Crc32c {
    public static final GenericCrc32c INSTANCE = new GenericCrc32c();

    /** Reflected Castagnoli polynomial. */
    private static final int POLY = 0x82F63B78;
    private static final int[][] T = new int[8][256];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
            }
            T[0][i] = c;
        }
        for (int i = 0; i < 256; i++) {
            for (int t = 1; t < 8; t++) {
                T[t][i] = (T[t - 1][i] >>> 8) ^ T[0][T[t - 1][i] & 0xff];
            }
        }
    }

    private GenericCrc32c() { }

    @Override public String driverName() { return "crc32c-generic"; }

    @Override public int compute(byte[] b, int off, int len) {
        // len > length - off, not off + len > length: the sum overflows for huge len and would pass.
        if (off < 0 || len < 0 || len > b.length - off) {
            throw new IndexOutOfBoundsException("off=" + off + " len=" + len + " length=" + b.length);
        }
        int crc = ~0;
        int i = off;
        int end = off + len;
        int[] t0 = T[0], t1 = T[1], t2 = T[2], t3 = T[3], t4 = T[4], t5 = T[5], t6 = T[6], t7 = T[7];
        while (end - i >= 8) {
            int lo = crc ^ ((b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24);
            crc = t7[lo & 0xff] ^ t6[(lo >>> 8) & 0xff] ^ t5[(lo >>> 16) & 0xff] ^ t4[lo >>> 24]
                ^ t3[b[i + 4] & 0xff] ^ t2[b[i + 5] & 0xff] ^ t1[b[i + 6] & 0xff] ^ t0[b[i + 7] & 0xff];
            i += 8;
        }
        while (i < end) {
            crc = (crc >>> 8) ^ t0[(crc ^ b[i++]) & 0xff];
        }
        return ~crc;
    }
}
