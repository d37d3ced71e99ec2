package org.jbtrfs.fs;

import static org.jbtrfs.fs.SpaceCacheFixtures.GIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.space.BlockGroup;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Patch 3/5's third variant as the kernel runs it on a realistic filesystem (fidelity audit, finding 1):
 * with space_cache v1 (the 5.10/5.11 default) a block group of at least 100 MiB has a free space cache
 * inode, and btrfs_remove_block_group gives that inode an orphan item, clears its link count and hands it
 * to btrfs_add_delayed_iput. The caller is the cleaner itself, mid-pass (CLEANER_RUNNING set), so nobody
 * wakes it; without patch 3/5 the remount's last commit is already over, the cleaner sees the filesystem
 * read-only and sleeps for good, and umount reaches close_ctree's
 * {@code ASSERT(list_empty(&fs_info->delayed_iputs))} — patch 5/5's text, before patch 4/5's trans_list
 * assertion, which comes later in close_ctree. The most direct reading of the seed's 5.6-rc2 trace.
 *
 * <p>Numbered as in the changelog: 1. the cleaner's pass unlinked the emptied 112 MiB data group from
 * unused_bgs and is about to start its remove-block-group transaction; 2. remount RO sets RO, finds no
 * unused group itself and — reverted — commits and returns, — applied — waits for the pass; 3. the cleaner
 * removes the group: its transaction, the cache inode's orphan item and delayed iput; 4. umount.
 */
class SpaceCacheCleanerRaceTest {

    private static FixSwitch[] reverted(boolean applied, FixSwitch... more) {
        if (applied) {
            return more;
        }
        FixSwitch[] all = java.util.Arrays.copyOf(more, more.length + 1);
        all[more.length] = FixSwitch.CLEANER_RO_REMOUNT_RACE;
        return all;
    }

    /**
     * A module with {@code reverted} reverted, on 5.11's close_ctree: without the later step that flushes
     * endio_write_workers and runs the delayed iputs ({@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT}), which
     * would run the cache inode's iput on the read-only filesystem (see
     * {@link #withTheLaterCloseCtreeStepTheEvictionLeaksATransactionInstead}).
     */
    private static Repro repro(Crc32cImpl crc, boolean assertions, FixSwitch... reverted) {
        return new Repro(GIB, c -> c.revert(reverted).revert(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT).crc32c(crc).assertions(assertions));
    }

