package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * 10^5 items through {@link Trees} in one transaction, one commit, and a reopen from the device: every
 * item is there, the trees pass the tree checker, and the extent tree accounts for every tree block
 * the commit wrote.
 */
class BulkTransactionTest {
    private static final int N = 100_000;
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void hundredThousandItemsInOneTransactionPersistAfterReopen() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_bulk");
        // a spread-out insertion order, so splits happen all over the tree
        for (int j = 0; j < N; j++) {
            long i = (j * 7919L) % N;
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "bulk"));
        }
        assertEquals(1, fs.transList().size());
        Transactions.commit(h);
        assertEquals(h.transid(), t.onDiskGeneration());
        TreeChecker.TreeShape before = TreeChecker.check(fs.btreeInode.reader(), fs.fsRoot().node());
        long metaUsed = fs.space.counters(BlockGroupType.METADATA).used();
        t.closeClean(fs);

        FsInfo again = t.open();
        TreeChecker.TreeShape shape = TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        assertEquals(before, shape);
        assertEquals(N + 1, shape.items(), "the items and mkfs's root directory inode");
        assertTrue(shape.height() >= 2, shape.toString());
        List<TreeItem> items = Trees.range(again, again.fsRoot(), key(0), key(N - 1));
        assertEquals(N, items.size());
        for (int i = 0; i < N; i++) {
            TreeItem it = items.get(i);
            assertEquals(key(i), it.key());
            assertArrayEquals(data(i, "bulk"), it.data(), "item " + i);
        }

        // the extent tree has one METADATA_ITEM per tree block of every tree, and the block group
        // items say as much
        long treeBlocks = 0;
        for (TreeItem it : Trees.range(again, again.extentRoot(), Key.MIN, Key.MAX)) {
            if (it.key().type() == ItemType.METADATA_ITEM) {
                treeBlocks++;
                assertEquals(1, ExtentItem.decode(it.data()).refs(), "tree block " + it.key().objectid());
            }
        }
        assertEquals(metaUsed, treeBlocks * 16384);
        assertEquals(metaUsed, again.space.counters(BlockGroupType.METADATA).used());
        assertTrue(treeBlocks >= shape.nodes() + shape.leaves());
        t.closeClean(again);
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload());
    }
}
