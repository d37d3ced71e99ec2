package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Copy-on-write persistence across "mounts": what a commit wrote is what the next open_ctree reads
 * through the superblock; what a transaction changed without committing is not, even when its
 * blocks reached the device (the final iput writes them).
 */
class PersistenceTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void committedItemsAreThereAfterReopen() {
        FsInfo fs = t.open();
        long genBefore = t.onDiskGeneration();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_insert");
        long transid = h.transid();
        for (int i = 0; i < 500; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "one"));
        }
        Transactions.commit(h);
        assertEquals(transid, t.onDiskGeneration(), "the commit wrote a superblock of its generation");
        assertTrue(transid > genBefore);
        t.closeClean(fs);

        FsInfo again = t.open();
        for (int i = 0; i < 500; i++) {
            assertArrayEquals(data(i, "one"), Trees.lookup(again, again.fsRoot(), key(i)), "item " + i);
        }
        TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        t.closeClean(again);
        assertEquals(List.of(), t.unload(), "nothing leaked");
        assertEquals(0, t.kernel.log().count(org.jbtrfs.core.LogEntry.Kind.WARNING), t.kernel.log().dmesg());
    }

    @Test
    void endedButUncommittedChangesAreGoneAfterAnUncleanStop() {
        FsInfo fs = t.open();
        commitItems(fs, 0, 100, "committed");
        long gen = t.onDiskGeneration();

        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_uncommitted");
        for (int i = 100; i < 200; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "lost"));
        }
        Trees.update(h, fs.fsRoot(), key(0), data(0, "lost"));
        Transactions.end(h);
        t.abandon(fs); // nothing of close_ctree writes: the device holds only what the commits wrote

        assertEquals(gen, t.onDiskGeneration());
        FsInfo again = t.open();
        assertItems(again, 0, 100, "committed");
        for (int i = 100; i < 200; i++) {
            assertNull(Trees.lookup(again, again.fsRoot(), key(i)), "uncommitted item " + i);
        }
        t.closeClean(again);
    }

    @Test
    void uncommittedBlocksWrittenByTheFinalIputAreNotReferencedAfterReopen() {
        FsInfo fs = t.open();
        commitItems(fs, 0, 100, "committed");
        long gen = t.onDiskGeneration();
        long committedFsRoot = fs.fsRoot().node().bytenr();

        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_uncommitted");
        for (int i = 100; i < 200; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "lost"));
        }
        long uncommittedFsRoot = fs.fsRoot().node().bytenr();
        Transactions.end(h);
        assertNotEquals(committedFsRoot, uncommittedFsRoot, "the transaction COWed the fs tree root");
        // close_ctree's read-only tail: the final iput writes the uncommitted blocks (synchronously,
        // crc32c is accelerated), the superblock still points at the last commit
        t.closeTail(fs);
        ExtentBuffer written = readRaw(uncommittedFsRoot);
        written.validate(t.kernel.crc32c(), uncommittedFsRoot);
        assertEquals(gen + 1, written.generation(), "the leaked transaction's block is on the device");

        assertEquals(gen, t.onDiskGeneration());
        FsInfo again = t.open();
        assertEquals(committedFsRoot, again.fsRoot().node().bytenr());
        assertItems(again, 0, 100, "committed");
        for (int i = 100; i < 200; i++) {
            assertNull(Trees.lookup(again, again.fsRoot(), key(i)), "uncommitted item " + i);
        }
        t.closeClean(again);
    }

    @Test
    void deletesAndUpdatesPersistWithTheirBlockGroupAccounting() {
        FsInfo fs = t.open();
        commitItems(fs, 0, 2000, "v1");
        long usedAfterInsert = fs.space.counters(org.jbtrfs.transaction.space.BlockGroupType.METADATA).used();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_update");
        for (int i = 0; i < 2000; i += 2) {
            Trees.delete(h, fs.fsRoot(), key(i));
        }
        for (int i = 1; i < 2000; i += 2) {
            Trees.update(h, fs.fsRoot(), key(i), data(i, "v2"));
        }
        Transactions.commit(h);
        long usedAfterDelete = fs.space.counters(org.jbtrfs.transaction.space.BlockGroupType.METADATA).used();
        assertTrue(usedAfterDelete <= usedAfterInsert, "half the items gone: no more tree blocks in use ("
            + usedAfterDelete + " vs " + usedAfterInsert + ")");
        var usedByBg = fs.space.usedByBlockGroup();
        t.closeClean(fs);

        FsInfo again = t.open();
        for (int i = 0; i < 2000; i++) {
            byte[] got = Trees.lookup(again, again.fsRoot(), key(i));
            if (i % 2 == 0) {
                assertNull(got, "deleted item " + i);
            } else {
                assertArrayEquals(data(i, "v2"), got, "updated item " + i);
            }
        }
        // the block group items on disk match the in-memory accounting the commit wrote
        assertEquals(usedByBg, again.space.usedByBlockGroup());
        t.closeClean(again);
        assertEquals(List.of(), t.unload());
    }

    private static void commitItems(FsInfo fs, int from, int to, String round) {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_commit_items");
        for (int i = from; i < to; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, round));
        }
        Transactions.commit(h);
    }

    private static void assertItems(FsInfo fs, int from, int to, String round) {
        List<TreeItem> items = Trees.range(fs, fs.fsRoot(), key(from), key(to - 1));
        assertEquals(to - from, items.size());
        for (TreeItem it : items) {
            Key k = it.key();
            long i = k.objectid() - key(0).objectid();
            assertArrayEquals(data(i, round), it.data(), "item " + i);
        }
    }

    private ExtentBuffer readRaw(long bytenr) {
        byte[] b = new byte[ExtentBuffer.NODESIZE];
        t.dev.read(bytenr, b, 0, b.length);
        return new ExtentBuffer(b);
    }
}
