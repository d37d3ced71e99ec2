package org.jbtrfs.core.kernel;

import org.jbtrfs.core.Crc32cImpl;

/**
 * CRC-32C (Castagnoli), the btrfs metadata checksum, as the kernel's crc32c library exposes it: one
 * interface with several drivers. The driver's name decides BTRFS_FS_CSUM_IMPL_FAST the way
 * btrfs_mount_root does: fast unless the name contains "generic".
 */
public interface Crc32c {
    /** The crypto driver name, as /proc/crypto would show it. */
    String driverName();

    /** crc32c of {@code len} bytes (seed ~0, final xor ~0, as btrfs stores it). */
    int compute(byte[] buf, int off, int len);

    default int compute(byte[] buf) { return compute(buf, 0, buf.length); }

    /** The kernel's rule: CSUM_IMPL_FAST unless the driver is the generic C implementation. */
    default boolean isFast() { return !driverName().contains("generic"); }

    /**
     * CSUM_FMT's "%*phN" of a crc32c as btrfs stores it: its four bytes in the order on disk (little-endian), in hex —
     * how the kernel prints a data sector's or a tree block's checksum.
     */
    static String csumFmt(long crc) {
        return String.format(java.util.Locale.ROOT, "%02x%02x%02x%02x", crc & 0xff, (crc >> 8) & 0xff, (crc >> 16) & 0xff,
            (crc >> 24) & 0xff);
    }

    /** The implementation named by {@code impl}. */
    static Crc32c of(Crc32cImpl impl) {
        return impl == Crc32cImpl.GENERIC ? GenericCrc32c.INSTANCE : AcceleratedCrc32c.INSTANCE;
    }
}
