package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.TreeMap;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.Csums;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.api.Test;

/**
 * btrfs_csum_file_blocks and btrfs_del_csums ({@link Csums}) against a model, a map of sector to sum: random runs of
 * sums inserted and ranges deleted, the tree read back after each step, and no two items overlapping.
 */
class CsumsModelTest {

    @Test
    void insertsAndDeletesKeepTheTreeEqualToTheModel() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mount("");
            FsInfo fi = fs.fsInfo();
            TreeMap<Long, Integer> model = new TreeMap<>();
            Random rnd = new Random(7600);
            long base = 1L << 30;
            for (int step = 0; step < 1500; step++) {
                TransHandle h = Transactions.join(fi, fi.csumRoot(), "test");
                long start = base + (long) rnd.nextInt(3000) * 4096;
                int n = 1 + (rnd.nextInt(10) == 0 ? rnd.nextInt(6000) : rnd.nextInt(40));
                if (rnd.nextInt(3) > 0) {
                    int[] sums = new int[n];
                    for (int i = 0; i < n; i++) {
                        sums[i] = rnd.nextInt();
                        model.put(start + (long) i * 4096, sums[i]);
                    }
                    Csums.insert(h, start, sums);
                } else {
                    Csums.delete(h, start, (long) n * 4096);
                    model.subMap(start, start + (long) n * 4096).clear();
                }
                Transactions.end(h);
                if (step % 50 == 49) {
                    fs.sync();
                }
                long[] got = Csums.lookup(fi, base, 9100);
                long[] want = new long[9100];
                Arrays.fill(want, Csums.MISSING);
                model.forEach((s, v) -> want[(int) ((s - base) / 4096)] = v & 0xffffffffL);
                assertArrayEquals(want, got, "step " + step);
                // a range that starts inside an item, maybe the first of a leaf: the search's step back to it
                int from = rnd.nextInt(9000);
                int k = 1 + rnd.nextInt(100);
                assertArrayEquals(Arrays.copyOfRange(want, from, from + k), Csums.lookup(fi, base + (long) from * 4096, k),
                    "step " + step + " from " + from);
                long end = Long.MIN_VALUE;
                for (TreeItem it : Trees.range(fi, fi.csumRoot(), new Key(ItemType.EXTENT_CSUM_OBJECTID, ItemType.EXTENT_CSUM, 0),
                    new Key(ItemType.EXTENT_CSUM_OBJECTID, ItemType.EXTENT_CSUM, -1L))) {
                    assertTrue(it.key().offset() >= end, "items overlap at step " + step + ": " + it.key());
                    assertTrue(it.data().length > 0 && it.data().length % 4 == 0, "item size " + it.data().length);
                    end = it.key().offset() + (long) it.data().length / 4 * 4096;
                }
            }
            fs.umount();
        }
    }
}
