package org.jbtrfs.transaction.ctree;

import static org.jbtrfs.transaction.ctree.TreeAssertions.assertTreeHolds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.junit.jupiter.api.Test;

/**
 * Rebalancing corner cases that random workloads rarely reach, on trees built block by block in
 * exactly the shape that triggers them.
 */
class CtreeRebalanceTest {
    private static final long OWNER = ItemType.QUOTA_TREE_OBJECTID;
    private final InMemoryTreeBlockManager mgr = new InMemoryTreeBlockManager(true);
    private final NavigableMap<Key, byte[]> model = new TreeMap<>();
    private long nextObjectid = 1000;

    @Test
    void singlePointerNodeWithFullLeftSiblingPullsPointersFromIt() {
        // root(level 2) -> [ node A: 493 leaves (full) | node B: 1 leaf ]
        ExtentBuffer full = node(1, leaves(ExtentBuffer.NODEPTRS_PER_BLOCK));
        ExtentBuffer single = node(1, leaves(1));
        TestRoot root = new TestRoot(OWNER, node(2, List.of(full, single)));
        assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.commit();

        // Deleting B's only item goes through balance_level(B): A cannot take B's pointer (full),
        // there is no right sibling, so B pulls half of A's pointers (balance_node_right) first.
        Key last = model.lastKey();
        Ctree.deleteItem(mgr, root, last);
        model.remove(last);

        TreeChecker.TreeShape shape = assertTreeHolds(mgr.reader(), root.node(), model);
        assertEquals(new TreeChecker.TreeShape(3, 3, ExtentBuffer.NODEPTRS_PER_BLOCK, ExtentBuffer.NODEPTRS_PER_BLOCK), shape);
        ExtentBuffer top = root.node();
        int a = mgr.read(top.blockPtr(0)).nritems();
        int b = mgr.read(top.blockPtr(1)).nritems();
        assertEquals(ExtentBuffer.NODEPTRS_PER_BLOCK / 2, a, "A gave half (plus one) of its pointers away");
        assertEquals(ExtentBuffer.NODEPTRS_PER_BLOCK - a, b);
        mgr.assertAccounted(root.node());
    }

    @Test
    void sparseMiddleNodeIsMergedIntoItsNeighboursAndFreed() {
        // root(level 2) -> [ 200 leaves | 3 leaves | 100 leaves ]: deleting through the middle node
        // moves its pointers into the left node, the right node's into the middle one, and frees
        // the emptied right node.
        ExtentBuffer left = node(1, leaves(200));
        ExtentBuffer middle = node(1, leaves(3));
        ExtentBuffer right = node(1, leaves(100));
        TestRoot root = new TestRoot(OWNER, node(2, List.of(left, middle, right)));
        mgr.commit();

        Key inMiddle = model.higherKey(keyOf(200));
        Ctree.deleteItem(mgr, root, inMiddle);
        model.remove(inMiddle);

        TreeChecker.TreeShape shape = assertTreeHolds(mgr.reader(), root.node(), model);
        assertEquals(302, shape.leaves());
        assertTrue(shape.nodes() < 4, "a level 1 node was merged away: " + shape);
        mgr.assertAccounted(root.node());
    }

    @Test
    void rootNodeLosingItsLastLeafBecomesAnEmptyLeaf() {
        // A root node with a single leaf is normally collapsed by the deleting search; a caller that
        // searches without rebalancing (insLen 0) and deletes reaches del_ptr's "root turns into a leaf".
        TestRoot root = new TestRoot(OWNER, node(1, leaves(1)));
        mgr.commit();
        Key only = model.firstKey();

        BtrfsPath path = Ctree.searchSlot(mgr, root, only, 0, true);
        assertTrue(path.found());
        Ctree.delItem(mgr, root, path);
        model.clear();

        assertEquals(0, root.node().level());
        assertEquals(0, root.node().nritems());
        assertEquals(new TreeChecker.TreeShape(1, 0, 1, 0), assertTreeHolds(mgr.reader(), root.node(), model));
        mgr.assertAccounted(root.node());
    }

    @Test
    void deletingSearchCollapsesASingleChildRoot() {
        TestRoot root = new TestRoot(OWNER, node(2, List.of(node(1, leaves(5)))));
        mgr.commit();
        Key first = model.firstKey();
        Ctree.deleteItem(mgr, root, first);
        model.remove(first);
        assertEquals(1, root.node().level(), "level 2 root with one child handed over to that child");
        assertTreeHolds(mgr.reader(), root.node(), model);
        mgr.assertAccounted(root.node());
    }

    /** {@code n} leaves of one small item each, with ascending keys. */
    private List<ExtentBuffer> leaves(int n) {
        List<ExtentBuffer> leaves = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Key key = keyOf(nextObjectid++ - 1000);
            byte[] data = {(byte) i, (byte) (i >> 8)};
            ExtentBuffer leaf = mgr.allocTreeBlock(OWNER, 0);
            leaf.setNritems(1);
            leaf.setItemKey(0, key);
            leaf.setItemOffset(0, ExtentBuffer.LEAF_DATA_SIZE - data.length);
            leaf.setItemSize(0, data.length);
            leaf.setItemData(0, data);
            model.put(key, data);
            leaves.add(leaf);
        }
        return leaves;
    }

    private static Key keyOf(long n) {
        return new Key(1000 + n, ItemType.QGROUP_INFO, 0);
    }

    private ExtentBuffer node(int level, List<ExtentBuffer> children) {
        ExtentBuffer node = mgr.allocTreeBlock(OWNER, level);
        for (int i = 0; i < children.size(); i++) {
            ExtentBuffer child = children.get(i);
            node.setKeyPtr(i, child.firstKey(), child.bytenr(), child.generation());
        }
        node.setNritems(children.size());
        return node;
    }
}
