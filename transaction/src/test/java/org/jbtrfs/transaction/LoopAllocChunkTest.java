package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * find_free_extent's LOOP_ALLOC_CHUNK for tree blocks (fs/btrfs/extent-tree.c, v5.11 find_free_extent_update_loop →
 * btrfs_chunk_alloc(CHUNK_ALLOC_FORCE)), with the new block group's item inserted by the commit that writes blocks in it
 * (btrfs_run_delayed_refs(-1) and btrfs_start_dirty_block_groups call btrfs_create_pending_block_groups inside
 * commit_cowonly_roots' loop).
 *
 * <p>Stop 61, port bug: a scrub makes each block group read-only while it reads it (btrfs_inc_block_group_ro; for
 * metadata btrfs_can_overcommit allows it on the strength of unallocated device space); the port's tree block allocation
 * then found no writable metadata group and aborted the transaction with "no free METADATA space for 16384 bytes"
 * (classes efa4e4dc, met once in the suite's {@code LanesTest.everyFixAppliedTheLanesFindNothing}, and 8b955327). The
 * kernel allocates a chunk; it does not abort. The test fails on the old allocator (the abort).
 */
class LoopAllocChunkTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void aCommitWithEveryMetadataGroupReadOnlyAllocatesAChunkAndCommitsItsItem() {
        FsInfo fs = t.open();
        List<BlockGroup> meta = readOnlyMetadataGroups(fs);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_ro");
        for (int i = 0; i < 200; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "ro"));
        }
        Transactions.commit(h);
        assertEquals(meta.size() + 1, fs.space.blockGroupCount(BlockGroupType.METADATA));
        assertFalse(t.kernel.log().dmesg().contains("Transaction aborted"), t.kernel.log().dmesg());
        for (BlockGroup bg : meta) {
            fs.space.decBlockGroupRo(bg);
        }

        // a power cut right after the commit: what is on the device describes the new group and the blocks in it
        t.abandon(fs);
        FsInfo again = t.open();
        assertEquals(meta.size() + 1, again.space.blockGroupCount(BlockGroupType.METADATA), "the new group's item was committed");
        long groupItems = Trees.range(again, again.extentRoot(), Key.MIN, Key.MAX).stream()
            .filter(it -> it.key().type() == ItemType.BLOCK_GROUP_ITEM).count();
        assertEquals(again.space.blockGroups().size(), groupItems);
        TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        assertEquals(200, Trees.range(again, again.fsRoot(), key(0), key(199)).size());
        t.closeClean(again);
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload());
    }

    /**
     * btrfs_create_free_space_tree with every metadata group read-only: the tree's own blocks come from a chunk allocated
     * during the creation, before the FREE_SPACE_TREE bit is set, so the group is made without needs_free_space and
     * populate_free_space_tree gives it its info; its pending item's add_block_group_free_space adds nothing. Stop 61,
     * port bug (hunt seed 61001, class 89f88fbd, "item (N FREE_SPACE_INFO N) already exists in tree 10" and the
     * transaction aborted): the port added the info twice. Kernel functions read: btrfs_make_block_group,
     * add_block_group_free_space, populate_free_space_tree, btrfs_create_free_space_tree (5.11).
     */
    @Test
    void aChunkAllocatedWhileTheFreeSpaceTreeIsCreatedGetsItsInfoOnce() {
        FsInfo fs = t.open();
        List<BlockGroup> meta = readOnlyMetadataGroups(fs);
        FreeSpaceTree.createFreeSpaceTree(fs);
        assertEquals(meta.size() + 1, fs.space.blockGroupCount(BlockGroupType.METADATA));
        assertFalse(t.kernel.log().dmesg().contains("Transaction aborted"), t.kernel.log().dmesg());
        assertEquals(fs.space.blockGroups().size(), FreeSpaceTree.infoCount(fs), "one info item per block group");
        for (BlockGroup bg : meta) {
            fs.space.decBlockGroupRo(bg);
        }
        // a chunk made now, with the bit set, gets its info when its item goes in
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test_after");
        assertTrue(fs.space.allocMetadataChunk(true, h.newBgs));
        Transactions.end(h);
        assertEquals(fs.space.blockGroups().size(), FreeSpaceTree.infoCount(fs), "the new group's info: needs_free_space");
        t.closeClean(fs);
        assertEquals(List.of(), t.unload());
    }

    /** Each metadata group made read-only as a scrub does (inc_block_group_ro(cache, 0)): allowed by the overcommit. */
    private static List<BlockGroup> readOnlyMetadataGroups(FsInfo fs) {
        List<BlockGroup> meta = fs.space.blockGroups().stream().filter(bg -> bg.type() == BlockGroupType.METADATA).toList();
        assertFalse(meta.isEmpty());
        for (BlockGroup bg : meta) {
            assertTrue(fs.space.incBlockGroupRo(bg), "btrfs_can_overcommit(NO_FLUSH) lets the group go read-only");
        }
        return meta;
    }
}
