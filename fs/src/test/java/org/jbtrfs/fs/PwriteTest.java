package org.jbtrfs.fs;

import static org.jbtrfs.fs.FileExtentFixtures.expect;
import static org.jbtrfs.fs.FileExtentFixtures.filled;
import static org.jbtrfs.fs.FileExtentFixtures.remountReadsThenCheck;
import static org.jbtrfs.fs.FileExtentFixtures.items;
import static org.jbtrfs.fs.FileExtentFixtures.offsets;
import static org.jbtrfs.fs.FileExtentFixtures.umountCheckedAndUnloaded;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.TreeItem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * pwrite(2) over bytes already in the file: into the page cache (merged with the dirty ranges it meets), after the
 * ordered extents of its range completed (lock_and_cleanup_extent_if_need); its ordered extent's completion trims or
 * splits the items under it (btrfs_drop_extents), and the file reads back what was written last.
 */
class PwriteTest {

    /** A write inside a written extent splits its item: [0, 4K) and [8K, 16K) of the old extent around the new [4K, 8K). */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anOverwriteInsideAWrittenExtentSplitsItsItem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(16384, 'O'));
            fs.sync();
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                h.pwrite(4096, filled(4096, 'N'));
                assertEquals(16384, h.size());
            }
            byte[] want = expect(16384, 0, 16384, 'O', 4096, 8192, 'N');
            assertArrayEquals(want, fs.readFile("a"), "the page cache");
            fs.sync();
            List<TreeItem> items = items(fs, ino);
            assertEquals(List.of(0L, 4096L, 8192L), offsets(items));
            FileExtentItem front = FileExtentItem.decode(items.get(0).data());
            FileExtentItem back = FileExtentItem.decode(items.get(2).data());
            assertEquals(front.diskBytenr(), back.diskBytenr(), "both parts point into the old extent");
            assertEquals(8192, back.offset());
            assertArrayEquals(want, fs.readFile("a"), "the items");
            remountReadsThenCheck(r, fs, "a", want, "after a remount");
        }
    }

    /** Writes into dirty ranges merge with them (and with a neighbour they touch); past the end they grow the file. */
    @Test
    void overwritesOfDirtyRangesMergeAndAWritePastTheEndGrowsTheFile() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                h.write(filled(6000, 'A'));
                h.pwrite(1000, filled(1000, 'B'));
                h.pwrite(5500, filled(1000, 'C')); // 500 bytes past the end
                assertEquals(6500, h.size());
                h.pwrite(6500, filled(10, 'D')); // at the end: an append
            }
            byte[] want = expect(6510, 0, 6000, 'A', 1000, 2000, 'B', 5500, 6500, 'C', 6500, 6510, 'D');
            assertArrayEquals(want, fs.readFile("a"));
            fs.sync();
            assertEquals(List.of(0L), offsets(items(fs, ino)), "one dirty range, one extent");
            assertArrayEquals(want, fs.readFile("a"));
            fs.umount();
            assertTrue(Check.check(r.dev).clean());
        }
    }

    /**
     * An overwrite of a range whose ordered extent is in flight waits for its completion (lock_and_cleanup_extent_if_need
     * → btrfs_start_ordered_extent), then dirties the range: the later write wins on disk.
     */
    @Test
    void anOverwriteWaitsForTheOrderedExtentOfItsRange() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            try (FileHandle h = fs.open("a")) {
                h.write(filled(8192, 'A'));
                r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
                h.syncFileRange();
                r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
                TestThread<Void> pwrite = TestThread.run("pwrite", () -> h.pwrite(2048, filled(2048, 'B')));
                pwrite.awaitBlockedIn("OrderedExtent", "waitComplete");
                assertFalse(pwrite.done());
                r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
                pwrite.join();
            }
            fs.sync();
            assertArrayEquals(expect(8192, 0, 8192, 'A', 2048, 4096, 'B'), fs.readFile("a"));
            fs.umount();
            assertTrue(Check.check(r.dev).clean());
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /**
     * prepare_pages' lock_page: a compressed write's async chunk holds the pages it took until its submit step; a pwrite
     * into them waits, one past them (an append at i_size) does not.
     */
    @Test
    void aPwriteWaitsForTheLockedPagesOfItsRangeOnly() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("compress");
            fs.createFile("a");
            try (FileHandle h = fs.open("a")) {
                h.write(filled(8192, 'A'));
                r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, org.jbtrfs.core.Role.WORKER);
                TestThread<Void> writeback = TestThread.run("sync_file_range", h::syncFileRange);
                r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT);
                h.pwrite(8192, filled(100, 'C')); // past the chunk's pages: no wait
                TestThread<Void> into = TestThread.run("pwrite", () -> h.pwrite(4096, filled(100, 'B')));
                into.awaitBlockedIn("InodeData", "waitPagesUnlocked");
                assertFalse(into.done());
                r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
                into.join();
                writeback.join();
            }
            fs.sync();
            assertArrayEquals(expect(8292, 0, 8192, 'A', 4096, 4196, 'B', 8192, 8292, 'C'), fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /** Bad input: a clear error, nothing written, the file and the module usable. */
    @Test
    void badOffsetsAndHandlesAreRefusedAndLoseNothing() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(100, 'A'));
            try (FileHandle h = fs.open("a")) {
                IllegalArgumentException neg = assertThrows(IllegalArgumentException.class, () -> h.pwrite(-1, new byte[1]));
                assertTrue(neg.getMessage().contains("offset"), neg.getMessage());
                assertThrows(IllegalArgumentException.class, () -> h.pwrite(0, null));
                h.pwrite(100, filled(1, 'B'));
            }
            try (FileHandle ro = fs.open("a", OpenMode.READ_ONLY)) {
                BtrfsException e = assertThrows(BtrfsException.class, () -> ro.pwrite(0, new byte[1]));
                assertEquals(Errno.EBADF, e.errno());
            }
            FileHandle closed = fs.open("a");
            closed.close();
            assertEquals(Errno.EBADF, assertThrows(BtrfsException.class, () -> closed.pwrite(0, new byte[1])).errno());
            assertEquals(Errno.EBADF, assertThrows(BtrfsException.class, closed::size).errno());
            assertArrayEquals(expect(101, 0, 100, 'A', 100, 101, 'B'), fs.readFile("a"));
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
