package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.fs.tools.Blkid;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A replace inside a power cut (dm-flakey's drop_writes on both disks, one power): the copy reads the source, whose
 * blocks of the commits made since the cut are not there ("checksum/header error at logical L on dev D, generation N, expected M", a generation error in the device statistics), writes the
 * target — dropped —, swaps the target in, and from then on every block not in memory is read from a disk that never
 * received the copy: it holds whatever it held before the cut, here an earlier filesystem. The read fails its
 * checks — verify_parent_transid's "parent transid verify failed ... wanted N found M" (EIO) — and the filesystem
 * once the cut ends is the one the last commit before the cut left, untouched.
 *
 * <p>Decision (stop 66, classes 06d28674 and 6081a25e of the replace lane, met in a clean clone's LanesTest and in
 * hunts with every fix applied): <b>not a kernel bug, not a port bug</b> — the disks acknowledged writes they dropped,
 * and the kernel checked what they returned, as it must (a real machine's power cut stops the reads too; dm-flakey's
 * cut, as fstests' {@code _flakey_drop_and_remount} uses it, leaves the kernel running). Every header error of the
 * replays of 66001:2683:2 came while the disks dropped writes. The explorer takes a tree block read that fails its
 * checks during a cut as an outcome (LaneWorker#readInAPowerCut, Classifier#readInACut); one outside a cut stays a
 * failure. Read: btrfs_dev_replace_start, btrfs_dev_replace_finishing (dev-replace.c), scrub_checksum_tree_block
 * (scrub.c), read_tree_block / verify_parent_transid (disk-io.c), v5.11; dm-flakey's drop_writes
 * (drivers/md/dm-flakey.c).
 */
class ReplaceInAPowerCutTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aReplaceInACutSwapsInADiskThatNeverGotTheCopy(Crc32cImpl crc) {
        // 5.11's copy, which finishes past blocks it could not repair (the later upstream DEV_REPLACE_UNREPAIRED_METADATA,
        // applied, ends it -EIO at the first such tree block instead, the filesystem staying on sdd)
        try (Repro r = new Repro(crc, org.jbtrfs.core.FixSwitch.DEV_REPLACE_UNREPAIRED_METADATA)) {
            FlakeyBlockDevice sdd = r.mod.createFlakeyDevice("sdd", r.mod.createDevice("sdd-disk", 64L << 20));
            FlakeyBlockDevice sde = r.mod.createFlakeyDevice("sde", r.mod.createDevice("sde-disk", 64L << 20), sdd);
            r.mod.mkfs(sde); // the spare held another filesystem before (an earlier epoch's)
            Btrfs earlier = r.mod.mount(sde, "");
            fillSubvolume(earlier, "earlier".getBytes());
            earlier.umount();
            r.mod.mkfs(sdd);
            Btrfs fs = r.mod.mount(sdd, "");
            byte[] data = "the filesystem's own data".getBytes();
            fillSubvolume(fs, data);
            fs.umount();
            String fsid = Blkid.probe(sdd).fsid();

            fs = r.mod.mount(sdd, ""); // nothing of /sv in memory
            sdd.dropWrites(); // the power cut: both disks drop every write from here on
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, sde));
            assertTrue(r.logged("checksum/header error at logical ") && r.logged(", corrupt 0, gen 1"), "the copy met the blocks of the commits the cut dropped: "
                + r.mod.log().dmesg());
            assertEquals(java.util.Map.of(1L, sde), fs.devices());
            Btrfs mounted = fs;
            BtrfsException e = assertThrows(BtrfsException.class, () -> mounted.readFile("/sv/f0"));
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("bad fsid on block"), "the earlier filesystem's block: " + e.getMessage());
            assertTrue(r.logged("bad fsid on block "));
            fs.umount();
            sdd.allowWrites(); // the cut ends with the filesystem closed

            assertEquals(fsid, Blkid.probe(sdd).fsid(), "the disk as the last commit before the cut left it");
            assertEquals(1, Blkid.probe(sdd).devid());
            Btrfs after = r.mod.mount(sdd, "");
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(data, after.readFile("/sv/f" + i));
            }
            after.umount();
            assertTrue(org.jbtrfs.fs.tools.Check.check(sdd, crc).clean());
        }
    }

    private static void fillSubvolume(Btrfs fs, byte[] data) {
        fs.createSubvolume("/sv");
        for (int i = 0; i < 4; i++) {
            fs.createFile("/sv/f" + i);
            fs.writeFile("/sv/f" + i, data);
        }
        fs.sync();
    }
}
