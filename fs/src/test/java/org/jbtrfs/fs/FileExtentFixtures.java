package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/** Shared by the tests of writes over existing bytes: file contents, a file's extent items, the clean end. */
final class FileExtentFixtures {
    private FileExtentFixtures() { }

    /** {@code n} bytes of {@code c}. */
    static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    /** {@code size} bytes of zeros with runs {start, end, char} filled in. */
    static byte[] expect(int size, Object... runs) {
        byte[] b = new byte[size];
        for (int i = 0; i < runs.length; i += 3) {
            Arrays.fill(b, (int) runs[i], (int) runs[i + 1], (byte) (char) runs[i + 2]);
        }
        return b;
    }

    /** Unmounts {@code fs}, mounts the device again, asserts file {@code path} reads {@code want}, then checks and unloads. */
    static void remountReadsThenCheck(Repro r, Btrfs fs, String path, byte[] want, String why) {
        fs.umount();
        Btrfs again = r.mount("");
        org.junit.jupiter.api.Assertions.assertArrayEquals(want, again.readFile(path), why);
        umountCheckedAndUnloaded(r, again);
    }

    /** The EXTENT_DATA items of inode {@code ino} in the filesystem's tree, in key order. */
    static List<TreeItem> items(Btrfs fs, long ino) {
        FsInfo fi = fs.fsInfo();
        return Trees.range(fi, fi.fsRoot(), new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L));
    }

    /** Inode {@code ino} has one file extent item, [0, numBytes). */
    static void assertOneItem(Btrfs fs, long ino, long numBytes) {
        List<TreeItem> items = items(fs, ino);
        assertEquals(List.of(0L), offsets(items));
        assertEquals(numBytes, org.jbtrfs.core.disk.FileExtentItem.decode(items.get(0).data()).numBytes());
    }

    /** The file offsets the items start at. */
    static List<Long> offsets(List<TreeItem> items) { return items.stream().map(it -> it.key().offset()).toList(); }

    /** A filesystem mounted again and the inode number of its file "a". */
    record Remounted(Btrfs fs, long ino) { }

    /**
     * File "a" with i_size 0 and an item at [8K, 16K) beyond it, on a filesystem mounted again after a power cut
     * (OrderedExtentsDropTest has the steps): 1. an ordered extent for [0, 8K) is held before its completion; 2. the
     * append of [8K, 16K) completes first: its item is inserted, disk_i_size stays 0; 3. the transaction kthread commits
     * it; 4. power cut, the held completion and the umount reach nothing; 5. the next mount reads i_size 0.
     */
    static Remounted itemBeyondDiskISizeAfterPowerCut(Repro r) {
        FlakeyBlockDevice flakey = r.mod.createFlakeyDevice("flakey-sdc", r.dev);
        Btrfs fs = r.mod.mount(flakey, "");
        fs.createFile("a");
        long ino;
        try (FileHandle h = fs.open("a")) {
            ino = h.ino();
            h.write(filled(8192, 'A'));
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            h.syncFileRange();
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
            h.write(filled(8192, 'B'));
            h.syncFileRange();
            Waits.within(Repro.WAIT).until(() -> fs.ctx().ordered.pending() == 1);
            FsInfo fi = fs.fsInfo();
            long transid = fi.runningTransaction().transid;
            r.clock.advance(FsInfo.DEFAULT_COMMIT_INTERVAL + 1, TimeUnit.SECONDS);
            Waits.within(Repro.WAIT).until(() -> fi.lastTransCommitted() >= transid);
            flakey.dropWrites();
            r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
        }
        fs.umount();
        flakey.allowWrites();
        Btrfs again = r.mod.mount(flakey, "");
        assertEquals(0, again.fileSize("a"));
        assertEquals(List.of(8192L), offsets(items(again, ino)), "the item beyond i_size");
        return new Remounted(again, ino);
    }

    /** Unmounts {@code fs}, checks the image (no problem at all) and unloads the module (nothing leaked). */
    static void umountCheckedAndUnloaded(Repro r, Btrfs fs) {
        fs.umount();
        Check.Report rep = Check.check(r.dev);
        assertTrue(rep.clean(), rep.text());
        assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
    }
}
