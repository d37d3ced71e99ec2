package org.jbtrfs.fs;

import static org.jbtrfs.fs.FileExtentFixtures.filled;
import static org.jbtrfs.fs.FileExtentFixtures.items;
import static org.jbtrfs.fs.FileExtentFixtures.offsets;
import static org.jbtrfs.fs.FileExtentFixtures.umountCheckedAndUnloaded;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.api.Test;

/**
 * btrfs_finish_ordered_io's btrfs_drop_extents: the file extent items an ordered extent's range replaces are deleted,
 * trimmed or split, whatever the inode's in-memory state knows of them.
 *
 * <p><b>Explorer finding, decided: port bug</b> (stop 36's seed 36003, every fix applied: "kernel BUG at
 * fs/btrfs/file.c" in a kworker, then an RO remount hung in btrfs_wait_ordered_roots; stop 37 found the mechanism). The
 * port searched for items to drop only where its in-memory file_extent_tree said there were some, and raised a BUG when
 * an item reached past the range (it could not split). After a power cut an inode can have items its file_extent_tree
 * does not cover: without NO_HOLES (the port's format), btrfs_inode_safe_disk_i_size_write caps disk_i_size at the end
 * of the range covered from 0, so an ordered extent that finished ahead of an earlier one leaves its item beyond
 * disk_i_size; the commit persists it, the earlier one never reaches the disk; btrfs_read_locked_inode at the next mount
 * sets the file_extent_tree to [0, i_size). The next append writes over that item. The kernel (v5.11 and mainline):
 * insert_reserved_file_extent (inode.c) always calls __btrfs_drop_extents (file.c), which looks up the range's start,
 * steps back one slot to an item that may reach into it, and deletes, trims (btrfs_set_item_key_safe for the front) or
 * splits (btrfs_duplicate_item + btrfs_inc_extent_ref) every item it meets. The port skipped the drop — the old item
 * stayed under the new one and reads returned its stale bytes — or hit its BUG. Fixed: OrderedExtents.dropExtents is
 * __btrfs_drop_extents, and a file extent item carries its offset into the data extent.
 */
class OrderedExtentsDropTest {


    /**
     * 1. an ordered extent for [0, 8K) is held before its completion; 2. the append of [8K, 16K) completes first: its item
     * is inserted, disk_i_size stays 0 (the range from 0 is not covered); 3. the transaction kthread commits it; 4. power
     * cut; the held completion and the umount reach nothing; 5. the next mount reads i_size 0 and the item at 8K beyond
     * it; 6. an append of 12K at 0 completes: the item at 8K loses its front [8K, 12K) and keeps [12K, 16K) at offset 4K.
     */
    @Test
    void anAppendOverAnItemAPowerCutLeftBeyondDiskISizeTrimsIt() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            FileExtentFixtures.Remounted m = FileExtentFixtures.itemBeyondDiskISizeAfterPowerCut(r); // 1) to 5)
            Btrfs again = m.fs();
            long ino = m.ino();
            again.writeFile("a", filled(12288, 'C')); // 6)
            again.sync();