    /** Steps 1–3; returns the cache inode's number. */
    private static long race(Repro r, Btrfs fs, boolean applied) {
        BlockGroup bg = SpaceCacheFixtures.emptyBigGroup(fs);
        long ino = SpaceCacheFixtures.header(fs, bg).location().objectid();
        r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        Repro.wakeCleaner(fs);
        r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, Repro.WAIT);
        assertEquals(0, fs.ctx().cleaner.inodes().removeCount(), "nothing unlinked yet: the VFS lets the remount in");
        TestThread<Void> remount = TestThread.run(CleanerRoRemountRaceTest.REMOUNT, () -> fs.remount("ro"));
        if (applied) {
            CleanerRoRemountRaceTest.awaitRemountWaitsForThePass(fs, remount);
        } else {
            CleanerRoRemountRaceTest.awaitRemountPassesThePass(r, remount, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        }
        r.mod.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        remount.join();
        Repro.awaitCleanerAsleep(fs);
        assertTrue(SpaceCacheFixtures.bigDataGroups(fs).isEmpty(), "the cleaner removed the group");
        return ino;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheDelayedIputsAssertionFiresFirst(Crc32cImpl crc) {
        try (Repro r = repro(crc, true, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            Btrfs fs = r.mountSettled("");
            long ino = race(r, fs, false);
            // the cleaner queued the cache inode and went to sleep on a read-only filesystem
            assertEquals(List.of(ino), fs.inspect().delayedIputs());
            assertFalse(fs.inspect().cleanerRunning());
            assertEquals(List.of("btrfs_start_trans_remove_block_group"), fs.inspect().openTransactions().get(0).functions());
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->delayed_iputs), in fs/btrfs/disk-io.c:4049"));
            assertFalse(r.logged("list_empty(&fs_info->trans_list)"), "patch 4/5's assertion comes later in close_ctree");
            UnloadReport rep = r.mod.unload();
            assertEquals(1, rep.remaining("btrfs_inode"), rep.toString());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRemountCommitsTheRemovalAndRunsTheIput(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = r.mountSettled("");
            long ino = race(r, fs, true);
            assertTrue(fs.inspect().delayedIputs().isEmpty(), "patch 5/5 ran it after the wait");
            assertTrue(fs.inspect().openTransactions().isEmpty(), "btrfs_commit_super committed the removal and the eviction");
            assertEquals(0, fs.ctx().cleaner.inodes().removeCount());
            fs.umount();
            // on disk: the group, its cache inode and its orphan item are gone
            Btrfs again = r.mount("ro");
            assertTrue(SpaceCacheFixtures.bigDataGroups(again).isEmpty());
            assertEquals(null, SpaceCacheFixtures.cacheInode(again, new Key(ino, org.jbtrfs.core.disk.ItemType.INODE_ITEM, 0)));
            assertTrue(again.inspect().rootOrphans().isEmpty());
            again.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * Patch 5/5 alone does not close it: its delayed-iput run in remount happens before the cleaner queues
     * the inode, since the remount does not wait for the pass.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void patch5AloneDoesNotHelp(Crc32cImpl crc) {
        try (Repro r = repro(crc, true, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            assertTrue(r.mod.config().applied(FixSwitch.DELAYED_IPUTS_RO_REMOUNT));
            Btrfs fs = r.mountSettled("");
            race(r, fs, false);
            assertThrows(KernelBug.class, fs::umount);
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->delayed_iputs)"));
        }
    }

    /**
     * Without CONFIG_BTRFS_ASSERT close_ctree goes on: the leaked transaction reaches the teardown (the
     * seed's WARNINGs; the use-after-free in btrfs_queue_work with generic crc32c), and the cache inode is
     * never evicted: its btrfs_inode is still allocated at rmmod. On disk nothing of the removal remains —
     * the transaction that removed the group was never committed — so the next mount finds the group empty
     * again and the cleaner removes it then.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedWithoutAssertionsTheInodeAndTheTransactionLeak(Crc32cImpl crc) {
        try (Repro r = repro(crc, false, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            Btrfs fs = r.mountSettled("");
            long ino = race(r, fs, false);
            if (crc == Crc32cImpl.GENERIC) {
                KernelOops oops = assertThrows(KernelOops.class, fs::umount);
                assertTrue(oops.getMessage().contains("use-after-free in btrfs_queue_work"));
            } else {
                fs.umount();
                assertEquals(0, r.count(LogEntry.Kind.USE_AFTER_FREE));
            }
            SeedSymptoms.assertTeardownWarnings(r);
            UnloadReport rep = r.mod.unload();
            SeedSymptoms.assertSlabLeaks(rep);
            assertEquals(1, rep.remaining("btrfs_inode"), rep.toString());
            assertTrue(ino > 0);
        }
    }

    /** The next mount after the leak: the group is still there, empty, and goes then — cleanly. */
    @org.junit.jupiter.api.Test
    void afterTheLeakTheNextMountRemovesTheGroupAgain() {
        try (Repro r = repro(Crc32cImpl.ACCELERATED, false, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            Btrfs fs = r.mountSettled("");
            long ino = race(r, fs, false);
            fs.umount();
            Btrfs ro = r.mount("ro"); // read-only: the cleaner never works, nothing changes
            assertEquals(1, SpaceCacheFixtures.bigDataGroups(ro).size(), "the removal was never committed");
            assertEquals(1, ro.fsInfo().space.unusedCount());
            assertTrue(ro.inspect().rootOrphans().isEmpty());
            ro.umount();
            Btrfs again = r.mountSettled("");
            again.runCleanerPass(Repro.WAIT);
            assertTrue(SpaceCacheFixtures.bigDataGroups(again).isEmpty(), "the pass removed the group");
            again.umount(); // commit_super runs the cache inode's delayed iput
            Btrfs third = r.mount("ro");
            assertTrue(SpaceCacheFixtures.bigDataGroups(third).isEmpty());
            assertEquals(null, SpaceCacheFixtures.cacheInode(third, new Key(ino, org.jbtrfs.core.disk.ItemType.INODE_ITEM, 0)));
            assertTrue(third.inspect().rootOrphans().isEmpty(), third.inspect().toString());
            third.umount();
        }
    }

    /**
     * The second variant on the same filesystem: the cleaner's pass drops a deleted subvolume whose data is all
     * of the 112 MiB group. Reverted, the remount blocks on cleaner_mutex in btrfs_commit_super, its commit then
     * empties the group, and the same pass's btrfs_delete_unused_bgs removes it after that commit — with the
     * cache inode's delayed iput, so again the delayed_iputs assertion comes first. Applied, the remount waits
     * for the pass, whose block-group step finds the group still in use (its extents are freed by the remount's
     * commit), and the RO filesystem keeps the empty group: clean.
     */
    @ParameterizedTest(name = "patch applied={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void dropSnapshotPassOnABigGroup(boolean applied) {
        try (Repro r = repro(Crc32cImpl.ACCELERATED, true, reverted(applied))) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv");
            SpaceCacheFixtures.ownBigGroup(fs, "sv/victim");
            fs.deleteSubvolume("sv");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            Repro.wakeCleaner(fs);
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Repro.WAIT);
            TestThread<Void> remount = TestThread.run(CleanerRoRemountRaceTest.REMOUNT, () -> fs.remount("ro"));
            if (applied) {
                CleanerRoRemountRaceTest.awaitRemountWaitsForThePass(fs, remount);
            } else {
                Repro.awaitBlockedOn(fs, CleanerRoRemountRaceTest.REMOUNT, "mutex_lock(cleaner_mutex) held by btrfs-cleaner");
            }
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS, Repro.WAIT);
            if (!applied) {
                remount.join(); // its commit included the drop and emptied the group
                assertEquals(1, fs.fsInfo().space.unusedCount());
            }
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            remount.join();
            Repro.awaitCleanerAsleep(fs);
            if (applied) {
                assertTrue(fs.inspect().openTransactions().isEmpty());
                assertTrue(fs.inspect().delayedIputs().isEmpty());
                fs.umount();
                assertTrue(r.mod.unload().clean());
            } else {
                assertEquals(1, fs.inspect().delayedIputs().size(), "the cache inode of the removed group");
                KernelBug bug = assertThrows(KernelBug.class, fs::umount);
                assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
                assertFalse(r.logged("list_empty(&fs_info->trans_list)"));
            }
        }
    }

    /**
     * Patch 3/5 reverted with the later close_ctree step applied (a combination no released kernel has):
     * close_ctree runs the cache inode's delayed iput itself, on the read-only filesystem, and its eviction
     * (btrfs_evict_inode: truncate, delete the items) joins a transaction after the last commit — so patch
     * 4/5's trans_list assertion is the first symptom instead, beside the cleaner's leaked removal.
     */
    @org.junit.jupiter.api.Test
    void withTheLaterCloseCtreeStepTheEvictionLeaksATransactionInstead() {
        try (Repro r = new Repro(GIB, c -> c.revert(FixSwitch.CLEANER_RO_REMOUNT_RACE).crc32c(Crc32cImpl.ACCELERATED))) {
            Btrfs fs = r.mountSettled("");
            race(r, fs, false);
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
            assertFalse(r.logged("list_empty(&fs_info->delayed_iputs)"), "close_ctree ran the delayed iput");
            assertTrue(fs.inspect().openTransactions().stream().anyMatch(t -> t.functions().contains("btrfs_evict_inode")),
                fs.inspect().openTransactions().toString());
        }
    }

    /** The reverted reproducer, 50 times: the same verdict every time. */
    @RepeatedTest(50)
    void revertedIsDeterministic() {
        revertedTheDelayedIputsAssertionFiresFirst(Crc32cImpl.ACCELERATED);
    }

    /** The applied reproducer, 50 times. */
    @RepeatedTest(50)
    void appliedIsDeterministic() {
        appliedTheRemountCommitsTheRemovalAndRunsTheIput(Crc32cImpl.ACCELERATED);
    }
}
