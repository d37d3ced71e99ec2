package org.jbtrfs.fs;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.junit.jupiter.api.Test;

/**
 * A finding outside the data path, which the data path makes reachable (an ordered extent's completion
 * holds its inode for a moment after sync_filesystem's wait): with every fix applied, 5.11's RO→RW remount
 * runs btrfs_find_orphan_roots in btrfs_start_pre_rw_mount, which queues a deleted subvolume on dead_roots
 * whatever inodes of it are still in memory (btrfs_add_dead_root only checks list_empty(&root->root_list)).
 * 1. a file of the subvolume is open (or held by an ordered extent) when the subvolume is deleted; 2.
 * remount RO, remount RW: the root is queued; 3. the cleaner drops it — the inode is still in memory; 4. the
 * inode's last reference goes: inode_tree_del finds the root's inode tree empty and its refs 0 and calls
 * btrfs_add_dead_root, which queues the already dropped root again (its root_list was emptied by the pop).
 * The next cleaner pass drops it a second time: in the port btrfs_del_root's -ENOENT escapes the cleaner
 * (an oops); the kernel would abort the transaction. Pinned up to the re-queue; the stress runner reaches the
 * ordered-extent variant when it holds the endio-write worker after btrfs_remove_ordered_extent across both
 * remounts. Not fixed here.
 */
class DroppedRootRequeueTest {

    @Test
    void aDroppedSubvolumeIsQueuedAgainWhenItsLastInodeGoes() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            long id = fs.createSubvolume("sv");
            fs.createFile("sv/x");
            FileHandle h = fs.open("sv/x");
            fs.deleteSubvolume("sv");
            assertTrue(fs.inspect().deadRoots().isEmpty(), "an inode of it is in memory: not queued yet");
            // every remount ends by waking the transaction kthread, whose loop wakes the cleaner: let each such
            // loop end (the manual clock keeps it asleep after) so that no pass but ours runs from here
            Hook sleep = Hook.TRANS_KTHREAD_BEFORE_SLEEP;
            r.mod.hooks().arm(sleep, HookAction.count(), -1);
            fs.remount("ro");
            await().atMost(Repro.WAIT).until(() -> r.mod.hooks().arrivals(sleep) > 0);
            long loops = r.mod.hooks().arrivals(sleep);
            fs.remount("rw"); // btrfs_start_pre_rw_mount → btrfs_find_orphan_roots queues it anyway
            await().atMost(Repro.WAIT).until(() -> r.mod.hooks().arrivals(sleep) > loops);
            fs.runCleanerPass(Repro.WAIT); // (a pass the kthread's wake-up started may have dropped it already)
            assertFalse(fs.inspect().rootItems().containsKey(id), "dropped while its inode is in memory");
            h.close(); // inode_tree_del: empty inode tree, refs 0 → btrfs_add_dead_root
            assertEquals(List.of(id), fs.inspect().deadRoots(), "the dropped root is queued a second time");
            fs.umount(); // close_ctree parks the cleaner first: this run never drops it again
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
