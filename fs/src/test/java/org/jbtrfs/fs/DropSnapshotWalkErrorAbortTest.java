package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DROP_SNAPSHOT_WALK_ERROR_ABORT} (later upstream: 9a93b5a35388, v6.4, Josef Bacik, "btrfs: abort the
 * transaction if we get an error during snapshot drop"), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 (fixed in v6.4). Found by the explorer (stop 74, seed 74004, {@code --faults all}
 * with {@code bio-read-eio}, the commit probe, every fix applied: class {@code 9c177b1f}, "MISSING_EXTENT_ITEM: tree
 * block … is referenced but has no extent item (referenced by [tree 257 …])" in the commit after the cleaner's
 * btrfs_drop_snapshot of subvolume 257 met a read error, "bdev sdd errs: wr 0, rd 1") before the upstream fix was read.
 * <ol>
 *   <li>btrfs_drop_snapshot frees a dead subvolume's blocks in steps (walk_down_tree, walk_up_tree: a leaf's file
 *       extents' references, then the leaf); after each step it records drop_progress in the in-memory root item, and
 *       writes the root item (btrfs_update_root) only when it ends the transaction between steps.</li>
 *   <li>A step's walk_down_tree cannot read the next leaf (read_tree_block's -EIO): "err = ret; break;", out_end_trans —
 *       the transaction ends without the root item's update and without an abort.</li>
 *   <li>The next commit writes the frees of the steps since the last update; the root item on disk still names the
 *       blocks they freed. The subvolume's tree on disk references blocks with no extent item; a drop resumed from disk
 *       (the next mount's btrfs_find_orphan_roots) meets one — do_walk_down's "Missing references.", -EIO — at every
 *       cleaner pass: the subvolume is never dropped, its space never comes back.</li>
 * </ol>
 * The fix aborts the transaction on a walk error ("we have no idea what operations could have been left half done"):
 * nothing of the half-done drop commits, the filesystem goes read-only, and the next mount drops the subvolume from
 * the drop_progress on disk. Read: extent-tree.c btrfs_drop_snapshot, walk_down_tree, do_walk_down, walk_up_tree,
 * walk_up_proc (v5.11); 9a93b5a35388 (with 4e19438400ce, "handle errors in walk_down_tree properly", the same series).
 *
 * <p>The read error is a disk with one bad block, the subvolume's second leaf, read from disk by a cold mount.
 */
class DropSnapshotWalkErrorAbortTest {

    private static final byte[] DATA = new byte[4096];

    /** The subvolume's id and its first two leaves: a tree of one node over two or more leaves. */
    private record Subvolume(long id, long firstLeaf, long secondLeaf) { }

    /** A subvolume "sv" with files enough for two leaves, synced. */
    private static Subvolume subvolumeWithTwoLeaves(Btrfs fs) {
        long id = fs.createSubvolume("sv");
        for (int i = 0; i < 150; i++) {
            fs.createFile("/sv/f" + i);
            fs.writeFile("/sv/f" + i, DATA);
        }
        fs.sync();
        ExtentBuffer node = fs.fsInfo().fsRootsRadix.get(id).node();
        assertEquals(1, node.level(), "a node over leaves");
        return new Subvolume(id, node.blockPtr(0), node.blockPtr(1));
    }

    private static boolean rootItemPresent(Btrfs fs, long id) {
        return Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(), new Key(id, ItemType.ROOT_ITEM, 0)) != null;
    }

    /**
     * The subvolume deleted (committed) on a cold mount whose reads of its second leaf fail, and the cleaner pass that
     * drops it: the drop frees the first leaf and fails on the second. Then, unless that aborted, a sync; the umount.
     * Returns the subvolume.
     */
    private static Subvolume dropFailingOnTheSecondLeaf(Repro r, BadBlockDisk disk, BlockDevice dev) {
        Btrfs fs = r.mod.mount(dev, "");
        Subvolume sv = subvolumeWithTwoLeaves(fs);
        fs.umount();
        Btrfs cold = r.mod.mount(dev, ""); // nothing of the subvolume's tree in memory
        disk.fail(sv.secondLeaf());
        // the drop waits until the deletion has committed (the cleaner may take the dead root at once)
        r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
        cold.deleteSubvolume("/sv");
        cold.sync();
        TestThread<Void> pass = TestThread.run("cleaner pass", () -> cold.runCleanerPass(Repro.WAIT));
        r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Repro.WAIT);
        r.mod.hooks().disarm(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
        pass.join();
        Waits.within(Repro.WAIT).until(() -> r.logged("errs: wr 0, rd 1"));
        Repro.awaitCleanerAsleep(cold); // the pass with the drop has ended
        if (!r.logged("Transaction aborted")) {
            cold.sync(); // what the failed drop's transaction left commits (an aborted one commits nothing)
        }
        cold.umount();
        disk.failing.set(false); // the sector is remapped: the disk reads again
        return sv;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheHalfDoneDropCommitsAndTheSubvolumeIsNeverDropped(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DROP_SNAPSHOT_WALK_ERROR_ABORT)) {
            BadBlockDisk disk = new BadBlockDisk(r.mod.createDevice("sdx-disk", 64L << 20));
            BlockDevice dev = r.mod.createFlakeyDevice("sdx", disk);
            r.mod.mkfs(dev);
            Subvolume sv = dropFailingOnTheSecondLeaf(r, disk, dev);
            assertFalse(r.logged("in btrfs_drop_snapshot"), "no abort: " + r.mod.log().dmesg());
            Check.Report rep = Check.check(dev, crc);
            assertFalse(rep.clean(), "the dead subvolume's tree names its freed first leaf " + sv.firstLeaf() + ": " + rep);
            Btrfs again = r.mod.mount(dev, ""); // btrfs_find_orphan_roots: the drop resumes from the root item on disk
            again.runCleanerPass(Repro.WAIT);
            assertTrue(r.logged("Missing references."), r.mod.log().dmesg());
            assertTrue(rootItemPresent(again, sv.id()), "the subvolume is never dropped");
            again.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheTransactionAbortsAndTheNextMountDropsTheSubvolume(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            BadBlockDisk disk = new BadBlockDisk(r.mod.createDevice("sdx-disk", 64L << 20));
            BlockDevice dev = r.mod.createFlakeyDevice("sdx", disk);
            r.mod.mkfs(dev);
            Subvolume sv = dropFailingOnTheSecondLeaf(r, disk, dev);
            assertTrue(r.logged("in btrfs_drop_snapshot"), r.mod.log().dmesg());
            Check.Report rep = Check.check(dev, crc);
            assertTrue(rep.clean(), rep.toString());
            Btrfs again = r.mod.mount(dev, "");
            again.runCleanerPass(Repro.WAIT);
            assertFalse(r.logged("Missing references."), r.mod.log().dmesg());
            assertFalse(rootItemPresent(again, sv.id()), "dropped");
            again.umount();
            assertTrue(Check.check(dev, crc).clean());
        }
    }
}
