package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import org.awaitility.core.ConditionTimeoutException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.jbtrfs.transaction.space.BlockGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The explorer's "sync hung in BtreeInode.waitWriteback" (lanes, seed 1001): a sync's btree writeback
 * (sync_inodes_sb, WB_SYNC_ALL) meets a transaction that COWs a block of a tree the writeback could not
 * lock, and the block's writeback is started under one bytenr and ended under another, so
 * filemap_fdatawait waits forever with every queue empty.
 *
 * <p>Mechanism (the port before the fix):
 * <ol>
 *   <li>A handle COWs the root leaf of the free space tree (here remove_block_group_free_space, as
 *       btrfs_remove_block_group does): btrfs_alloc_tree_block puts the new block C in the btree inode's
 *       dirty set at its own bytenr.</li>
 *   <li>The sync's writepages takes C from the dirty set; lockForIo looked for "the owning tree's lock" with
 *       FsInfo.rootOf(owner), which knows only the root, extent and quota trees and fs_roots_radix: for the
 *       free space tree (and a quota tree being created or deleted, a subvolume before it enters the radix)
 *       it takes no lock at all, so it runs while the handle still holds C half-built. It clears dirty,
 *       sets WRITTEN and counts C's writeback.</li>
 *   <li>__btrfs_cow_block copies the old block into C (copy_extent_buffer_full): for a moment C's header
 *       says the old block's bytenr.</li>
 *   <li>writepages read the bio's start from that header (eb.bytenr()): the bio goes to the old block's
 *       location (overwriting a block the commit root still uses) and its end decrements the old bytenr,
 *       which has no writeback. C's writeback count stays at 1 forever; the next filemap_fdatawait of
 *       the btree inode (every sync, RW umount) hangs with no work left anywhere.</li>
 * </ol>
 *
 * <p>Kernel or port: the port's. In v5.11 lock_extent_buffer_for_io (fs/btrfs/extent_io.c) takes the
 * buffer's own lock (btrfs_try_tree_write_lock, else btrfs_tree_lock) whatever tree it belongs to, and
 * btrfs_init_new_buffer (fs/btrfs/extent-tree.c) returns the new buffer already tree-locked, so writeback
 * waits until __btrfs_cow_block has finished it; the new buffer is not even EXTENT_BUFFER_DIRTY before
 * btrfs_mark_buffer_dirty(cow). A buffer's identity is eb->start, fixed at allocation: write_one_eb
 * submits at eb->start and end_bio_extent_buffer_writepage finds the buffer from page->private, never from
 * the header bytes. The fix ports both: writeback locks the tree the block was allocated or dirtied in
 * (the port's stand-in for the buffer lock), and the metadata write path keys a block by the bytenr it
 * was dirtied at, not by its header.
 */
class CowWritebackRaceTest {
    private TestFs t;

    @AfterEach
    void unload() {
        if (t != null) {
            t.close();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void syncWritebackOfABlockBeingCowedEndsAtItsOwnBytenr(Crc32cImpl crc) {
        t = new TestFs(crc);
        FsInfo fs = t.open();
        FreeSpaceTree.createFreeSpaceTree(fs);
        Root fst = fs.freeSpaceRoot();
        long oldLeaf = fst.node().bytenr();
        byte[] oldOnDisk = readBlock(oldLeaf);
        assertEquals(0, fs.btreeInode.dirtyCount(), "committed: nothing dirty");
        BlockGroup bg = fs.space.blockGroups().get(0);
        int infoItems = FreeSpaceTree.infoCount(fs);
        Hooks hooks = t.kernel.hooks();

        // 1. the handle allocates the COW copy of the free space tree's leaf, holding that tree's lock
        hooks.parkAt(Hook.TREE_BLOCK_ALLOCATED);
        hooks.parkAt(Hook.BTREE_LOCKED_FOR_IO);
        TestThread<Void> cow = TestThread.run("btrfs_remove_block_group", () -> {
            TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "btrfs_remove_block_group");
            FreeSpaceTree.removeBlockGroupFreeSpace(h, bg);
            Transactions.end(h);
        });
        hooks.awaitParked(Hook.TREE_BLOCK_ALLOCATED, Waits.BOUND);
        assertEquals(1, fs.btreeInode.dirtyCount(), "only the new, still empty copy is dirty");

        // 2. sync_inodes_sb: lock_extent_buffer_for_io either waits for the tree lock (fixed) or, without it,
        //    starts the copy's writeback and parks before adding it to the bio
        TestThread<Void> sync = TestThread.run("sync_inodes_sb", () -> fs.btreeInode.writepages(WbSyncMode.ALL));
        Waits.within().until(() -> hooks.isParked(Hook.BTREE_LOCKED_FOR_IO) || fst.treeLock.hasQueuedThread(sync.thread()));

        // 3. __btrfs_cow_block copies the old leaf into the new block: its header says the old bytenr
        hooks.parkAt(Hook.COW_BLOCK_COPIED);
        hooks.disarm(Hook.TREE_BLOCK_ALLOCATED);
        hooks.awaitParked(Hook.COW_BLOCK_COPIED, Waits.BOUND);

        // 4. the writeback goes on (if it got in) and builds its bio now
        hooks.disarm(Hook.BTREE_LOCKED_FOR_IO);
        Waits.within().until(() -> sync.done() || fst.treeLock.hasQueuedThread(sync.thread()));
        hooks.disarm(Hook.COW_BLOCK_COPIED);
        cow.join();
        sync.join();
        long newLeaf = fst.node().bytenr();
        assertNotEquals(oldLeaf, newLeaf, "COWed");

        // every writeback started has ended: filemap_fdatawait returns
        try {
            Waits.within().until(() -> fs.btreeInode.writebackCount() == 0);
        } catch (ConditionTimeoutException e) {
            fail("a writeback never ended (old leaf " + oldLeaf + ", its copy " + newLeaf + "): " + fs.btreeInode.writebackState());
        }
        fs.btreeInode.waitWriteback();
        assertArrayEquals(oldOnDisk, readBlock(oldLeaf), "the old leaf's location (the commit root's) was not written");

        Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_commit"));
        t.closeClean(fs);
        FsInfo again = t.open();
        again.setFreeSpaceRoot(FsRoots.readRoot(again, org.jbtrfs.core.disk.ItemType.FREE_SPACE_TREE_OBJECTID));
        TreeChecker.check(again.btreeInode::readTreeBlock, again.freeSpaceRoot().node());
        assertEquals(infoItems - 1, FreeSpaceTree.infoCount(again), "the info item went with its group");
        t.closeClean(again);
        assertEquals(List.of(), t.unload(), "nothing leaked");
    }

    private byte[] readBlock(long bytenr) {
        byte[] b = new byte[SuperBlock.NODESIZE];
        t.dev.read(bytenr, b, 0, b.length);
        return b;
    }
}
