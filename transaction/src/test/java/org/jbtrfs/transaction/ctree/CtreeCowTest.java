package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.TreeAssertions.assertTreeHolds;
import static org.jbtrfs.transaction.ctree.TreeAssertions.randomData;
import static org.jbtrfs.transaction.ctree.TreeAssertions.randomKey;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Copy-on-write behaviour: what is COWed, how often, what is freed, and that written blocks never change. */
class CtreeCowTest {
    private final InMemoryTreeBlockManager mgr = new InMemoryTreeBlockManager(true);
    private final TestRoot root = TestRoot.create(mgr, ItemType.FS_TREE_OBJECTID);
    private final NavigableMap<Key, byte[]> model = new TreeMap<>();
    private final Random rnd = new Random(11);

    @BeforeEach
    void buildACommittedThreeLevelTree() {
        while (model.size() < 60_000) {
            Key key = randomKey(rnd);
            if (!model.containsKey(key)) {
                byte[] data = randomData(rnd, 200);
                Ctree.insertItem(mgr, root, key, data);
                model.put(key, data);
            }
        }
        assertEquals(3, TreeChecker.check(mgr.reader(), root.node()).height());
        mgr.commit();
    }

    @Test
    void eachBlockIsCowedAtMostOncePerTransaction() {
        int height = root.node().level() + 1;
        Key key = model.ceilingKey(randomKey(rnd));
        Key neighbour = model.higherKey(key);
        int size = model.get(key).length;
        long oldRoot = root.node().bytenr();

        long allocsBefore = mgr.allocCount;
        long freesBefore = mgr.freeCount;
        for (int i = 0; i < 100; i++) {
            byte[] data = new byte[size];
            rnd.nextBytes(data);
            Ctree.updateItem(mgr, root, key, data);
            model.put(key, data);
        }
        assertEquals(height, mgr.allocCount - allocsBefore, "one COW per block on the path, for 100 updates");
        assertEquals(height, mgr.freeCount - freesBefore, "every COWed block freed once");
        assertEquals(height, mgr.dirtyCount());
        assertNotEquals(oldRoot, root.node().bytenr());
        assertTrue(mgr.freedBlocks().contains(oldRoot));

        // Same-sized changes to a neighbour in the same leaf need no further COW either.
        BtrfsPath p = Ctree.search(mgr.reader(), root.node(), key);
        if (p.leaf().nritems() > p.slot() + 1) {
            Ctree.updateItem(mgr, root, neighbour, new byte[model.get(neighbour).length]);
            model.put(neighbour, new byte[model.get(neighbour).length]);
            assertEquals(height, mgr.allocCount - allocsBefore);
        }

        // The next transaction COWs the path again, once.
        mgr.commit();
        allocsBefore = mgr.allocCount;
        for (int i = 0; i < 10; i++) {
            Ctree.updateItem(mgr, root, key, model.get(key));
        }
        assertEquals(height, mgr.allocCount - allocsBefore);
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    @Test
    void readOnlySearchesNeverCow() {
        long allocsBefore = mgr.allocCount;
        ExtentBuffer rootBefore = root.node();
        for (Key key : List.copyOf(model.keySet()).subList(0, 5000)) {
            assertArrayEquals(model.get(key), Ctree.lookup(mgr.reader(), root.node(), key));
            Ctree.searchSlot(mgr, root, key, 0, false);
        }
        assertEquals(allocsBefore, mgr.allocCount);
        assertSame(rootBefore, root.node());
        assertEquals(0, mgr.dirtyCount());
    }

    @Test
    void previousCommitRootStillReadsThePreviousState() {
        ExtentBuffer commitRoot = root.node();
        NavigableMap<Key, byte[]> before = new TreeMap<>(model);
        Set<Long> oldBlocks = mgr.reachable(commitRoot);
        Map<Long, byte[]> oldBytes = new HashMap<>();
        for (long bytenr : oldBlocks) {
            oldBytes.put(bytenr, mgr.diskBytes(bytenr));
        }

        // Two transactions of churn on the live tree.
        List<Key> keys = new ArrayList<>(model.keySet());
        for (int txn = 0; txn < 2; txn++) {
            for (int i = 0; i < 8000; i++) {
                Key key = keys.get(rnd.nextInt(keys.size()));
                if (!model.containsKey(key)) {
                    continue;
                }
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        Ctree.deleteItem(mgr, root, key);
                        model.remove(key);
                    }
                    case 1 -> {
                        byte[] data = randomData(rnd, 400);
                        Ctree.updateItem(mgr, root, key, data);
                        model.put(key, data);
                    }
                    default -> {
                        Key fresh = randomKey(rnd);
                        byte[] data = randomData(rnd, 300);
                        Ctree.insertItem(mgr, root, fresh, data);
                        model.put(fresh, data);
                    }
                }
            }
            mgr.commit();
        }
        assertTreeHolds(mgr.reader(), root.node(), model);

        // The old root still shows the old tree, from the very bytes that were written then.
        assertTreeHolds(mgr.reader(), commitRoot, before);
        for (long bytenr : oldBlocks) {
            assertArrayEquals(oldBytes.get(bytenr), mgr.read(bytenr).array(), "block " + bytenr + " changed after commit");
            assertArrayEquals(oldBytes.get(bytenr), mgr.diskBytes(bytenr));
        }
        // And from disk, checksums verified.
        mgr.dropCache();
        assertTreeHolds(mgr.reader(), commitRoot, before);
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    @Test
    void everyReplacedOrUnlinkedBlockIsFreed() {
        List<Key> keys = new ArrayList<>(model.keySet());
        for (int i = 0; i < 30_000; i++) {
            Key key = keys.get(i * 2);
            Ctree.deleteItem(mgr, root, key);
            model.remove(key);
            if (i % 3000 == 0) {
                mgr.commit();
            }
        }
        mgr.assertAccounted(root.node());
        assertEquals(mgr.allocCount - mgr.reachable(root.node()).size(), mgr.freeCount);
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    @Test
    void aFlippedBitOnDiskIsCaughtOnReadNamingTheBlock() {
        Key key = model.ceilingKey(randomKey(rnd));
        long leafBytenr = Ctree.search(mgr.reader(), root.node(), key).leaf().bytenr();
        mgr.dropCache();
        mgr.corruptOnDisk(leafBytenr, ExtentBuffer.NODESIZE - 7);

        BtrfsException e = assertThrows(BtrfsException.class, () -> Ctree.lookup(mgr.reader(), root.node(), key));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("checksum verify failed on " + leafBytenr), e.getMessage());
        // Another leaf is still fine.
        Key elsewhere = model.firstKey();
        if (Ctree.search(mgr.reader(), root.node(), elsewhere).leaf().bytenr() != leafBytenr) {
            assertArrayEquals(model.get(elsewhere), Ctree.lookup(mgr.reader(), root.node(), elsewhere));
        }
    }

    @Test
    void aStalePointerIsCaughtByTheParentTransidCheck() {
        ExtentBuffer rootNode = root.node();
        long child = rootNode.blockPtr(0);
        rootNode.setPtrGeneration(0, rootNode.ptrGeneration(0) + 1);
        BtrfsException e = assertThrows(BtrfsException.class, () -> TreeChecker.check(mgr.reader(), rootNode));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("parent transid verify failed on " + child), e.getMessage());
    }
}
