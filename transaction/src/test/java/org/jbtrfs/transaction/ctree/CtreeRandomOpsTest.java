package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.TreeAssertions.assertTreeHolds;
import static org.jbtrfs.transaction.ctree.TreeAssertions.randomKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Model-based tests: random inserts, deletes and resizes of items of every size class, checked
 * against a TreeMap, with commits in between (so COW, pushes, splits and merges all interleave).
 */
class CtreeRandomOpsTest {
    private final InMemoryTreeBlockManager mgr = new InMemoryTreeBlockManager(false);
    private final TestRoot root = TestRoot.create(mgr, ItemType.EXTENT_TREE_OBJECTID);
    private final NavigableMap<Key, byte[]> model = new TreeMap<>();

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void randomOperationsMatchAModel(long seed) {
        Random rnd = new Random(seed);
        // Grow, then shrink to (nearly) nothing, then grow again: every rebalancing path in both directions.
        runPhase(rnd, 12_000, 70, 20);
        runPhase(rnd, 14_000, 15, 75);
        runPhase(rnd, 6_000, 50, 30);
        assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.assertAccounted(root.node());
        mgr.commit();
        mgr.dropCache();
        assertTreeHolds(mgr.reader(), root.node(), model);
    }

    /** {@code ops} operations: insertPct% inserts, deletePct% deletes, the rest updates and expected failures. */
    private void runPhase(Random rnd, int ops, int insertPct, int deletePct) {
        for (int i = 1; i <= ops; i++) {
            int r = rnd.nextInt(100);
            if (r < insertPct || model.isEmpty()) {
                insert(rnd);
            } else if (r < insertPct + deletePct) {
                Key key = existingKey(rnd);
                Ctree.deleteItem(mgr, root, key);
                model.remove(key);
            } else if (r < 97) {
                Key key = existingKey(rnd);
                byte[] data = data(rnd);
                Ctree.updateItem(mgr, root, key, data);
                model.put(key, data);
            } else {
                Key key = existingKey(rnd);
                assertEquals(Errno.EEXIST, assertThrows(BtrfsException.class,
                    () -> Ctree.insertItem(mgr, root, key, data(rnd))).errno());
                Key absent = randomKey(rnd);
                if (!model.containsKey(absent)) {
                    assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class,
                        () -> Ctree.deleteItem(mgr, root, absent)).errno());
                }
            }
            if (i % 400 == 0) {
                mgr.commit();
            }
            if (i % 4000 == 0) {
                assertTreeHolds(mgr.reader(), root.node(), model);
                mgr.assertAccounted(root.node());
            }
        }
    }

    private void insert(Random rnd) {
        Key key = randomKey(rnd);
        if (model.containsKey(key)) {
            return;
        }
        byte[] data = data(rnd);
        Ctree.insertItem(mgr, root, key, data);
        model.put(key, data);
    }

    private Key existingKey(Random rnd) {
        Key key = model.ceilingKey(randomKey(rnd));
        return key != null ? key : model.firstKey();
    }

    /** Mostly small items, some medium, a few large, now and then one of the maximum size. */
    private static byte[] data(Random rnd) {
        int p = rnd.nextInt(100);
        int size;
        if (p < 60) {
            size = rnd.nextInt(101);
        } else if (p < 90) {
            size = 100 + rnd.nextInt(1900);
        } else if (p < 98) {
            size = 2000 + rnd.nextInt(6000);
        } else {
            size = 8000 + rnd.nextInt(ExtentBuffer.MAX_ITEM_SIZE - 8000 + 1);
        }
        byte[] data = new byte[size];
        rnd.nextBytes(data);
        return data;
    }

    @Test
    void wideTreeOfOneItemLeavesGrowsAndShrinksThroughNodeSplitsAndMerges() {
        Random rnd = new Random(7);
        // Items over half a leaf: one per leaf, so 4000 items make 4000 leaves under several level 1 nodes.
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            Key key = randomKey(rnd);
            byte[] data = new byte[8200 + rnd.nextInt(100)];
            data[0] = (byte) i;
            Ctree.insertItem(mgr, root, key, data);
            model.put(key, data);
            keys.add(key);
            if (i % 1000 == 999) {
                mgr.commit();
            }
        }
        TreeChecker.TreeShape shape = assertTreeHolds(mgr.reader(), root.node(), model);
        assertEquals(4000, shape.leaves());
        assertTrue(shape.nodes() >= 9, "many level 1 nodes: " + shape);

        Collections.shuffle(keys, rnd);
        for (int i = 0; i < keys.size(); i++) {
            Ctree.deleteItem(mgr, root, keys.get(i));
            model.remove(keys.get(i));
            if (i % 500 == 499) {
                mgr.commit();
                assertTreeHolds(mgr.reader(), root.node(), model);
                mgr.assertAccounted(root.node());
            }
        }
        assertEquals(0, root.node().nritems());
        assertEquals(0, root.node().level());
    }
}