            List<TreeItem> items = items(again, ino);
            assertEquals(List.of(0L, 12288L), offsets(items));
            FileExtentItem back = FileExtentItem.decode(items.get(1).data());
            assertEquals(4096, back.offset(), "the kept part starts 4K into its extent");
            assertEquals(4096, back.numBytes());
            assertArrayEquals(filled(12288, 'C'), again.readFile("a"), "no stale byte under the new ones");
            assertEquals(0, r.mod.log().count(LogEntry.Kind.BUG), r.mod.log().dmesg());
            umountCheckedAndUnloaded(r, again);
        }
    }

    /**
     * The split: an item [0, 16K) under an inode whose i_size is 4K (written directly, as btrfs check's tests craft
     * images); an append of 4K at 4K cuts it into [0, 4K) and [8K, 16K) — btrfs_duplicate_item and one more reference on
     * the data extent — and the read returns the old bytes around the new ones.
     */
    @Test
    void anAppendInsideAnItemSplitsItAndTheExtentGainsAReference() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
            }
            FsInfo fi = fs.fsInfo();
            Root root = fi.fsRoot();
            byte[] old = filled(16384, 'O');
            TransHandle t = Transactions.start(fi, root, 2, "test_craft");
            long bytenr = Extents.allocDataExtent(t, root.objectid(), 257, 0, old.length);
            fi.device.write(bytenr, old, 0, old.length);
            org.jbtrfs.transaction.Csums.insert(t, bytenr, org.jbtrfs.transaction.Csums.compute(
                org.jbtrfs.core.kernel.Crc32c.of(Crc32cImpl.ACCELERATED), old)); // add_pending_csums' sums
            Trees.insert(t, root, new Key(ino, ItemType.EXTENT_DATA, 0), new FileExtentItem(bytenr, 16384, 16384, t.transid()).encode());
            Key inodeKey = new Key(ino, ItemType.INODE_ITEM, 0);
            InodeItem i = InodeItem.decode(Trees.lookup(fi, root, inodeKey));
            Trees.update(t, root, inodeKey, new InodeItem(i.generation(), t.transid(), 4096, 16384, i.nlink(), i.mode()).encode());
            Transactions.commit(t);
            fs.umount(); // the inode leaves the cache: the next mount reads i_size 4K

            Btrfs again = r.mount("");
            again.writeFile("a", filled(4096, 'N'));
            again.sync();

            List<TreeItem> items = items(again, ino);
            assertEquals(List.of(0L, 4096L, 8192L), offsets(items));
            FileExtentItem front = FileExtentItem.decode(items.get(0).data());
            FileExtentItem back = FileExtentItem.decode(items.get(2).data());
            assertEquals(List.of(bytenr, 0L, 4096L), List.of(front.diskBytenr(), front.offset(), front.numBytes()));
            assertEquals(List.of(bytenr, 8192L, 8192L), List.of(back.diskBytenr(), back.offset(), back.numBytes()));
            assertEquals(2, ExtentItem.decode(Trees.lookup(fi(again), fi(again).extentRoot(), new Key(bytenr, ItemType.EXTENT_ITEM, 16384))).refs(),
                "btrfs_inc_extent_ref for the back part");
            byte[] expect = new byte[8192];
            System.arraycopy(filled(4096, 'O'), 0, expect, 0, 4096);
            System.arraycopy(filled(4096, 'N'), 0, expect, 4096, 4096);
            assertArrayEquals(expect, again.readFile("a"));
            assertEquals(4096 + 4096 + 8192, InodeItem.decode(Trees.lookup(fi(again), fi(again).fsRoot(), inodeKey)).nbytes(),
                "i_bytes: the 16K item less the 4K cut out (inode_sub_bytes), plus the new 4K item");
            again.umount();
            Check.Report rep = Check.check(r.dev);
            assertTrue(rep.clean(), rep.text());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * <b>Port bug, found while porting truncate (stop 38); decided from the kernel, v5.11 and mainline:</b>
     * __btrfs_drop_extents (file.c) and btrfs_truncate_inode_items (inode.c) search the inode's items with
     * btrfs_search_slot for write and change them with the leaf write-locked from the search on, so a second changer
     * waits and searches afresh. The port read the items into a list and changed them one Trees call at a time: an
     * ordered extent's completion that read the item [0, 16K) and a truncate to 12K in between — the completion then
     * split the item as it had read it and left [3K, 16K), an item reaching past i_size over bytes the truncate had
     * cut (two completions inside one item on two endio-write workers: overlapping items). Fixed: both hold the inode's
     * {@code fileExtentItemsLock} from their search to their last change. Steps: 1. item [0, 16K) on disk; 2. a pwrite
     * of [2K, 3K) is written back and its completion parks after its search ({@code DROP_EXTENTS_AFTER_SEARCH}); 3. a
     * truncate to 12K (it does not wait for that ordered extent: it ends below the new size) waits for the lock; 4.
     * released: the split, then the cut — the last item ends at 12K.
     */
    @Test
    void aTruncateWaitsForACompletionThatSearchedTheItemsItCuts() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", filled(16384, 'O'));
            fs.sync(); // 1)
            try (FileHandle h = fs.open("a")) {
                h.pwrite(2048, filled(1024, 'B'));
                r.mod.hooks().parkAt(Hook.DROP_EXTENTS_AFTER_SEARCH);
                h.syncFileRange(); // 2)
                r.mod.hooks().awaitParked(Hook.DROP_EXTENTS_AFTER_SEARCH, Repro.WAIT);
                TestThread<Void> truncate = TestThread.run("ftruncate", () -> h.truncate(12288)); // 3)
                truncate.awaitBlockedIn("Truncate", "truncateItems");
                r.mod.hooks().release(Hook.DROP_EXTENTS_AFTER_SEARCH); // 4)
                truncate.join();
                List<TreeItem> items = items(fs, h.ino());
                assertEquals(List.of(0L, 2048L, 3072L), offsets(items));
                FileExtentItem last = FileExtentItem.decode(items.get(2).data());
                assertEquals(12288, 3072 + last.numBytes(), "the last item ends at the new size");
            }
            byte[] expect = filled(12288, 'O');
            java.util.Arrays.fill(expect, 2048, 3072, (byte) 'B');
            assertArrayEquals(expect, fs.readFile("a"));
            umountCheckedAndUnloaded(r, fs);
        }
    }

    private static FsInfo fi(Btrfs fs) { return fs.fsInfo(); }

}
