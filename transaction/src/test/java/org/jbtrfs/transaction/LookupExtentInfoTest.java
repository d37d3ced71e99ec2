package org.jbtrfs.transaction;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * btrfs_lookup_extent_info (fs/btrfs/extent-tree.c, v5.11) as {@link Extents#lookupTreeBlockRefs} ports it for the
 * subvolume drop's walk: a tree block's count is its extent item's refs plus the transaction's queued change; a head
 * being run is waited for (the kernel's mutex_lock on the head, then "goto search_again") — without that wait a lookup
 * between btrfs_run_delayed_refs taking the head and inserting the item would count 0.
 */
class LookupExtentInfoTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void aBlockOfThisTransactionCountsItsQueuedHeadAndACommittedOneItsItem() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test");
        ExtentBuffer leaf = Extents.allocRootLeaf(h, 5000);
        assertEquals(1, Extents.lookupTreeBlockRefs(h, leaf.bytenr(), 0), "no item yet: the head's +1");
        Transactions.commit(h);
        h = Transactions.start(fs, fs.treeRoot(), 1, "test");
        assertEquals(1, Extents.lookupTreeBlockRefs(h, leaf.bytenr(), 0), "the item's refs");
        Extents.freeTreeBlock(h, leaf);
        assertEquals(0, Extents.lookupTreeBlockRefs(h, leaf.bytenr(), 0), "the item's 1 and the queued -1");
        Transactions.end(h);
    }

    @Test
    void aLookupWaitsForAHeadBeingRunAndSearchesAgain() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test");
        ExtentBuffer leaf = Extents.allocRootLeaf(h, 5000);
        DelayedRefs refs = h.transaction.delayedRefs;
        List<DelayedRefHead> taken = refs.takeAll(); // a run has taken the head and not inserted the item yet
        DelayedRefHead head = taken.stream().filter(x -> x.bytenr == leaf.bytenr()).findFirst().orElseThrow();
        TestThread<Long> lookup = TestThread.call("lookup", () -> Extents.lookupTreeBlockRefs(h, leaf.bytenr(), 0));
        await().atMost(Duration.ofSeconds(10)).until(() -> lookup.thread().getState() == Thread.State.WAITING);

        // the run inserts the item (alloc_reserved_tree_block) and lets go of the head
        Trees.insert(h, fs.extentRoot(), new Key(leaf.bytenr(), ItemType.METADATA_ITEM, 0),
            new ExtentItem(1, h.transid(), ExtentItem.FLAG_TREE_BLOCK, 5000, 0).encode());
        for (DelayedRefHead x : taken) {
            refs.release(x);
        }
        assertEquals(1L, lookup.join(), "searched again: the item, no head");
        assertEquals(head.bytenr, leaf.bytenr());
        Transactions.end(h);
    }
}
