package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.Csums;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Data checksums (fs/btrfs/file-item.c, inode.c of 5.11): btrfs_csum_one_bio at submission, add_pending_csums in
 * btrfs_finish_ordered_io, btrfs_del_csums when a data extent's last reference goes, check_data_csum at read with the
 * read repair's next mirror, and btrfs check's csum stage. Before stop 76 the port kept no csum tree (a simplification:
 * a sector that changed on disk read back as it was, unnoticed).
 */
class CsumTreeTest {

    private static byte[] data(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    private static long ino(Btrfs fs, String name) {
        try (FileHandle h = fs.open(name, OpenMode.READ_ONLY)) {
            return h.ino();
        }
    }

    static FileExtentItem extentOf(Btrfs fs, String name) {
        long ino = ino(fs, name);
        List<TreeItem> items = FileExtentFixtures.items(fs, ino);
        assertEquals(1, items.size(), "one extent item for " + name);
        return FileExtentItem.decode(items.get(0).data());
    }

    private static List<Key> csumKeys(Btrfs fs) {
        FsInfo fi = fs.fsInfo();
        return Trees.range(fi, fi.csumRoot(), Key.MIN, new Key(-1L, 255, -1L)).stream().map(TreeItem::key).toList();
    }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void theSumsOfWrittenDataAreInTheTreeUntilItsExtentIsFreed(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            byte[] d = data(10_000, 7);
            fs.createFile("f");
            fs.writeFile("f", d);
            fs.sync();
            FileExtentItem fe = extentOf(fs, "f");
            long[] sums = Csums.lookup(fs.fsInfo(), fe.diskBytenr(), 3);
            byte[] padded = Arrays.copyOf(d, 3 * 4096); // the last sector's tail zeroed, as the written page's
            org.jbtrfs.core.kernel.Crc32c c = org.jbtrfs.core.kernel.Crc32c.of(crc);
            assertArrayEquals(new long[] {c.compute(padded, 0, 4096) & 0xffffffffL, c.compute(padded, 4096, 4096) & 0xffffffffL,
                c.compute(padded, 8192, 4096) & 0xffffffffL}, sums);
            assertEquals(List.of(new Key(ItemType.EXTENT_CSUM_OBJECTID, ItemType.EXTENT_CSUM, fe.diskBytenr())), csumKeys(fs));
            assertArrayEquals(d, fs.readFile("f"));
            fs.unlink("f");
            fs.sync(); // the commit runs the delayed refs: __btrfs_free_extent → btrfs_del_csums
            assertEquals(List.of(), csumKeys(fs));
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc, true);
            assertTrue(rep.clean(), rep.text());
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /**
     * Extents written one after the other share one item (btrfs_csum_file_blocks extends the item that ends where the
     * next sums start); freeing the middle one splits it, the first one chops its front.
     */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void adjacentExtentsShareAnItemThatTheirFreesCut(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            for (String n : List.of("a", "b", "c")) {
                fs.createFile(n);
                fs.writeFile(n, data(8192, n.charAt(0)));
                fs.sync(); // one extent at a time, in order
            }
            long a = extentOf(fs, "a").diskBytenr();
            long b = extentOf(fs, "b").diskBytenr();
            long c = extentOf(fs, "c").diskBytenr();
            assertEquals(List.of(a + 8192, b + 8192), List.of(b, c), "allocated back to back");
            assertEquals(List.of(csumKey(a)), csumKeys(fs), "one item for the three extents");
            fs.unlink("b");
            fs.sync();
            assertEquals(List.of(csumKey(a), csumKey(c)), csumKeys(fs), "split around b's extent");
            fs.unlink("a");
            fs.sync();
            assertEquals(List.of(csumKey(c)), csumKeys(fs));
            assertArrayEquals(data(8192, 'c'), fs.readFile("c"));
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc, true);
            assertTrue(rep.clean(), rep.text());
        }
    }

    private static Key csumKey(long bytenr) { return new Key(ItemType.EXTENT_CSUM_OBJECTID, ItemType.EXTENT_CSUM, bytenr); }

    /**
     * A sector that changed on disk behind the filesystem's back: check_data_csum's "csum failed" line, a corruption
     * error in the device's statistics, -EIO to the reader (one mirror: nothing to repair from); the rest of the
     * filesystem reads on, and btrfs check --check-data-csum names the sector.
     */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aSectorChangedOnDiskFailsItsReadWithEio(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("f");
            fs.writeFile("f", data(6000, 1));
            fs.createFile("g");
            fs.writeFile("g", data(100, 2));
            fs.sync();
            long bytenr = extentOf(fs, "f").diskBytenr();
            long gen = extentOf(fs, "f").generation(); // the transaction that allocated the extent
            fs.umount();
            r.dev.write(bytenr + 4096 + 10, new byte[] {0x55}, 0, 1); // the second sector of f's extent
            Check.Report rep = Check.check(r.dev, crc, true);
            assertEquals(1, rep.of(Check.Kind.DATA_CSUM_MISMATCH).size(), rep.text());
            assertTrue(Check.check(r.dev, crc).clean(), "without --check-data-csum the metadata is clean");
            assertTrue(Check.checkData(r.dev, crc, gen + 1).clean(), "the extents of older generations are not read");
            assertEquals(1, Check.checkData(r.dev, crc, gen).of(Check.Kind.DATA_CSUM_MISMATCH).size(), "f's extent is not older");
            assertThrows(IllegalArgumentException.class, () -> Check.checkData(r.dev, crc, -1));

            Btrfs again = r.mount("");
            BtrfsException e = assertThrows(BtrfsException.class, () -> again.readFile("f"));
            assertEquals(Errno.EIO, e.errno());
            String dmesg = r.mod.log().dmesg();
            assertTrue(dmesg.contains("csum failed root 5 ino " + ino(again, "f") + " off 4096 csum 0x"), dmesg);
            assertTrue(dmesg.contains("mirror 1"), dmesg);
            assertTrue(dmesg.contains("corrupt 1, gen 0"), dmesg);
            assertArrayEquals(data(100, 2), again.readFile("g"));
            again.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /** btrfs check's csum stage: sums no extent covers, and an extent's sector without its sum. */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void checkFindsSumsWithoutAnExtentAndAnExtentMissingSums(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("f");
            fs.writeFile("f", data(8192, 3));
            fs.sync();
            long bytenr = extentOf(fs, "f").diskBytenr();
            FsInfo fi = fs.fsInfo();
            TransHandle h = Transactions.join(fi, fi.csumRoot(), "test");
            Csums.delete(h, bytenr + 4096, 4096); // f's second sector loses its sum
            Csums.insert(h, bytenr + (1L << 20), new int[] {1, 2}); // sums where no extent is
            Transactions.end(h);
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc);
            assertEquals(1, rep.of(Check.Kind.CSUM_MISSING).size(), rep.text());
            assertTrue(rep.of(Check.Kind.CSUM_MISSING).get(0).message().contains("errors 1000, some csum missing"), rep.text());
            assertEquals(1, rep.of(Check.Kind.CSUM_WITHOUT_EXTENT).size(), rep.text());
            assertTrue(rep.text().contains("csum exists for " + (bytenr + (1L << 20)) + "-" + (bytenr + (1L << 20) + 8192)
                + " but there is no extent record"), rep.text());
        }
    }

    /**
     * scrub_checksum_data: a scrub reads every summed sector; the changed one is a checksum error (a read-only scrub
     * judges nothing uncorrectable: ScrubErrorStatsTest).
     */
    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aScrubCountsTheChangedSectorAsAChecksumError(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("f");
            fs.writeFile("f", data(3 * 4096, 4));
            fs.sync();
            long bytenr = extentOf(fs, "f").diskBytenr();
            ScrubProgress clean = fs.scrub(true);
            assertEquals(List.of(3L, 0L, 0L), List.of(clean.dataBytesScrubbed() / 4096, clean.csumErrors(), clean.noCsum()), clean.toString());
            r.dev.write(bytenr + 8192, new byte[] {0x55}, 0, 1);
            ScrubProgress p = fs.scrub(true);
            assertEquals(List.of(1L, 0L, 0L), List.of(p.csumErrors(), p.uncorrectableErrors(), p.verifyErrors()), p.toString());
            assertTrue(r.mod.log().dmesg().contains("checksum error at logical " + (bytenr + 8192)), r.mod.log().dmesg());
            fs.umount();
        }
    }
}
