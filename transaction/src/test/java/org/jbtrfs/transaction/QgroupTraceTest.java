package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The qgroup extent records (v5.11 delayed-ref.c btrfs_add_delayed_data_ref / btrfs_add_delayed_tree_ref, qgroup.c
 * btrfs_qgroup_trace_extent_nolock, btrfs_qgroup_trace_extent_post, btrfs_qgroup_account_extents, transaction.c
 * btrfs_commit_transaction) as {@link QgroupTrace} ports them: a record per extent whose reference changed while quotas
 * were on, its old roots walked by the task that queued the reference, its new roots by the commit.
 */
class QgroupTraceTest {
    private static final long FS = ItemType.FS_TREE_OBJECTID;
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    /** What btrfs_qgroup_account_extent was given. */
    private record Accounted(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) { }

    private static List<Accounted> recordAccounting(FsInfo fs) {
        List<Accounted> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        fs.installQgroupHooks(new QgroupHooks() {
            @Override
            public void accountExtent(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) {
                seen.add(new Accounted(bytenr, numBytes, List.copyOf(oldRoots), List.copyOf(newRoots)));
            }

            @Override
            public boolean runQgroups(TransHandle h) { return false; }
        });
        return seen;
    }

    private static List<Accounted> of(List<Accounted> seen, long bytenr) {
        synchronized (seen) {
            return seen.stream().filter(a -> a.bytenr() == bytenr).toList();
        }
    }

    /**
     * A data extent allocated with quotas on is accounted at its commit with no old roots and the subvolume as its new
     * one; freed in a later transaction, with the subvolume as its old root and none new. Accounting happens in the
     * commit, not when the reference is queued.
     */
    @Test
    void theCommitAccountsEachRecordWithTheRootsBeforeAndAfter() {
        FsInfo fs = t.open();
        List<Accounted> seen = recordAccounting(fs);
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long bytenr = Extents.allocDataExtent(h, FS, 257, 0, 4096);
        assertEquals(List.of(), of(seen, bytenr), "queued: nothing accounted before the commit");
        Transactions.commit(h);
        assertEquals(List.of(new Accounted(bytenr, 4096, List.of(), List.of(FS))), of(seen, bytenr));

        long oldLeaf = fs.fsRoot().node().bytenr();
        h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        Extents.freeDataExtent(h, FS, bytenr, 4096);
        Trees.insert(h, fs.fsRoot(), TestFs.key(1), TestFs.data(1, "cow")); // COWs the subvolume's leaf
        Transactions.commit(h);
        assertEquals(new Accounted(bytenr, 4096, List.of(FS), List.of()), of(seen, bytenr).get(1));
        long newLeaf = fs.fsRoot().node().bytenr();
        assertEquals(List.of(new Accounted(newLeaf, fs.superCopy().nodesize, List.of(), List.of(FS))), of(seen, newLeaf),
            "the COWed leaf");
        assertEquals(List.of(new Accounted(oldLeaf, fs.superCopy().nodesize, List.of(FS), List.of())), of(seen, oldLeaf),
            "the leaf it replaced");
    }

    /**
     * The record is allocated when the reference is queued, only if QUOTA_ENABLED is set then (and only for a
     * subvolume's extent): a reference queued before quotas were enabled is not accounted by the commit (the enable's
     * rescan counts what the commit roots hold), and neither is a root tree's block.
     */
    @Test
    void aReferenceQueuedWithQuotasOffHasNoRecord() {
        FsInfo fs = t.open();
        List<Accounted> seen = recordAccounting(fs);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long before = Extents.allocDataExtent(h, FS, 257, 0, 4096);
        fs.flags.set(FsFlag.QUOTA_ENABLED);
        long after = Extents.allocDataExtent(h, FS, 257, 0, 4096);
        Transactions.commit(h);
        assertEquals(List.of(), of(seen, before));
        assertEquals(1, of(seen, after).size());
        synchronized (seen) {
            assertTrue(seen.stream().allMatch(a -> a.newRoots().stream().allMatch(ItemType::isFsTree)
                && a.oldRoots().stream().allMatch(ItemType::isFsTree)), "records of subvolume extents only: " + seen);
        }
    }

    /**
     * btrfs_qgroup_trace_extent_post walks the commit roots in the task that queued the reference, holding its
     * transaction handle: with quotas on, freeing a committed extent waits while a commit holds commit_root_sem for
     * writing (switch_commit_roots); with quotas off the same free does not walk.
     */
    @Test
    void queueingAReferenceWithQuotasOnWalksTheCommitRootsUnderCommitRootSem() {
        FsInfo fs = t.open();
        recordAccounting(fs);
        long off = committedDataExtent(fs);
        long on = committedDataExtent(fs);
        fs.commitRootSem.writeLock().lock();
        TestThread<Void> freeOn;
        try {
            TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
            Extents.freeDataExtent(h, FS, off, 4096); // quotas off: no record, no walk, no wait
            Transactions.end(h);
            fs.flags.set(FsFlag.QUOTA_ENABLED);
            freeOn = TestThread.run("writer", () -> {
                TransHandle w = Transactions.start(fs, fs.fsRoot(), 1, "test");
                Extents.freeDataExtent(w, FS, on, 4096);
                Transactions.end(w);
            });
            Waits.within().until(() -> Blocked.in(freeOn.thread(), "Read", "lock")
                && Blocked.onStack(freeOn.thread(), "Backref", "findAllRoots")
                && Blocked.onStack(freeOn.thread(), "QgroupTrace", "post"));
        } finally {
            fs.commitRootSem.writeLock().unlock();
        }
        freeOn.join();
    }

    /** A 4 KiB data extent of the subvolume, allocated and committed: in the commit roots. */
    private static long committedDataExtent(FsInfo fs) {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long bytenr = Extents.allocDataExtent(h, FS, 257, 0, 4096);
        Transactions.commit(h);
        return bytenr;
    }
}
