package org.jbtrfs.bench;

import org.jbtrfs.fs.internal.Internals;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.Item;
import org.jbtrfs.transaction.ctree.Leaf;

/** A filesystem with many small data extents, for the qgroup rescan measurements outside JMH. */
final class RescanFixture {
    static final int FILES = 1000;
    static final int EXTENT_BYTES = 100;

    private RescanFixture() { }

    /** A device big enough that {@code extents} 4 KiB data extents fit one data chunk (1–8 GiB, sparse). */
    static long deviceSize(int extents) {
        long size = Math.min(8L << 30, Math.max(1L << 30, Long.highestOneBit((long) extents * 4096 * 10) << 1));
        if (size / 8 < (long) extents * 4096 * 5 / 4) {
            throw new IllegalArgumentException("at most " + (1L << 30) / 4096 * 4 / 5 + " extents fit one data chunk");
        }
        return size;
    }

    /** {@code extents} appends of {@link #EXTENT_BYTES} spread over {@link #FILES} files: one data extent each. */
    static void build(Btrfs fs, int extents) {
        int files = Math.min(FILES, extents);
        byte[] data = new byte[EXTENT_BYTES];
        for (int f = 0; f < files; f++) {
            fs.createFile("f" + f);
        }
        for (int i = 0; i < extents; i++) {
            fs.writeFile("f" + (i % files), data);
        }
    }

    /** {EXTENT_ITEM + METADATA_ITEM items, leaves} in the extent tree's commit root: what one rescan walks. */
    static int[] extentItems(Btrfs fs) {
        FsInfo fi = Internals.fsInfo(fs);
        int items = 0;
        int leaves = 0;
        Key k = Key.MIN;
        while (true) {
            Leaf l = Trees.commitRootLeaf(fi, fi.extentRoot(), k);
            leaves++;
            for (Item it : l.items()) {
                int type = it.key().type();
                if (type == ItemType.EXTENT_ITEM || type == ItemType.METADATA_ITEM) {
                    items++;
                }
            }
            if (l.isLast()) {
                return new int[] {items, leaves};
            }
            k = l.nextKey();
        }
    }
}
