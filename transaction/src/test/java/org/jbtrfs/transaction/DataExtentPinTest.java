package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A data extent allocated and freed in one transaction — its head runs with must_insert_reserved and a net ref of 0 —
 * is pinned by cleanup_ref_head (v5.11 extent-tree.c, {@code btrfs_pin_extent(trans, bytenr, num_bytes, 1)}) and free
 * again only when that transaction's commit unpins it. The port freed it as soon as the head ran (found reading
 * cleanup_ref_head in stop 39); a tree block of the same kind, never written, is freed at once in both (check_ref_cleanup).
 */
class DataExtentPinTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() {
        CommitProbe.install(null);
        t.close();
    }

    @Test
    void aDataExtentAllocatedAndFreedInOneTransactionStaysPinnedUntilItsCommitEnds() {
        FsInfo fs = t.open();
        AtomicLong pinnedAtSuper = new AtomicLong(-1);
        CommitProbe.install((f, transid) -> {
            if (f == fs) {
                pinnedAtSuper.set(fs.space.counters(BlockGroupType.DATA).pinned());
            }
        });
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
        long bytenr = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 8192);
        Extents.freeDataExtent(h, ItemType.FS_TREE_OBJECTID, bytenr, 8192);
        Transactions.commit(h);
        assertEquals(8192, pinnedAtSuper.get(), "pinned while the commit writes its superblock");
        assertEquals(0, fs.space.counters(BlockGroupType.DATA).pinned(), "unpinned when it ends");
        assertEquals(0, fs.space.counters(BlockGroupType.DATA).reserved());
        t.closeClean(fs);
    }
}
