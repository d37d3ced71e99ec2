package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.transaction.ctree.Ctree;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * btrfs_find_all_roots with a NULL transaction (fs/btrfs/backref.c, v5.11) as {@link Backref} ports it for the qgroup
 * rescan: the commit roots' answer, through the tree blocks above the extent, under commit_root_sem.
 */
class BackrefTest {
    /** Items enough for a subvolume tree of two levels (a leaf holds a few hundred of these). */
    private static final int ITEMS = 2000;
    private static final int DATA_EXTENTS = 50;
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    /**
     * Every extent item of the committed extent tree — data extents of the subvolume, its leaves and its node, the
     * blocks of the root and extent trees — resolves to the tree that owns it, also where the walk has to climb from a
     * leaf through a node to the root.
     */
    @Test
    void everyCommittedExtentResolvesToItsOwner() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        for (int i = 0; i < ITEMS; i++) {
            Trees.insert(h, fs.fsRoot(), TestFs.key(i), TestFs.data(i, "backref"));
        }
        for (int i = 0; i < DATA_EXTENTS; i++) {
            Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 4096);
        }
        Transactions.commit(h);
        assertTrue(fs.fsRoot().commitRoot().level() >= 1, "the subvolume tree has a node above its leaves");

        int data = 0;
        int blocks = 0;
        for (TreeItem it : Trees.range(fs, fs.extentRoot(), Key.MIN, Key.MAX)) {
            int type = it.key().type();
            if (type != ItemType.EXTENT_ITEM && type != ItemType.METADATA_ITEM) {
                continue;
            }
            ExtentItem ei = ExtentItem.decode(it.data());
            assertEquals(List.of(ei.ownerRoot()), Backref.findAllRoots(fs, it.key().objectid()), it.key().toString());
            if (ei.isTreeBlock()) {
                blocks++;
            } else {
                data++;
            }
        }
        assertEquals(DATA_EXTENTS, data);
        assertTrue(blocks > 3, "tree blocks of several trees and levels: " + blocks);
    }

    /**
     * The walk reads the commit roots only: an extent freed and committed since the rescan copied its leaf has no
     * roots (btrfs_qgroup_account_extent then changes nothing), and so has one of the running transaction.
     */
    @Test
    void anExtentTheCommitRootsDoNotHoldHasNoRoots() {
        FsInfo fs = t.open();
        long freed = committedDataExtent(fs);
        assertEquals(List.of(ItemType.FS_TREE_OBJECTID), Backref.findAllRoots(fs, freed));

        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        Extents.freeDataExtent(h, ItemType.FS_TREE_OBJECTID, freed, 4096);
        Transactions.commit(h);
        assertEquals(List.of(), Backref.findAllRoots(fs, freed), "freed and committed");

        h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long running = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 4096);
        assertEquals(List.of(), Backref.findAllRoots(fs, running), "queued in the running transaction only");
        Transactions.end(h);
    }

    /**
     * btrfs_find_all_roots takes commit_root_sem for reading: a walk waits while a commit switches the commit roots
     * (switch_commit_roots holds it for writing), so it never reads a half-switched set of roots.
     */
    @Test
    void aWalkWaitsForACommitRootSwitch() {
        FsInfo fs = t.open();
        long bytenr = committedDataExtent(fs);
        fs.commitRootSem.writeLock().lock();
        TestThread<List<Long>> walk;
        try {
            walk = TestThread.call("rescan-walk", () -> Backref.findAllRoots(fs, bytenr));
            // asleep in the read lock btrfs_find_all_roots takes, not anywhere else
            Waits.within().until(() -> Blocked.in(walk.thread(), "Read", "lock")
                && Blocked.onStack(walk.thread(), "Backref", "findAllRoots"));
        } finally {
            fs.commitRootSem.writeLock().unlock();
        }
        assertEquals(List.of(ItemType.FS_TREE_OBJECTID), walk.join());
    }

    /**
     * add_all_parents (backref.c, v5.11): a data ref's key is (inode, EXTENT_DATA, file offset of the extent's start); an
     * item of the extent whose extent offset is not 0 lies at a later key — here several leaves later, past other items
     * of the inode. The walk goes on from where the search landed, across leaves, to the leaf holding the extent's
     * item: that leaf is the parent, not the one the search landed in (which the port took before stop 51; on a
     * subvolume being dropped the landing leaf may be one the drop freed).
     */
    @Test
    void aDataRefsParentIsTheLeafHoldingItsItemNotWhereTheSearchLanded() {
        FsInfo fs = t.open();
        long ino = 300;
        int others = 700; // more file extent items of the inode than two leaves hold
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long extent = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, ino, 4096, 4096);
        for (int k = 1; k <= others; k++) {
            Trees.insert(h, fs.fsRoot(), new Key(ino, ItemType.EXTENT_DATA, 4096L * k + 8192),
                new FileExtentItem(0x7000_0000L + 4096L * k, 4096, 0, 4096, h.transid()).encode());
        }
        long itemOffset = 4096L * (others + 2) + 8192;
        Key itemKey = new Key(ino, ItemType.EXTENT_DATA, itemOffset);
        Trees.insert(h, fs.fsRoot(), itemKey, new FileExtentItem(extent, 4096, itemOffset - 4096, 4096, h.transid()).encode());
        Transactions.commit(h);

        var reader = (java.util.function.LongFunction<ExtentBuffer>) fs.btreeInode.reader();
        long landed = Ctree.search(reader, fs.fsRoot().commitRoot(), new Key(ino, ItemType.EXTENT_DATA, 4096)).leaf().bytenr();
        long holder = Ctree.search(reader, fs.fsRoot().commitRoot(), itemKey).leaf().bytenr();
        assertTrue(landed != holder, "the ref's key and the item are in different leaves");
        assertEquals(List.of(List.of(), List.of(holder)), Backref.parentNodesForTest(fs, extent));
        assertEquals(List.of(ItemType.FS_TREE_OBJECTID), Backref.findAllRoots(fs, extent));
    }

    /** A 4 KiB data extent of the subvolume, allocated and committed: in the commit roots. */
    private static long committedDataExtent(FsInfo fs) {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long bytenr = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 4096);
        Transactions.commit(h);
        return bytenr;
    }
}
