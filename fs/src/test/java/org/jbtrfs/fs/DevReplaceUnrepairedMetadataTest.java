package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_UNREPAIRED_METADATA} (later upstream: 8eb3dd17eadd, v6.4, "btrfs: dev-replace: error out
 * if we have unrepaired metadata error during replace"), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 (fixed in v6.4 and, by a pre-6.4 version sent to stable, in the stable trees).
 * Found by the explorer with the {@code bio-read-eio} fault site (stop 73, seed 73004, classes {@code b8771b25},
 * {@code 10a4d7ed}, {@code 2d5a760a}, {@code 94556cdc}: "i/o error" and "unable to fixup" at a tree block during a
 * replace's copy, the replace "finished", then "bad tree block start … have 0" on the new device).
 * <ol>
 *   <li>A replace's copy reads a tree block the source cannot read (the bio, then the block alone:
 *       scrub_recheck_block), and no other mirror has it.</li>
 *   <li>scrub_handle_errored_block counts an uncorrectable error ("unable to fixup") and writes what it has to the
 *       target — zeros for an unreadable page (scrub_write_page_to_dev_replace).</li>
 *   <li>Nothing in the copy looks at those errors: the replace finishes and the new device has a tree block of zeros.</li>
 * </ol>
 * The fix: a chunk whose copy left a tree block unrepaired ends the replace's copy with -EIO once the chunk's reads are
 * done (mainline's flush_scrub_stripes; {@link DevReplaceLateMetadataErrorTest} for a block of the chunk's last bio):
 * the replace ends CANCELED and the filesystem stays on its source. Read: scrub.c
 * scrub_handle_errored_block, scrub_write_page_to_dev_replace, scrub_stripe; dev-replace.c btrfs_dev_replace_finishing
 * (v5.11; the pre-6.4 patch on the linux-btrfs list, April 2023).
 *
 * <p>Here every read bio of the filesystem's device fails while the copy runs (the fault site armed with probability 1):
 * the target's copy of every block is zeros.
 */
class DevReplaceUnrepairedMetadataTest {

    /** The replace of a filesystem with files onto sdd while no read of the device succeeds; returns its outcome. */
    private static DevReplaceResult replaceWhileNothingReads(Repro r, Btrfs fs, FlakeyBlockDevice tgt) {
        r.mod.faults().armProbability(Fault.BIO_READ_EIO, 1.0, 1);
        try {
            return fs.replaceStart(1, tgt);
        } finally {
            r.mod.faults().disarm(Fault.BIO_READ_EIO);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheReplaceFinishesOntoATargetWithZeroedTreeBlocks(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_UNREPAIRED_METADATA)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdd");
            assertEquals(DevReplaceResult.NO_ERROR, replaceWhileNothingReads(r, fs, tgt));
            assertTrue(r.logged("unable to fixup (regular) error at logical "), r.mod.log().dmesg());
            assertTrue(r.logged("dev_replace from sdc (devid 1) to sdd finished"), r.mod.log().dmesg());
            fs.umount();
            assertFalse(Check.check(tgt, crc).clean(), "the new device has tree blocks of zeros");
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheCopyFailsAndTheFilesystemStaysOnItsSource(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdd");
            BtrfsException e = assertThrows(BtrfsException.class, () -> replaceWhileNothingReads(r, fs, tgt));
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertTrue(r.logged("btrfs_scrub_dev(sdc, 1, sdd) failed -5"), r.mod.log().dmesg());
            assertEquals(DevReplaceStatus.State.CANCELED, fs.replaceStatus().state());
            fs.umount();
            Btrfs again = r.mount("");
            assertArrayEquals(DevReplaceTest.DATA, again.readFile("/f3"));
            again.umount();
            assertTrue(Check.check(r.dev, crc).clean(), () -> Check.check(r.dev, crc).toString());
            assertTrue(r.mod.unload().clean());
        }
    }
}
