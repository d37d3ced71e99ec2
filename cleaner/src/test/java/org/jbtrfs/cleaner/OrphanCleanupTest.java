package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.api.Test;

/**
 * btrfs_orphan_cleanup() (5.11) at the cleaner module's level. In a subvolume: an unlinked inode's orphan
 * item means "finish the deletion" (the final iput evicts it), a linked inode's is stale (deleted). In the
 * tree root an orphan item names a deleted subvolume: skipped while fs_roots_radix holds that root with refs
 * 0 (btrfs_find_orphan_roots loaded it: the cleaner will drop it), otherwise taken for a stale item and
 * deleted — "find_dead_roots already ran before us", which the March 2021 fix makes true.
 */
class OrphanCleanupTest {

    @Test
    void inASubvolumeAnUnlinkedInodeIsEvictedAndALinkedOnesStaleItemDeleted() {
        try (CleanerFs f = new CleanerFs()) {
            f.inodeItems(1000, 0); // unlinked while open, then a crash: inode and orphan item on disk
            f.inodeItems(1001, 1);
            f.orphanItem(f.fs.fsRoot(), 1001); // linked again (or a stale item)

            f.c.orphanCleanup().orphanCleanup(f.fs.fsRoot());

            assertNull(Trees.lookup(f.fs, f.fs.fsRoot(), CleanerFs.inodeKey(1000)), "evicted by its final iput");
            assertFalse(f.hasOrphanItem(f.fs.fsRoot(), 1000));
            assertNotNull(Trees.lookup(f.fs, f.fs.fsRoot(), CleanerFs.inodeKey(1001)), "a linked inode stays");
            assertFalse(f.hasOrphanItem(f.fs.fsRoot(), 1001), "its orphan item was stale");
            assertEquals(List.of(), f.c.inodes().cached(f.fs.fsRoot(), 1001) == null ? List.of() : List.of(1001L), "released");
            assertEquals(List.of("btrfs_evict_inode", "btrfs_evict_inode", "btrfs_orphan_cleanup"), f.openTransactionFunctions().stream().sorted().toList());
        }
    }

    @Test
    void inTheTreeRootADeadRootThatFindOrphanRootsLoadedIsSkippedAndAStrayItemDeleted() {
        try (CleanerFs f = new CleanerFs()) {
            f.deletedSubvolume(5000, 12); // in fs_roots_radix with refs 0, as btrfs_find_orphan_roots leaves it
            f.orphanItem(f.fs.treeRoot(), 5001); // no root item, no inode: stale
            f.hooks().arm(Hook.ORPHAN_CLEANUP_BEFORE_DELETE, HookAction.count(), -1);

            f.c.orphanCleanup().orphanCleanup(f.fs.treeRoot());

            assertTrue(f.hasOrphanItem(f.fs.treeRoot(), 5000), "the dead root's item is kept for the drop");
            assertFalse(f.hasOrphanItem(f.fs.treeRoot(), 5001));
            assertEquals(1, f.hooks().arrivals(Hook.ORPHAN_CLEANUP_BEFORE_DELETE));
            assertTrue(f.t.kernel.log().contains("auto deleting 5001"), f.t.kernel.log().dmesg());
            assertFalse(f.t.kernel.log().contains("auto deleting 5000"));
            assertEquals(List.of("btrfs_orphan_cleanup"), f.openTransactionFunctions());
        }
    }

    /**
     * The same tree root before btrfs_find_orphan_roots ran (5.11's start_pre_rw_mount order): the deleted
     * subvolume is not in fs_roots_radix, so its orphan item looks stale and is deleted — the silent leak the
     * March 2021 fix closes (nothing on disk says the drop is pending any more).
     */
    @Test
    void inTheTreeRootAnOrphanItemOfARootNotLoadedYetIsTakenForStale() {
        try (CleanerFs f = new CleanerFs()) {
            f.deletedSubvolume(5000, 12);
            f.fs.fsRootsRadix.remove(5000L); // after a mount, before btrfs_find_orphan_roots

            f.c.orphanCleanup().orphanCleanup(f.fs.treeRoot());

            assertFalse(f.hasOrphanItem(f.fs.treeRoot(), 5000), "deleted as stale");
            assertEquals(0, f.rootItem(5000).refs(), "the root item stays, refs 0, with nothing pointing at it");
            assertTrue(f.t.kernel.log().contains("auto deleting 5000"));
        }
    }

    /**
     * 5.11's last step (fidelity audit, item 8): a root with an orphan item of its own in the tree root
     * (ORPHAN_ITEM_INSERTED) joins a transaction and ends it at once; a root without one does not.
     */
    @Test
    void aRootWithItsOwnOrphanItemJoinsAndEndsATransactionAtTheEnd() {
        try (CleanerFs f = new CleanerFs()) {
            org.jbtrfs.transaction.Root sv = f.deletedSubvolume(5000, 12); // ORPHAN_ITEM_INSERTED, as the delete leaves it
            f.c.orphanCleanup().orphanCleanup(f.fs.fsRoot());
            assertEquals(List.of(), f.openTransactionFunctions(), "the fs root has no orphan item of its own");

            f.c.orphanCleanup().orphanCleanup(sv);

            assertEquals(List.of("btrfs_orphan_cleanup"), f.openTransactionFunctions(), "joined and ended: running, for the next commit");
        }
    }

    @Test
    void itRunsOncePerRoot() {
        try (CleanerFs f = new CleanerFs()) {
            f.c.orphanCleanup().orphanCleanup(f.fs.fsRoot());
            f.inodeItems(1000, 0);
            f.c.orphanCleanup().orphanCleanup(f.fs.fsRoot());
            assertTrue(f.hasOrphanItem(f.fs.fsRoot(), 1000), "orphan_cleanup_state: done once, not again");
            assertNotNull(Trees.lookup(f.fs, f.fs.fsRoot(), CleanerFs.inodeKey(1000)));
        }
    }
}
