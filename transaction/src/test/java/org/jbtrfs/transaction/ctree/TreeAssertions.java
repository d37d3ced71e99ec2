package org.jbtrfs.transaction.ctree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Iterator;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.function.LongFunction;

import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;

/** Random keys and data, and "the tree holds exactly this model" checks, shared by the B-tree tests. */
final class TreeAssertions {
    private static final int[] TYPES = {
        ItemType.INODE_ITEM, ItemType.INODE_REF, ItemType.DIR_ITEM, ItemType.DIR_INDEX, ItemType.EXTENT_DATA,
        ItemType.EXTENT_ITEM, ItemType.METADATA_ITEM, ItemType.QGROUP_INFO,
    };

    private TreeAssertions() { }

    /** A key anywhere in the unsigned key space. */
    static Key randomKey(Random rnd) {
        return new Key(rnd.nextLong(), TYPES[rnd.nextInt(TYPES.length)], rnd.nextLong());
    }

    static byte[] randomData(Random rnd, int maxLen) {
        byte[] data = new byte[rnd.nextInt(maxLen + 1)];
        rnd.nextBytes(data);
        return data;
    }

    /**
     * The tree is structurally valid and holds exactly {@code model}, in order: checked by a full
     * walk, by forEach, and by point lookups of every key.
     *
     * @return the tree's shape
     */
    static TreeChecker.TreeShape assertTreeHolds(LongFunction<ExtentBuffer> reader, ExtentBuffer rootNode,
                                                 NavigableMap<Key, byte[]> model) {
        TreeChecker.TreeShape shape = TreeChecker.check(reader, rootNode);
        assertEquals(model.size(), shape.items(), "item count");
        Iterator<Map.Entry<Key, byte[]>> expected = model.entrySet().iterator();
        Ctree.forEach(reader, rootNode, Key.MIN, (key, data) -> {
            if (!expected.hasNext()) {
                fail("tree has extra item " + key);
            }
            Map.Entry<Key, byte[]> e = expected.next();
            assertEquals(e.getKey(), key);
            assertArrayEquals(e.getValue(), data, () -> "data of " + key);
            return true;
        });
        assertFalse(expected.hasNext(), "tree lacks items");
        for (Map.Entry<Key, byte[]> e : model.entrySet()) {
            assertArrayEquals(e.getValue(), Ctree.lookup(reader, rootNode, e.getKey()), () -> "lookup " + e.getKey());
        }
        return shape;
    }
}
