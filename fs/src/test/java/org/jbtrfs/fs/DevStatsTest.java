package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.disk.DevStatsItem;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The device statistics persist (stop 78): fs/btrfs/volumes.c (v5.11) keeps each device's error counters in the device
 * tree — btrfs_run_dev_stats writes a changed device's item (0, PERSISTENT_ITEM, devid) in commit_cowonly_roots,
 * btrfs_init_dev_stats reads it at mount and btrfs_dev_stat_print_on_load prints non-zero counters — and a counter
 * incremented before the device's first btrfs_init_dev_stats is counted but not printed (dev_stats_valid), then
 * replaced by what the disk holds. Read: btrfs_dev_stat_inc_and_print, btrfs_dev_stat_print_on_error,
 * btrfs_run_dev_stats, update_dev_stat_item, btrfs_init_dev_stats, btrfs_device_init_dev_stats,
 * btrfs_dev_stat_print_on_load, btrfs_close_one_device.
 *
 * <p>Decision: the port counted per mount and wrote nothing; a port gap, closed.
 */
class DevStatsTest {

    /** A corruption error a scrub counted reaches the disk with the next commit; the next mount prints it and counts on. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aCountedErrorIsWrittenByTheNextCommitAndPrintedAtTheNextMount(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("f");
            fs.writeFile("f", new byte[2 * 4096]);
            fs.sync();
            long bytenr = CsumTreeTest.extentOf(fs, "f").diskBytenr();
            r.dev.write(bytenr, new byte[] {0x55}, 0, 1);
            assertEquals(1, fs.scrub(true).csumErrors());
            assertNull(item(fs), "no commit since the count");
            fs.sync();
            DevStatsItem written = DevStatsItem.decode(item(fs));
            assertEquals(List.of(0L, 0L, 0L, 1L, 0L), java.util.Arrays.stream(written.values()).boxed().toList());
            fs.umount();

            long mark = r.mod.log().mark();
            fs = r.mount("");
            assertTrue(r.mod.log().since(mark).stream().anyMatch(l -> l.message()
                .equals("BTRFS info (device sdc): bdev sdc errs: wr 0, rd 0, flush 0, corrupt 1, gen 0")), r.mod.log().dmesg());
            assertEquals(new DeviceStats(0, 0, 0, 1, 0), fs.deviceStats(), "btrfs device stats");
            fs.scrub(true);
            assertTrue(r.logged("BTRFS error (device sdc): bdev sdc errs: wr 0, rd 0, flush 0, corrupt 2, gen 0"),
                r.mod.log().dmesg());
            fs.umount();
        }
    }

    /**
     * A read error of the first mount's open_ctree, before btrfs_init_dev_stats: counted on a device whose statistics
     * are not valid yet — no line — and gone once the next mount reads the disk's counters (none).
     */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void anErrorBeforeTheFirstMountsInitIsNotPrintedAndNotKept(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            r.mod.faults().armOnce(Fault.BIO_READ_EIO);
            assertThrows(BtrfsException.class, () -> r.mount(""));
            assertEquals(1, r.mod.faults().fired(Fault.BIO_READ_EIO));
            assertFalse(r.logged(" errs: wr "), r.mod.log().dmesg());

            Btrfs fs = r.mount("");
            assertFalse(r.logged(" errs: wr "), "nothing on disk to print: " + r.mod.log().dmesg());
            assertEquals(new DeviceStats(0, 0, 0, 0, 0), fs.deviceStats(), "the disk's counters replaced it");
            fs.umount();
        }
    }

    private static byte[] item(Btrfs fs) {
        return Trees.lookup(fs.fsInfo(), fs.fsInfo().devRoot(), DevStatsItem.key(1));
    }
}
