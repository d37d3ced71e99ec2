package org.jbtrfs.fs.tools;

import java.util.HexFormat;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.disk.SuperBlock;

/**
 * {@code blkid} for btrfs: what a device's primary superblock says — the filesystem's fsid, the devid this device has in
 * it (1, or 0 for a dev-replace target), its generation — or nothing when no valid btrfs superblock is there (never
 * made, or scratched by a device replace). What {@code mount UUID=...} resolves a device with.
 */
public final class Blkid {
    private Blkid() { }

    /** One device's superblock, as blkid reports it. */
    public record Probe(String fsid, long devid, long generation, String label) { }

    /** The device's superblock, or null when it holds no valid btrfs superblock. */
    public static Probe probe(BlockDevice dev) {
        if (dev == null) {
            throw new IllegalArgumentException("dev must not be null");
        }
        try {
            SuperBlock sb = org.jbtrfs.transaction.DiskIo.readSuper(dev, Crc32c.of(Crc32cImpl.GENERIC));
            return new Probe(HexFormat.of().formatHex(sb.fsid), sb.devid, sb.generation, sb.label);
        } catch (BtrfsException e) {
            return null;
        }
    }
}
