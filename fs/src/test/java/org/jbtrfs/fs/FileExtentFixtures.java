package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
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

    /** The EXTENT_DATA items of inode {@code ino} in the filesystem's tree, in key order. */
    static List<TreeItem> items(Btrfs fs, long ino) {
        FsInfo fi = fs.fsInfo();
        return Trees.range(fi, fi.fsRoot(), new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L));
    }

    /** The file offsets the items start at. */
    static List<Long> offsets(List<TreeItem> items) { return items.stream().map(it -> it.key().offset()).toList(); }

    /** Unmounts {@code fs}, checks the image (no problem at all) and unloads the module (nothing leaked). */
    static void umountCheckedAndUnloaded(Repro r, Btrfs fs) {
        fs.umount();
        Check.Report rep = Check.check(r.dev);
        assertTrue(rep.clean(), rep.text());
        assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
    }
}
