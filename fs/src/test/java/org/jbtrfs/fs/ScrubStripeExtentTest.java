package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.space.BlockGroup;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug, stop 76 (explorer class {@code e73c597e}, "fsck:DATA_CSUM_MISMATCH" after a replace, seeds 76002 and
 * 76003, found once the after-umount check read the data against the new csum tree): scrub_stripe searches the extent
 * tree's commit root for (stripe start, METADATA_ITEM, -1) and steps back with btrfs_previous_extent_item, which walks
 * past items that are not extent items to the extent that may reach into the stripe. The port took the one item before
 * the stripe; for a data extent that starts at its block group's start that item is the group's BLOCK_GROUP_ITEM (its
 * key sorts after the extent's), so every stripe after the first missed the extent: a scrub read 64 KiB of it, and a
 * replace copied 64 KiB and finished onto a target without the rest — the source had it, the target held what the disk
 * held before. Not the kernel's: 5.11 scrub_stripe and btrfs_previous_extent_item (scrub.c, ctree.c), mainline's
 * scrub_find_fill_first_stripe the same walk. Both fail on the old code.
 */
class ScrubStripeExtentTest {
    private static final int LEN = 256 << 10;

    /** A file whose one data extent starts at the data block group's start and spans four 64 KiB stripes. */
    private static byte[] fileAtTheGroupStart(Btrfs fs) {
        byte[] d = new byte[LEN];
        new Random(76).nextBytes(d);
        fs.createFile("big");
        fs.writeFile("big", d);
        fs.sync();
        try (FileHandle h = fs.open("big", OpenMode.READ_ONLY)) {
            FileExtentItem fe = FileExtentItem.decode(FileExtentFixtures.items(fs, h.ino()).get(0).data());
            BlockGroup bg = fs.fsInfo().space.lookupBlockGroup(fe.diskBytenr());
            try {
                assertEquals(bg.start(), fe.diskBytenr(), "the extent starts at its group's start");
            } finally {
                fs.fsInfo().space.putBlockGroup(bg);
            }
        }
        return d;
    }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aScrubReadsAllOfAnExtentAtItsGroupsStart(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fileAtTheGroupStart(fs);
            ScrubProgress p = fs.scrub(true);
            assertEquals(LEN, p.dataBytesScrubbed(), p.toString());
            fs.umount();
        }
    }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aReplaceCopiesAllOfAnExtentAtItsGroupsStart(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            BlockDevice src = r.mod.createDevice("sdx", 64L << 20);
            BlockDevice tgt = r.mod.createDevice("sdy", 64L << 20);
            byte[] old = new byte[1 << 20];
            new Random(1).nextBytes(old);
            for (long o = 0; o < tgt.size(); o += old.length) {
                tgt.write(o, old, 0, old.length); // what the target disk held before: not the file's bytes
            }
            r.mod.mkfs(src);
            Btrfs fs = r.mod.mount(src, "");
            byte[] d = fileAtTheGroupStart(fs);
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, tgt));
            fs.umount();
            Check.Report rep = Check.check(tgt, crc, true);
            assertTrue(rep.clean(), rep.text());
            Btrfs moved = r.mod.mount(tgt, "");
            assertArrayEquals(d, moved.readFile("big"));
            moved.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
