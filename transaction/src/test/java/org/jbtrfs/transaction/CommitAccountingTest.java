package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.jbtrfs.transaction.space.SpaceInfo;
import org.jbtrfs.transaction.space.SpaceManager;
import org.jbtrfs.transaction.space.BlockRsvs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a transaction holds until it commits — delayed ref heads and refs, extent ops, extent_states
 * of its dirty pages, its handle, reserved tree blocks, the handle's metadata reservation and the
 * delayed_refs_rsv — and that the commit gives all of it back.
 */
class CommitAccountingTest {
    private static final List<String> CACHES = List.of("btrfs_delayed_ref_head", "btrfs_delayed_tree_ref",
        "btrfs_delayed_data_ref", "btrfs_delayed_extent_op", "extent_state", "btrfs_trans_handle");

    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void afterCommitDelayedRefsSlabObjectsAndReservationsAreBackToZero() {
        FsInfo fs = t.open();
        SpaceInfo.Counters meta0 = fs.space.counters(BlockGroupType.METADATA);
        SpaceInfo.Counters data0 = fs.space.counters(BlockGroupType.DATA);
        assertEquals(0, meta0.reserved());
        assertTrue(meta0.mayUse() > 0, "the global reserve, filled at mount");
        assertEquals(zeros(), inUse());

        // one transaction: 3000 items (the fs tree grows to several leaves and a node), half of them
        // deleted again, and a data extent
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 3, "test_accounting");
        for (int i = 0; i < 3000; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "x".repeat(40)));
        }
        for (int i = 0; i < 3000; i += 2) {
            Trees.delete(h, fs.fsRoot(), key(i));
        }
        long dataExtent = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 3 * 4096 + 1);

        Map<String, Long> held = inUse();
        assertEquals(1, held.get("btrfs_trans_handle"));
        assertEquals(1, held.get("btrfs_delayed_data_ref"));
        assertTrue(held.get("btrfs_delayed_ref_head") > 2 && held.get("btrfs_delayed_tree_ref") > 2
            && held.get("btrfs_delayed_extent_op") > 1 && held.get("extent_state") > 1, held.toString());
        assertEquals(held.get("btrfs_delayed_ref_head") * SpaceManager.METADATA_ITEM_SIZE, fs.space.rsvs.delayedRefsSize(),
            "delayed_refs_rsv grows by one item per head");
        SpaceInfo.Counters meta1 = fs.space.counters(BlockGroupType.METADATA);
        assertTrue(meta1.reserved() > 0 && meta1.reserved() % SpaceManager.NODESIZE == 0, meta1.toString());
        assertEquals(meta0.mayUse() + 3 * SpaceManager.METADATA_ITEM_SIZE, meta1.mayUse());
        assertEquals(new BlockRsvs.Counters(3 * SpaceManager.METADATA_ITEM_SIZE, 3 * SpaceManager.METADATA_ITEM_SIZE),
            fs.space.rsvs.counters(fs.space.rsvs.trans));
        assertEquals(4 * 4096, fs.space.counters(BlockGroupType.DATA).reserved());
        assertTrue(fs.btreeInode.dirtyCount() > 0);

        Transactions.commit(h);

        assertEquals(zeros(), inUse());
        assertEquals(0, fs.space.rsvs.delayedRefsSize());
        assertEquals(new BlockRsvs.Counters(0, 0), fs.space.rsvs.counters(fs.space.rsvs.delayedRefs));
        assertEquals(new BlockRsvs.Counters(0, 0), fs.space.rsvs.counters(fs.space.rsvs.trans));
        SpaceInfo.Counters meta2 = fs.space.counters(BlockGroupType.METADATA);
        assertEquals(0, meta2.reserved());
        assertEquals(0, meta2.pinned(), "what the commit freed was unpinned at its end");
        assertEquals(meta0.mayUse(), meta2.mayUse(), "only the global reserve is left in may_use");
        assertTrue(meta2.used() > meta0.used());
        SpaceInfo.Counters data2 = fs.space.counters(BlockGroupType.DATA);
        assertEquals(0, data2.reserved());
        assertEquals(data0.used() + 4 * 4096, data2.used());
        assertEquals(0, fs.btreeInode.dirtyCount());
        assertEquals(List.of(), fs.transList());

        // the next transaction frees everything again: pinned during the commit, unpinned at its end
        TransHandle h2 = Transactions.start(fs, fs.fsRoot(), 1, "test_free");
        for (int i = 1; i < 3000; i += 2) {
            Trees.delete(h2, fs.fsRoot(), key(i));
        }
        Extents.freeDataExtent(h2, ItemType.FS_TREE_OBJECTID, dataExtent, 4 * 4096);
        Transactions.commit(h2);
        assertEquals(zeros(), inUse());
        SpaceInfo.Counters meta3 = fs.space.counters(BlockGroupType.METADATA);
        assertEquals(0, meta3.reserved());
        assertEquals(0, meta3.pinned());
        assertEquals(meta0.mayUse(), meta3.mayUse());
        assertEquals(meta0.used(), meta3.used(), "the fs tree is one leaf again, as after mkfs");
        assertEquals(new SpaceInfo.Counters(data0.total(), data0.used(), 0, 0, 0, 0), fs.space.counters(BlockGroupType.DATA));
        assertEquals(List.of(new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.INODE_ITEM, 0)),
            Trees.range(fs, fs.fsRoot(), Key.MIN, Key.MAX).stream().map(TreeItem::key).toList(), "only the root directory is left");

        t.closeClean(fs);
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload(), "no slab leak at unload");
    }

    /**
     * An empty commit is not free in v5.11: commit_cowonly_roots first COWs the tree root's node (btrfs_cow_block under
     * btrfs_lock_root_node), so the superblock of every generation points at a tree root of that generation — which
     * open_ctree checks (read_tree_block with btrfs_super_generation as the parent transid). The port lacked the step
     * until stop 40 (an empty commit wrote the superblock alone, over a tree root of an older generation).
     */
    @Test
    void anEmptyCommitCowsTheTreeRootAndHoldsNothing() {
        FsInfo fs = t.open();
        long gen = t.onDiskGeneration();
        int writesBefore = (int) t.dev.counters().writes();
        TransHandle h = Transactions.join(fs, fs.treeRoot(), "test_empty");
        Transactions.commit(h);
        assertEquals(gen + 1, t.onDiskGeneration());
        assertEquals(gen + 1, fs.treeRoot().node().generation(), "the tree root was COWed in the commit");
        // the new tree root node, the extent tree leaf with its METADATA_ITEM (the old one's dropped), the superblock
        assertEquals(3, t.dev.counters().writes() - writesBefore);
        assertEquals(zeros(), inUse());
        t.closeClean(fs);
    }

    private Map<String, Long> inUse() {
        Map<String, Long> m = new TreeMap<>();
        for (String c : CACHES) {
            m.put(c, t.kernel.slabs().cache(c).inUse());
        }
        return m;
    }

    private static Map<String, Long> zeros() {
        Map<String, Long> m = new TreeMap<>();
        for (String c : CACHES) {
            m.put(c, 0L);
        }
        return m;
    }
}
