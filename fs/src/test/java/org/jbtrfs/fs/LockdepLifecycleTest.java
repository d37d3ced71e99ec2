package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * The port's lock order under lockdep ({@code KernelConfig.lockdep(true)}): a whole lifecycle — write and fsync,
 * truncate, subvolumes, quotas, freeze and thaw, RO and RW remounts, umount — records the kernel's dependencies and no
 * cycle, btrfs' wait-event annotations (the transaction states' and the ordered extents' maps) included.
 */
class LockdepLifecycleTest {

    @Test
    void aLifecycleRecordsTheKernelsOrderAndNoCycle() {
        try (Repro r = new Repro(c -> c.lockdep(true))) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[5000]);
            try (FileHandle h = fs.open("f")) {
                h.fsync();
            }
            fs.writeFile("f", new byte[9000]);
            fs.truncate("f", 3000); // btrfs_truncate's btrfs_wait_ordered_range from the new end
            fs.createSubvolume("sv");
            fs.createFile("sv/g");
            fs.writeFile("sv/g", new byte[100]);
            fs.quotaEnable();
            fs.sync();
            fs.freeze();
            fs.thaw();
            fs.deleteSubvolume("sv");
            fs.quotaDisable();
            fs.remount("ro");
            fs.remount("rw");
            fs.runCleanerPass(Repro.WAIT);
            fs.umount();
            Lockdep ld = r.mod.kernel().lockdep();
            List<String> deps = ld.dependencies();
            assertFalse(ld.reported(), ld.report());
            // close_ctree under s_umount: btrfs_commit_super takes cleaner_mutex
            assertTrue(deps.contains("&type->s_umount_key -> &fs_info->cleaner_mutex"), deps.toString());
            // a write: file_start_write (sb_writers), then inode_lock
            assertTrue(deps.contains("sb_writers -> &sb->s_type->i_mutex_key"), deps.toString());
            // freeze_super re-takes s_umount holding SB_FREEZE_WRITE, then the next levels under both
            assertTrue(deps.contains("sb_writers -> &type->s_umount_key"), deps.toString());
            assertTrue(deps.contains("sb_pagefaults -> sb_internal"), deps.toString());
        }
    }

    /**
     * The ordered extents' lockdep map (6.1, "btrfs: add lockdep annotations for the ordered extents wait event"): an
     * fsync that waits for an ordered extent — under the inode lock, as 5.11's btrfs_sync_file holds it — "might wait"
     * for the map, and the finisher holds it while it joins a transaction (TRANS_JOIN is freezable: sb_internal first).
     * The finisher is parked before it starts, so the fsync's wait is certain, not a matter of timing.
     */
    @Test
    void anFsyncWaitingForAnOrderedExtentRecordsTheInodeLockBeforeTheMapAndTheFinisherTheMapBeforeItsTransaction() {
        try (Repro r = new Repro(c -> c.lockdep(true))) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            fs.writeFile("f", new byte[5000]);
            TestThread<Void> fsync = TestThread.run("fsync", () -> {
                try (FileHandle h = fs.open("f")) {
                    h.fsync();
                }
            });
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
            fsync.awaitBlockedIn("OrderedExtent", "waitComplete");
            Lockdep ld = r.mod.kernel().lockdep();
            assertTrue(ld.dependencies().contains("&sb->s_type->i_mutex_key -> btrfs_ordered_extent"),
                ld.dependencies().toString());
            r.mod.hooks().disarm(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            fsync.join();
            List<String> deps = ld.dependencies();
            assertTrue(deps.contains("btrfs_ordered_extent -> sb_internal"), deps.toString());
            assertFalse(ld.reported(), ld.report());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
