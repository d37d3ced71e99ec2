package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.TreeAssertions.assertTreeHolds;
import static org.jbtrfs.transaction.ctree.TreeAssertions.randomData;
import static org.jbtrfs.transaction.ctree.TreeAssertions.randomKey;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.junit.jupiter.api.Test;

class CtreeTest {
    private final InMemoryTreeBlockManager mgr = new InMemoryTreeBlockManager(false);
    private final TestRoot root = TestRoot.create(mgr, ItemType.FS_TREE_OBJECTID);
    private final NavigableMap<Key, byte[]> model = new TreeMap<>();

    @Test
    void hundredThousandRandomItemsInsertLookupIterateDeleteHalf() {
        Random rnd = new Random(20201216);
        List<Key> keys = new ArrayList<>();
        while (model.size() < 100_000) {
            Key key = randomKey(rnd);
            if (model.putIfAbsent(key, randomData(rnd, 128)) == null) {
                keys.add(key);
            }
        }

        long t0 = System.nanoTime();
        for (Key key : keys) {
            Ctree.insertItem(mgr, root, key, model.get(key));
        }
        long insertNanos = System.nanoTime() - t0;

        t0 = System.nanoTime();
        for (Key key : keys) {
            assertArrayEquals(model.get(key), Ctree.lookup(mgr.reader(), root.node(), key));
        }
        long lookupNanos = System.nanoTime() - t0;

        TreeChecker.TreeShape shape = assertTreeHolds(mgr.reader(), root.node(), model);
        assertTrue(shape.height() >= 3, "several levels: " + shape);
        mgr.assertAccounted(root.node());
        int written = mgr.commit();
        assertEquals(shape.nodes() + shape.leaves(), written, "every block of the new tree written once");

        // Next transaction: delete half, in random order.
        Collections.shuffle(keys, rnd);
        List<Key> doomed = keys.subList(0, keys.size() / 2);
        t0 = System.nanoTime();
        for (Key key : doomed) {
            Ctree.deleteItem(mgr, root, key);
        }
        long deleteNanos = System.nanoTime() - t0;
        for (Key key : doomed) {
            model.remove(key);
            assertNull(Ctree.lookup(mgr.reader(), root.node(), key));
        }
        TreeChecker.TreeShape after = assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.assertAccounted(root.node());

        // What was written is what the tree is: re-read everything from disk, checksums verified.
        mgr.commit();
        mgr.dropCache();
        assertTreeHolds(mgr.reader(), root.node(), model);

        System.out.printf("ctree: 100000 inserts in one transaction: %.0f inserts/s; lookups %.0f/s; 50000 deletes %.0f/s; "
                + "tree %s -> %s%n",
            1e9 * keys.size() / insertNanos, 1e9 * keys.size() / lookupNanos, 1e9 * doomed.size() / deleteNanos, shape, after);
    }

