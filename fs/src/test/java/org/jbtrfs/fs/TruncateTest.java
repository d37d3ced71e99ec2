package org.jbtrfs.fs;

import static org.jbtrfs.fs.FileExtentFixtures.assertOneItem;
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

import java.time.Duration;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.TreeItem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * truncate / ftruncate (btrfs_setsize) and the holes a file gets when it grows over a range without data
 * (btrfs_cont_expand's maybe_insert_hole, no NO_HOLES): the items on disk, what reads return, what a remount and
 * btrfs check see, and that eviction and subvolume drop step over holes (they reference no data extent).
 */
class TruncateTest {


    private static FileExtentItem item(TreeItem it) { return FileExtentItem.decode(it.data()); }

    /** A shrink deletes the items beyond the new size and cuts the one holding it; the dropped extent is freed. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aShrinkDeletesTheItemsBeyondAndCutsTheOneHoldingTheNewEnd(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(8192, 'A'));
            fs.sync();
            fs.writeFile("a", filled(8192, 'B'));
            fs.sync();
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                assertEquals(List.of(0L, 8192L), offsets(items(fs, ino)));
                h.truncate(5000);
                assertEquals(5000, h.size());
            }
            assertOneItem(fs, ino, 5000);
            assertArrayEquals(filled(5000, 'A'), fs.readFile("a"));
            // the inode item says 5000 bytes; the second extent's reference is gone, and with it the extent
            remountReadsThenCheck(r, fs, "a", filled(5000, 'A'), "the inode item says 5000 bytes");
        }
    }

    /** Growing puts a hole item over the new range: it reads as zeros, survives a remount, and btrfs check is content. */
    @Test
    void anExpandingTruncateInsertsAHoleThatReadsAsZeros() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(3000, 'A'));
            fs.sync();
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                h.truncate(10000);
                assertEquals(10000, h.size());
            }
            List<TreeItem> items = items(fs, ino);
            assertEquals(List.of(0L, 3000L), offsets(items));
            assertTrue(item(items.get(1)).isHole());
            assertEquals(7000, item(items.get(1)).numBytes());
            byte[] want = expect(10000, 0, 3000, 'A');
            assertArrayEquals(want, fs.readFile("a"));
            remountReadsThenCheck(r, fs, "a", want, "disk_i_size covers the hole");
        }
    }

    /** A pwrite beyond the end expands the file with a hole first; a later write into the hole splits it. */
    @Test
    void aWriteBeyondTheEndLeavesAHoleAndAWriteIntoTheHoleSplitsIt() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                h.write(filled(100, 'A'));
                h.pwrite(5000, filled(100, 'B'));
                assertEquals(5100, h.size());
                fs.sync();
                assertEquals(List.of(0L, 100L, 5000L), offsets(items(fs, ino)));
                h.pwrite(2000, filled(1000, 'C'));
            }
            fs.sync();
            List<TreeItem> items = items(fs, ino);
            assertEquals(List.of(0L, 100L, 2000L, 3000L, 5000L), offsets(items));
            assertTrue(item(items.get(1)).isHole());
            assertTrue(item(items.get(3)).isHole());
            assertEquals(2900, item(items.get(3)).offset(), "the back of the split hole");
            byte[] want = expect(5100, 0, 100, 'A', 2000, 3000, 'C', 5000, 5100, 'B');
            assertArrayEquals(want, fs.readFile("a"));
            remountReadsThenCheck(r, fs, "a", want, "after a remount");
        }
    }

    /**
     * maybe_insert_hole's btrfs_drop_extents: a file a power cut left with an item beyond disk_i_size (i_size 0, an item
     * at [8K, 16K)) grows to 16K; the hole over [0, 16K) replaces that item — it is deleted and its extent freed — so the
     * file reads as zeros and btrfs check finds no overlap and no stray extent. Without the drop the stale bytes would
     * read back under the hole.
     */
    @Test
    void aHoleDropsAnItemAPowerCutLeftBeyondDiskISize() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            FileExtentFixtures.Remounted m = FileExtentFixtures.itemBeyondDiskISizeAfterPowerCut(r);
            m.fs().truncate("a", 16384);
            List<TreeItem> items = items(m.fs(), m.ino());
            assertEquals(List.of(0L), offsets(items));
            assertTrue(item(items.get(0)).isHole());
            assertEquals(16384, item(items.get(0)).numBytes());
            assertArrayEquals(new byte[16384], m.fs().readFile("a"), "zeros, not the stale item's bytes");
            umountCheckedAndUnloaded(r, m.fs());
        }
    }

    /** Dirty pages beyond the new size are thrown away unwritten; the dirty range holding it keeps its front. */
    @Test
    void aShrinkThrowsAwayTheDirtyPagesBeyondTheNewSize() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
                h.write(filled(8192, 'A'));
                h.truncate(1000);
                assertArrayEquals(filled(1000, 'A'), fs.readFile("a"));
            }
            fs.sync();
            assertOneItem(fs, ino, 1000);
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /**
     * btrfs_truncate waits for the ordered extents reaching past the new size (btrfs_wait_ordered_range) before it
     * deletes items: an ordered extent in flight finishes first, and its item is then cut.
     */
    @Test
    void aShrinkWaitsForTheOrderedExtentInFlightBeyondTheNewSize() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            try (FileHandle h = fs.open("a")) {
                h.write(filled(8192, 'A'));
                r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
                h.syncFileRange();
                r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
                TestThread<Void> truncate = TestThread.run("ftruncate", () -> h.truncate(2048));
                truncate.awaitBlockedIn("OrderedExtent", "waitComplete");
                assertFalse(truncate.done());
                r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
                truncate.join();
                assertOneItem(fs, h.ino(), 2048);
            }
            assertArrayEquals(filled(2048, 'A'), fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /**
     * __extent_writepage does not write pages wholly beyond i_size: a truncate sets i_size, then waits for the page locks
     * of an async chunk (compression); a sync meanwhile finds the dirty pages beyond the new size and leaves them to the
     * truncate — only the chunk's ordered extent completes, no extent is written for bytes being truncated away.
     */
    @Test
    void writebackDuringATruncateDoesNotWriteThePagesBeyondTheNewSize() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("compress");
            fs.createFile("a");
            try (FileHandle h = fs.open("a")) {
                h.write(filled(8192, 'A'));
                r.mod.hooks().parkAt(Hook.ASYNC_COW_BEFORE_COMPRESS, org.jbtrfs.core.Role.WORKER);
                TestThread<Void> writeback = TestThread.run("sync_file_range", h::syncFileRange);
                r.mod.hooks().awaitParked(Hook.ASYNC_COW_BEFORE_COMPRESS, Repro.WAIT);
                h.write(filled(8192, 'B')); // dirty [8K, 16K), not locked
                TestThread<Void> truncate = TestThread.run("ftruncate", () -> h.truncate(4096));
                truncate.awaitBlockedIn("InodeData", "truncatePagecache");
                r.mod.hooks().arm(Hook.ORDERED_EXTENT_BEFORE_FINISH, org.jbtrfs.core.HookAction.count(), Integer.MAX_VALUE);
                long finishedBefore = r.mod.hooks().arrivals(Hook.ORDERED_EXTENT_BEFORE_FINISH);
                TestThread<Void> sync = TestThread.run("sync", fs::sync);
                sync.awaitBlockedIn("InodeData", "waitLockedAndWriteback"); // past its writeback of the dirty pages
                r.mod.hooks().release(Hook.ASYNC_COW_BEFORE_COMPRESS);
                writeback.join();
                truncate.join();
                sync.join();
                assertEquals(finishedBefore + 1, r.mod.hooks().arrivals(Hook.ORDERED_EXTENT_BEFORE_FINISH),
                    "the chunk's ordered extent only");
                assertOneItem(fs, h.ino(), 4096);
            }
            assertArrayEquals(filled(4096, 'A'), fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /**
     * BTRFS_INODE_FLUSH_ON_CLOSE: after a truncate to 0, the close starts writeback of what was written since
     * (btrfs_release_file's filemap_flush); without the truncate, the close leaves the pages dirty.
     */
    @Test
    void aCloseAfterATruncateToZeroStartsWriteback() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(4096, 'A'));
            fs.sync();

            FileHandle plain = fs.open("a");
            plain.write(filled(100, 'B'));
            InodeData d = InodeData.of(fs.fsInfo(), plain.inode());
            plain.close();
            assertTrue(d.isDirty(), "a plain close writes nothing");
            fs.sync();

            FileHandle h = fs.open("a");
            h.truncate(0);
            h.write(filled(100, 'C'));
            assertTrue(d.isDirty());
            h.close();
            assertFalse(d.isDirty(), "the close took the dirty pages for writeback");
            fs.sync();
            assertArrayEquals(filled(100, 'C'), fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /** Eviction and the cleaner's drop of a deleted subvolume step over hole items: no data extent, nothing to free. */
    @Test
    void evictionAndSubvolumeDropStepOverHoles() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.createSubvolume("s");
            fs.createFile("s/b");
            fs.truncate("a", 9000);
            fs.truncate("s/b", 9000);
            try (FileHandle h = fs.open("s/b")) {
                h.pwrite(20000, filled(10, 'B'));
            }
            fs.sync();
            fs.unlink("a");
            fs.deleteSubvolume("s");
            fs.sync();
            fs.runCleanerPass(Repro.WAIT);
            fs.subvolumeSync(Duration.ZERO);
            umountCheckedAndUnloaded(r, fs);
        }
    }

    /** Bad input: a clear error, the file as it was, the module usable. */
    @Test
    void badLengthsAndHandlesAreRefusedAndLoseNothing() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.mkdir("d");
            fs.writeFile("a", filled(100, 'A'));
            try (FileHandle h = fs.open("a")) {
                IllegalArgumentException neg = assertThrows(IllegalArgumentException.class, () -> h.truncate(-1));
                assertTrue(neg.getMessage().contains("length"), neg.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> fs.truncate("a", -5));
            assertEquals(Errno.EISDIR, assertThrows(BtrfsException.class, () -> fs.truncate("d", 0)).errno());
            assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> fs.truncate("nope", 0)).errno());
            try (FileHandle ro = fs.open("a", OpenMode.READ_ONLY)) {
                BtrfsException e = assertThrows(BtrfsException.class, () -> ro.truncate(0));
                assertEquals(Errno.EINVAL, e.errno());
                assertTrue(e.getMessage().contains("not open for writing"), e.getMessage());
            }
            FileHandle closed = fs.open("a");
            closed.close();
            assertEquals(Errno.EBADF, assertThrows(BtrfsException.class, () -> closed.truncate(0)).errno());
            assertArrayEquals(filled(100, 'A'), fs.readFile("a"));
            fs.remount("ro");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> fs.truncate("a", 0)).errno());
            fs.remount("rw");
            fs.truncate("a", 10);
            assertArrayEquals(filled(10, 'A'), fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }
}
