package org.jbtrfs.core.kernel;

import java.util.zip.CRC32C;

/** crc32c through {@link CRC32C}, intrinsified by HotSpot (the kernel's crc32c-intel). */
public final class AcceleratedCrc32c implements Crc32c {
    public static final AcceleratedCrc32c INSTANCE = new AcceleratedCrc32c();

    private AcceleratedCrc32c() { }

    @Override public String driverName() { return "crc32c-intel"; }

    @Override public int compute(byte[] buf, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(buf, off, len);
        return (int) c.getValue();
    }
}