    @Test
    void ascendingAndDescendingInsertsBuildValidTrees() {
        for (long i = 0; i < 20_000; i++) {
            Key key = new Key(ItemType.FIRST_FREE_OBJECTID + i, ItemType.INODE_ITEM, 0);
            byte[] data = ExtentBufferTest.bytes((int) (i % 160), (int) i);
            Ctree.insertItem(mgr, root, key, data);
            model.put(key, data);
        }
        for (long i = 0; i < 20_000; i++) {
            Key key = new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, -1L - i);
            Ctree.insertItem(mgr, root, key, new byte[0]);
            model.put(key, new byte[0]);
        }
        TreeChecker.TreeShape shape = assertTreeHolds(mgr.reader(), root.node(), model);
        assertTrue(shape.height() >= 2, shape.toString());
        mgr.assertAccounted(root.node());
    }

    @Test
    void searchSlotReportsFoundOrInsertionSlot() {
        for (int i = 0; i < 10; i++) {
            Ctree.insertItem(mgr, root, new Key(300, ItemType.DIR_INDEX, 2L * i), new byte[] {(byte) i});
        }
        BtrfsPath hit = Ctree.searchSlot(mgr, root, new Key(300, ItemType.DIR_INDEX, 8), 0, false);
        assertEquals(0, hit.searchResult());
        assertEquals(4, hit.slot());
        assertArrayEquals(new byte[] {4}, hit.itemData());

        BtrfsPath miss = Ctree.searchSlot(mgr, root, new Key(300, ItemType.DIR_INDEX, 9), 0, false);
        assertEquals(1, miss.searchResult());
        assertEquals(5, miss.slot());

        BtrfsPath past = Ctree.searchSlot(mgr, root, Key.MAX, 0, true);
        assertFalse(past.found());
        assertEquals(10, past.slot(), "past the end: slot == nritems");
    }

    @Test
    void duplicateInsertFailsWithEexistAndChangesNothing() {
        Random rnd = new Random(1);
        fill(rnd, 3000, 200);
        Key existing = model.ceilingKey(randomKey(rnd));
        BtrfsException e = assertThrows(BtrfsException.class, () -> Ctree.insertItem(mgr, root, existing, new byte[5000]));
        assertEquals(Errno.EEXIST, e.errno());
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    @Test
    void deleteOrUpdateOfAbsentKeyFailsWithEnoent() {
        Ctree.insertItem(mgr, root, new Key(256, ItemType.INODE_ITEM, 0), new byte[10]);
        Key absent = new Key(257, ItemType.INODE_ITEM, 0);
        assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> Ctree.deleteItem(mgr, root, absent)).errno());
        assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> Ctree.updateItem(mgr, root, absent, new byte[1])).errno());
    }

    @Test
    void itemsOverTheMaximumSizeAreRejectedAndMaximumSizedOnesFitAnywhere() {
        Key key = new Key(256, ItemType.EXTENT_DATA, 0);
        BtrfsException e = assertThrows(BtrfsException.class,
            () -> Ctree.insertItem(mgr, root, key, new byte[ExtentBuffer.MAX_ITEM_SIZE + 1]));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("maximum item size 16258"), e.getMessage());

        // Full leaves around, then maximum-sized items at the front, in the middle and at the end:
        // each needs a leaf of its own (split to an empty leaf, or a double split).
        Random rnd = new Random(2);
        fill(rnd, 2000, 300);
        List<Key> bigKeys = List.of(new Key(0, 0, 0), justAfter(model.ceilingKey(randomKey(rnd))), Key.MAX);
        for (Key big : bigKeys) {
            byte[] data = new byte[ExtentBuffer.MAX_ITEM_SIZE];
            rnd.nextBytes(data);
            Ctree.insertItem(mgr, root, big, data);
            model.put(big, data);
            assertTreeHolds(mgr.reader(), root.node(), model);
        }
        // And an existing item can grow to the maximum, and shrink back.
        Key grown = model.higherKey(model.firstKey());
        byte[] max = new byte[ExtentBuffer.MAX_ITEM_SIZE];
        rnd.nextBytes(max);
        Ctree.updateItem(mgr, root, grown, max);
        model.put(grown, max);
        assertTreeHolds(mgr.reader(), root.node(), model);
        Ctree.updateItem(mgr, root, grown, new byte[] {1});
        model.put(grown, new byte[] {1});
        assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.assertAccounted(root.node());
    }

    @Test
    void updateGrowsShrinksAndReplacesInPlace() {
        Random rnd = new Random(3);
        fill(rnd, 5000, 100);
        List<Key> keys = new ArrayList<>(model.keySet());
        for (int i = 0; i < 20_000; i++) {
            Key key = keys.get(rnd.nextInt(keys.size()));
            byte[] data = randomData(rnd, rnd.nextInt(10) == 0 ? 3000 : 150);
            Ctree.updateItem(mgr, root, key, data);
            model.put(key, data);
            if (i % 5000 == 0) {
                mgr.commit();
            }
        }
        assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.assertAccounted(root.node());
    }

    @Test
    void deletingEverythingLeavesAValidEmptyTree() {
        Random rnd = new Random(4);
        fill(rnd, 30_000, 600);
        assertTrue(TreeChecker.check(mgr.reader(), root.node()).height() >= 3);
        mgr.commit();
        List<Key> keys = new ArrayList<>(model.keySet());
        Collections.shuffle(keys, rnd);
        for (int i = 0; i < keys.size(); i++) {
            Ctree.deleteItem(mgr, root, keys.get(i));
            model.remove(keys.get(i));
            if (i % 7_000 == 0) {
                assertTreeHolds(mgr.reader(), root.node(), model);
                mgr.commit();
            }
        }
        ExtentBuffer empty = root.node();
        assertEquals(0, empty.level(), "root collapsed to a leaf");
        assertEquals(0, empty.nritems());
        assertEquals(new TreeChecker.TreeShape(1, 0, 1, 0), TreeChecker.check(mgr.reader(), empty));
        Ctree.forEach(mgr.reader(), empty, Key.MIN, (k, d) -> {
            throw new AssertionError("item in empty tree: " + k);
        });
        Leaf leaf = Ctree.readLeafAt(mgr.reader(), empty, Key.MIN);
        assertTrue(leaf.items().isEmpty());
        assertTrue(leaf.isLast());
        mgr.assertAccounted(root.node());
        assertEquals(1, mgr.reachable(root.node()).size(), "only the root block is left");

        // The empty tree is a normal tree.
        fill(rnd, 1000, 50);
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    @Test
    void leafCursorVisitsEveryItemExactlyOnceInOrder() {
        Random rnd = new Random(5);
        fill(rnd, 40_000, 100);
        mgr.commit();
        ExtentBuffer commitRoot = root.node();

        List<Key> seen = new ArrayList<>();
        int leaves = 0;
        Key cursor = Key.MIN;
        while (cursor != null) {
            Leaf leaf = Ctree.readLeafAt(mgr.reader(), commitRoot, cursor);
            assertFalse(leaf.items().isEmpty(), "no empty step before the end");
            for (Item item : leaf.items()) {
                seen.add(item.key());
                assertArrayEquals(model.get(item.key()), item.data());
            }
            if (leaf.nextKey() != null) {
                assertTrue(leaf.nextKey().compareTo(seen.get(seen.size() - 1)) > 0);
            }
            cursor = leaf.nextKey();
            leaves++;
        }
        assertEquals(new ArrayList<>(model.keySet()), seen);
        assertEquals(TreeChecker.check(mgr.reader(), commitRoot).leaves(), leaves, "one step per leaf");

        // A start key between items starts at the next item; past the last item there is nothing.
        Key middle = randomKey(rnd);
        Leaf from = Ctree.readLeafAt(mgr.reader(), commitRoot, middle);
        assertEquals(model.ceilingKey(middle), from.items().get(0).key());
        Leaf end = Ctree.readLeafAt(mgr.reader(), commitRoot, justAfter(model.lastKey()));
        assertTrue(end.items().isEmpty());
        assertNull(end.nextKey());
    }

    @Test
    void forEachStartsAtTheKeyAndStopsWhenTheVisitorSaysSo() {
        Random rnd = new Random(6);
        fill(rnd, 20_000, 80);
        Key from = randomKey(rnd);
        List<Key> expected = new ArrayList<>(model.tailMap(from, true).keySet()).subList(0, 1000);
        List<Key> got = new ArrayList<>();
        Ctree.forEach(mgr.reader(), root.node(), from, (key, data) -> {
            got.add(key);
            return got.size() < 1000;
        });
        assertEquals(expected, got);
    }

    /** The smallest key after {@code key} (offset + 1; the test keys never have offset -1). */
    private static Key justAfter(Key key) {
        return new Key(key.objectid(), key.type(), key.offset() + 1);
    }

    /** Inserts {@code n} random items of up to {@code maxData} bytes, into the tree and the model. */
    private void fill(Random rnd, int n, int maxData) {
        int target = model.size() + n;
        while (model.size() < target) {
            Key key = randomKey(rnd);
            if (!model.containsKey(key)) {
                byte[] data = randomData(rnd, maxData);
                Ctree.insertItem(mgr, root, key, data);
                model.put(key, data);
            }
        }
    }
}
