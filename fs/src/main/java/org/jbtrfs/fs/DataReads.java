package org.jbtrfs.fs;

import java.util.Locale;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.transaction.Csums;
import org.jbtrfs.transaction.FsInfo;

/**
 * A file's data read from disk with its checksums, fs/btrfs/inode.c and extent_io.c (v5.11): btrfs_submit_data_bio
 * looks the sums up (btrfs_lookup_bio_sums) before the read; end_bio_extent_readpage checks each sector
 * (check_data_csum); a sector that fails is read again from the next mirror (btrfs_submit_read_repair), and a good copy
 * is written back over the bad one (clean_io_failure → repair_io_failure; not on a read-only filesystem). With no good
 * mirror the read fails -EIO. The reads are whole sectors: a sector's sum covers all of it, the written page's tail
 * beyond the data zeroed.
 */
final class DataReads {
    private static final int SECTOR = Csums.SECTOR;

    private DataReads() { }

    /**
     * Reads {@code len} bytes at logical {@code logical} into {@code dst}: the data of file {@code ino} of subvolume
     * {@code root} at file offset {@code fileOffset}. The caller holds the inode's file extent items lock (the range's
     * extent lock in the kernel), so that neither the item nor the extent's sums change meanwhile.
     */
    static void read(FsInfo fs, long root, long ino, long fileOffset, long logical, byte[] dst, int dstOff, int len) {
        long first = logical & -SECTOR;
        int sectors = (int) ((logical + len - first + SECTOR - 1) / SECTOR);
        long[] sums = Csums.lookup(fs, first, sectors);
        long fileFirst = fileOffset - (logical - first);
        for (int i = 0; i < sums.length; i++) {
            if (sums[i] == Csums.MISSING) {
                fs.log().btrfs(LogLevel.WARNING, fs.sbId(), "csum hole found for disk bytenr range [" + (first + (long) i * SECTOR)
                    + ", " + (first + (long) (i + 1) * SECTOR) + ")");
                sums[i] = 0; // the zeroed csum the verification then compares against
            }
        }
        byte[] buf = new byte[sectors * SECTOR];
        int copies = fs.device.numCopies();
        BtrfsException last = null;
        for (int mirror = 1; mirror <= copies; mirror++) {
            try {
                fs.device.readMirror(mirror, first, buf, 0, buf.length);
            } catch (BtrfsException e) {
                last = e; // btrfs_end_bio counted the read error: the repair tries the next mirror
                continue;
            }
            if (verified(fs, root, ino, fileFirst, buf, sums, mirror)) {
                if (mirror > 1 && !fs.sbRdonly()) {
                    fs.device.repairMirror(first, buf, ino, fileFirst);
                }
                System.arraycopy(buf, (int) (logical - first), dst, dstOff, len);
                return;
            }
            last = new BtrfsException(Errno.EIO, "csum failed reading " + len + " bytes at " + logical + " (mirror " + mirror + ")");
        }
        throw last;
    }

    /**
     * kernel: check_data_csum() for each sector — a mismatch prints btrfs_print_data_csum_error's line and counts a
     * corruption error on the mirror's device.
     */
    private static boolean verified(FsInfo fs, long root, long ino, long fileFirst, byte[] buf, long[] sums, int mirror) {
        for (int i = 0; i < sums.length; i++) {
            long got = fs.kernel.crc32c().compute(buf, i * SECTOR, SECTOR) & 0xffffffffL;
            if (got != sums[i]) {
                fs.log().btrfs(LogLevel.WARNING, fs.sbId(), String.format(Locale.ROOT,
                    "csum failed root %d ino %d off %d csum 0x%s expected csum 0x%s mirror %d",
                    root, ino, fileFirst + (long) i * SECTOR, Crc32c.csumFmt(got), Crc32c.csumFmt(sums[i]), mirror));
                fs.device.corruptionError(mirror);
                return false;
            }
        }
        return true;
    }
}
