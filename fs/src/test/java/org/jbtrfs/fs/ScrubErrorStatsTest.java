package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a scrub counts for a block that failed (stop 78): scrub_handle_errored_block (fs/btrfs/scrub.c, v5.11) weighs
 * the sblock's flags — a checksum error first (csum_errors, "checksum error", BTRFS_DEV_STAT_CORRUPTION_ERRS, for a data
 * sector and a tree block alike), then a header error (verify_errors, "checksum/header error", the device's generation
 * error when the generation is what differs, else its corruption error) — counts the block once in the device
 * statistics, and a read-only scrub stops there: no "unable to fixup", no uncorrectable error. Read:
 * scrub_handle_errored_block, scrub_checksum_tree_block, scrub_checksum_data, scrub_checksum_super, btrfs_dev_stat_inc_and_print.
 *
 * <p>Decision: port bugs, fixed — the port counted a tree block's bad checksum as a verify error, put nothing in the
 * device statistics for what a scrub found (and a read error per failed bio and reread, as btrfs_end_bio would for bios
 * scrub submits itself), and reported a read-only scrub's blocks as uncorrectable.
 */
class ScrubErrorStatsTest {

    /** A data sector whose bytes changed: one csum error, one corruption error in the device statistics. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aChangedDataSectorIsACorruptionErrorAndOnlyARepairingScrubCallsItUncorrectable(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("f");
            fs.writeFile("f", new byte[3 * 4096]);
            fs.sync();
            long bytenr = CsumTreeTest.extentOf(fs, "f").diskBytenr();
            r.dev.write(bytenr + 4096, new byte[] {0x55}, 0, 1);

            ScrubProgress ro = fs.scrub(true);
            assertEquals(List.of(1L, 0L, 0L, 0L), List.of(ro.csumErrors(), ro.verifyErrors(), ro.readErrors(),
                ro.uncorrectableErrors()), ro.toString());
            assertTrue(r.logged("checksum error at logical " + (bytenr + 4096) + " on dev sdc"), r.mod.log().dmesg());
            assertEquals(1, lines(r, "bdev sdc errs: wr 0, rd 0, flush 0, corrupt 1, gen 0"), r.mod.log().dmesg());
            assertFalse(r.logged("unable to fixup"), "a read-only scrub goes out before the repair: " + r.mod.log().dmesg());
            assertEquals(List.of(0L, 0L, 1L, 0L), stats(fs));

            ScrubProgress rw = fs.scrub(false);
            assertEquals(List.of(1L, 0L, 1L), List.of(rw.csumErrors(), rw.verifyErrors(), rw.uncorrectableErrors()),
                rw.toString());
            assertTrue(r.logged("bdev sdc errs: wr 0, rd 0, flush 0, corrupt 2, gen 0"), r.mod.log().dmesg());
            assertTrue(r.logged("unable to fixup (regular) error at logical " + (bytenr + 4096) + " on dev sdc"),
                r.mod.log().dmesg());
            fs.umount();
        }
    }

    /** A tree block with a byte changed past its header: a checksum error (csum_errors), not a verify error. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aTreeBlockThatFailsItsChecksumIsACsumErrorAndACorruptionError(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            long root = fsTreeRoot(fs);
            rewrite(r, fs, root, eb -> { }); // saved
            byte[] one = new byte[1];
            r.dev.read(root + 4000, one, 0, 1);
            one[0] ^= 0x55;
            r.dev.write(root + 4000, one, 0, 1);

            ScrubProgress p = fs.scrub(true);
            assertEquals(List.of(1L, 0L), List.of(p.csumErrors(), p.verifyErrors()), p.toString());
            assertTrue(r.logged("checksum error at logical " + root + " on dev sdc"), r.mod.log().dmesg());
            assertEquals(1, lines(r, "bdev sdc errs: wr 0, rd 0, flush 0, corrupt 1, gen 0"), r.mod.log().dmesg());
            restore(r, root);
            fs.umount();
        }
    }

    /** A valid, checksummed tree block of another generation: a header error, and the device's generation error. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aTreeBlockOfAnotherGenerationIsAVerifyErrorAndAGenerationError(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            long root = fsTreeRoot(fs);
            long gen = rewrite(r, fs, root, eb -> eb.setGeneration(eb.generation() - 1));

            ScrubProgress p = fs.scrub(true);
            assertEquals(List.of(0L, 1L), List.of(p.csumErrors(), p.verifyErrors()), p.toString());
            assertTrue(r.logged("checksum/header error at logical " + root + " on dev sdc, generation " + (gen - 1)
                + ", expected " + gen), r.mod.log().dmesg());
            assertEquals(1, lines(r, "bdev sdc errs: wr 0, rd 0, flush 0, corrupt 0, gen 1"), r.mod.log().dmesg());
            assertEquals(List.of(0L, 0L, 0L, 1L), stats(fs));
            restore(r, root);
            fs.umount();
        }
    }

    /** A valid, checksummed tree block naming another address: a header error, and the device's corruption error. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aTreeBlockNamingAnotherAddressIsAVerifyErrorAndACorruptionError(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            long root = fsTreeRoot(fs);
            rewrite(r, fs, root, eb -> eb.setBytenr(root + ExtentBuffer.NODESIZE));

            ScrubProgress p = fs.scrub(false);
            assertEquals(List.of(0L, 1L, 1L), List.of(p.csumErrors(), p.verifyErrors(), p.uncorrectableErrors()),
                p.toString());
            assertTrue(r.logged("checksum/header error at logical " + root + " on dev sdc"), r.mod.log().dmesg());
            assertEquals(1, lines(r, "bdev sdc errs: wr 0, rd 0, flush 0, corrupt 1, gen 0"), r.mod.log().dmesg());
            restore(r, root);
            fs.umount();
        }
    }

    /**
     * The superblock's bio fails: scrub_handle_errored_block only counts a super error for it (the next commit writes
     * the copy) — no warning, no device statistics, no reread.
     */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aSuperblockThatCannotBeReadIsASuperErrorOnly(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fsTreeRoot(fs);
            r.mod.faults().armOnce(org.jbtrfs.core.Fault.BIO_READ_EIO); // the scrub's first bio: the superblock's
            ScrubProgress p = fs.scrub(false);
            assertEquals(1, r.mod.faults().fired(org.jbtrfs.core.Fault.BIO_READ_EIO));
            assertEquals(List.of(1L, 0L, 0L, 0L), List.of(p.superErrors(), p.readErrors(), p.unverifiedErrors(),
                p.uncorrectableErrors()), p.toString());
            assertFalse(r.logged(" errs: wr "), r.mod.log().dmesg());
            assertFalse(r.logged("i/o error at logical"), r.mod.log().dmesg());
            assertEquals(List.of(0L, 0L, 0L, 0L), stats(fs));
            fs.umount();
        }
    }

    private static long fsTreeRoot(Btrfs fs) {
        fs.createFile("f");
        fs.sync();
        return fs.fsInfo().fsRoot().commitRoot().bytenr();
    }

    private byte[] saved;

    /** Changes the committed block at {@code bytenr} on the disk, its checksum recomputed; its generation before. */
    private long rewrite(Repro r, Btrfs fs, long bytenr, java.util.function.Consumer<ExtentBuffer> change) {
        Crc32c crc = fs.fsInfo().kernel.crc32c();
        byte[] b = new byte[ExtentBuffer.NODESIZE];
        r.dev.read(bytenr, b, 0, b.length);
        saved = b.clone();
        ExtentBuffer eb = new ExtentBuffer(b);
        long gen = eb.generation();
        change.accept(eb);
        eb.updateChecksum(crc);
        r.dev.write(bytenr, eb.array(), 0, b.length);
        return gen;
    }

    /** Puts the block back as it was before the umount (whose commit may read it). */
    private void restore(Repro r, long bytenr) {
        r.dev.write(bytenr, saved, 0, saved.length);
    }

    /** The device's read, write, corruption and generation errors (BTRFS_IOC_GET_DEV_STATS). */
    private static List<Long> stats(Btrfs fs) {
        DeviceStats d = fs.deviceStats();
        return List.of(d.readErrors(), d.writeErrors(), d.corruptionErrors(), d.generationErrors());
    }

    private static long lines(Repro r, String text) {
        return r.mod.log().dmesg().lines().filter(l -> l.contains(text)).count();
    }
}
