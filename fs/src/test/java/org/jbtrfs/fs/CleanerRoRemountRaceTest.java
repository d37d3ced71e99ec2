package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Patch 3/5, "btrfs: fix race between RO remount and the cleaner task". Before it, remount RO set the
 * superblock's SB_RDONLY with a plain store and went on to btrfs_commit_super without waiting for a cleaner
 * pass already under way; whatever that pass did after the commit stayed in an open transaction, leaked by a
 * prompt umount. The patch makes the remount wait on CLEANER_RUNNING (cleared with clear_and_wake_up_bit) and
 * makes the cleaner test the atomic FS_STATE_RO.
 *
 * <p>The changelog lists three things the pass may be doing: running a delayed iput, dropping a deleted
 * subvolume, deleting an unused block group. The first two run under cleaner_mutex, which
 * btrfs_commit_super also takes, so in the kernel's own locking the remount's commit waits for them and
 * includes their transactions; only the block-group step runs outside cleaner_mutex, after it. The tests
 * below show each: the block-group leak on its own, and the delayed-iput and drop-snapshot passes, whose
 * transactions the remount commits; the drop-snapshot pass still leaks through its own block-group step.
 * The delayed-iput pass cannot: the VFS refuses an RO remount while the unlinked inode is alive, and once
 * it is evicted the remount's sync_filesystem and btrfs_delete_unused_bgs clean up after it.
 */
class CleanerRoRemountRaceTest {

    /**
     * Fills the first data chunk exactly and writes {@code path} (1 MiB) as the only data of a second chunk,
     * committed: freeing that file empties the group. Writes reach the allocator at writeback, so each
     * filler is synced (its extent reserved by cow_file_range, its file extent item committed).
     */
    static void ownChunk(Btrfs fs, String path) {
        int chunks = fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA);
        for (int i = 0; freeData(fs) > 0; i++) {
            fs.createFile("fill" + i);
            fs.writeFile("fill" + i, new byte[(int) Math.min(1 << 20, freeData(fs))]);
            fs.sync();
        }
        assertEquals(chunks, fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA), "the first chunk is full, no second yet");
        fs.createFile(path);
        fs.writeFile(path, new byte[1 << 20]);
        fs.sync();
        // the ordered extents' workers may still hold the files (their last put comes after the sync's wait)
        Repro.awaitOrderedExtentsReleased(fs);
        assertEquals(chunks + 1, fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA), path + " alone in a new chunk");
        // the mount put mkfs's then empty data group on unused_bgs (read_one_block_group) and the allocations
        // since left it there, as the kernel does: a cleaner pass pops it and skips it, as it is in use now
        fs.runCleanerPass(Repro.WAIT);
    }

    private static long freeData(Btrfs fs) {
        var c = fs.fsInfo().space.counters(BlockGroupType.DATA);
        return c.total() - c.used() - c.pinned() - c.reserved();
    }

    /** Leaves exactly one unused block group on fs_info->unused_bgs. */
    static void makeOneUnusedBlockGroup(Btrfs fs) {
        ownChunk(fs, "victim");
        fs.unlink("victim");
        fs.sync();
        assertEquals(1, fs.fsInfo().space.unusedCount(), "exactly the second chunk is unused");
    }

    private static FixSwitch[] reverted(boolean applied, FixSwitch... more) {
        if (applied) {
            return more;
        }
        FixSwitch[] all = java.util.Arrays.copyOf(more, more.length + 1);
        all[more.length] = FixSwitch.CLEANER_RO_REMOUNT_RACE;
        return all;
    }

    static final String REMOUNT = "mount -o remount,ro";

    /** The race: the cleaner's pass stands parked at {@code window}; remount RO starts on its own thread. */
    private static TestThread<Void> remountWhileCleanerAt(Repro r, Btrfs fs, Hook window) {
        r.mod.hooks().awaitParked(window, Repro.WAIT);
        return TestThread.run(REMOUNT, () -> fs.remount("ro"));
    }

    /**
     * Patch 3/5 applied: the remount sleeps in wait_on_bit(CLEANER_RUNNING) — named so by the kernel's
     * bookkeeping, and the only waiter on that bit — and has not returned.
     */
    static void awaitRemountWaitsForThePass(Btrfs fs, TestThread<Void> remount) {
        Repro.awaitBlockedOn(fs, REMOUNT, "wait_on_bit(CLEANER_RUNNING)");
        assertEquals(1, fs.fsInfo().flags.waiters(FsFlag.CLEANER_RUNNING));
        assertFalse(remount.done());
    }

    /**
     * Reverted: the remount does not wait — it returns while the cleaner's pass is still parked at
     * {@code window} (had it waited, it could not return before the release).
     */
    static void awaitRemountPassesThePass(Repro r, TestThread<Void> remount, Hook window) {
        remount.join();
        assertTrue(r.mod.hooks().isParked(window), "the pass is still in its window");
    }

    // ---- third variant: the unused block group -------------------------------------------------------

    /**
     * 1. the cleaner's pass unlinked the only unused block group and is about to start its
     * remove-block-group transaction; 2. remount RO sets RO, its own btrfs_delete_unused_bgs finds the list
     * empty; 3. applied: it waits for the pass — reverted: btrfs_commit_super and done; 4. the cleaner starts
     * and ends its transaction; 5. umount.
     */
    private static Btrfs unusedBgRace(Repro r, boolean applied) {
        Btrfs fs = r.mountSettled("");
        makeOneUnusedBlockGroup(fs);
        r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        Repro.wakeCleaner(fs);
        TestThread<Void> remount = remountWhileCleanerAt(r, fs, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        if (applied) {
            awaitRemountWaitsForThePass(fs, remount);
        } else {
            awaitRemountPassesThePass(r, remount, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        }
        r.mod.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        remount.join();
        Repro.awaitCleanerAsleep(fs);
        return fs;
    }

    @RepeatedTest(100)
    void unusedBlockGroupAppliedTheRemountCommitsTheCleanersTransaction() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = unusedBgRace(r, true);
            assertTrue(fs.inspect().openTransactions().isEmpty());
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    @RepeatedTest(100)
    void unusedBlockGroupRevertedTheAssertionCatchesTheLeak() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
            Btrfs fs = unusedBgRace(r, false);
            assertEquals(List.of("btrfs_start_trans_remove_block_group"), fs.inspect().openTransactions().get(0).functions());
            assertThrows(KernelBug.class, fs::umount);
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"));
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void unusedBlockGroupRevertedTheLeakReachesTheTeardown(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.CLEANER_RO_REMOUNT_RACE, FixSwitch.TRANS_LIST_ASSERT)) {
            Btrfs fs = unusedBgRace(r, false);
            assertEquals(1, fs.inspect().openTransactions().size());
            if (crc == Crc32cImpl.GENERIC) {
                KernelOops oops = assertThrows(KernelOops.class, fs::umount);
                assertTrue(oops.getMessage().contains("use-after-free in btrfs_queue_work"));
            } else {
                fs.umount();
                assertEquals(0, r.count(LogEntry.Kind.USE_AFTER_FREE));
            }
            SeedSymptoms.assertTeardownWarnings(r);
            SeedSymptoms.assertSlabLeaks(r.mod.unload());
        }
    }

    // ---- first and second variants: delayed iput, drop snapshot -------------------------------------

    /**
     * Second variant, 1. the cleaner's pass, inside cleaner_mutex, is about to drop a deleted subvolume whose
     * data is all of a block group; 2. remount RO sets RO (its btrfs_delete_unused_bgs finds nothing yet)
     * and — applied — waits for the pass, or — reverted — blocks in btrfs_commit_super on cleaner_mutex;
     * 3. the cleaner drops the subvolume and leaves the mutex; 4. reverted: the remount's commit includes
     * the drop and, running its delayed refs, empties the block group, which goes on unused_bgs; 5. the
     * same cleaner pass goes on to btrfs_delete_unused_bgs, after the remount's last commit, and removes
     * the group in a new transaction.
     */
    @ParameterizedTest(name = "patch applied={0}")
    @ValueSource(booleans = {true, false})
    void dropSnapshotPassIsCommittedByTheRemountButItsBlockGroupStepLeaks(boolean applied) {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, reverted(applied, FixSwitch.TRANS_LIST_ASSERT))) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv");
            ownChunk(fs, "sv/victim");
            fs.deleteSubvolume("sv");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            Repro.wakeCleaner(fs);
            TestThread<Void> remount = remountWhileCleanerAt(r, fs, Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            // the remount cannot pass the cleaner: wait_on_bit, or (reverted) cleaner_mutex in btrfs_commit_super
            if (applied) {
                awaitRemountWaitsForThePass(fs, remount);
            } else {
                Repro.awaitBlockedOn(fs, REMOUNT, "mutex_lock(cleaner_mutex) held by btrfs-cleaner");
                assertEquals(0, fs.fsInfo().flags.waiters(FsFlag.CLEANER_RUNNING));
                assertFalse(remount.done());
            }
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS, Repro.WAIT);
            finishBlockGroupStep(r, fs, remount, applied);
        }
    }

    /**
     * First variant, which the kernel's ordering closes twice over. 1. While the cleaner evicts an unlinked
     * inode, that inode still counts in s_remove_count and the VFS refuses the RO remount (EBUSY). 2. Once
     * the eviction is over (its transaction ended, the pass about to delete unused block groups), the
     * remount starts with sync_filesystem, which commits the eviction and so empties the block group, and
     * its own btrfs_delete_unused_bgs removes the group; btrfs_commit_super commits that. 3. The cleaner's
     * block-group step finds nothing left. Clean in both directions.
     */
    @ParameterizedTest(name = "patch applied={0}")
    @ValueSource(booleans = {true, false})
    void delayedIputPassIsClosedByTheVfsAndByTheRemountsOwnCleanup(boolean applied) {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, reverted(applied, FixSwitch.TRANS_LIST_ASSERT))) {
            Btrfs fs = r.mountSettled("");
            ownChunk(fs, "victim");
            int dataGroups = fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA);
            FileHandle fh = fs.open("victim");
            fs.unlink("victim");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            fh.closeFromWorker(); // btrfs_add_delayed_iput wakes the idle cleaner
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELAYED_IPUT, Repro.WAIT);
            var busy = assertThrows(org.jbtrfs.core.BtrfsException.class, () -> fs.remount("ro"));
            assertEquals(org.jbtrfs.core.Errno.EBUSY, busy.errno(), "the unlinked inode is still alive");
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS, Repro.WAIT);
            TestThread<Void> remount = remountWhileCleanerAt(r, fs, Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            if (applied) {
                awaitRemountWaitsForThePass(fs, remount);
            } else {
                awaitRemountPassesThePass(r, remount, Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            }
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
            remount.join();
            Repro.awaitCleanerAsleep(fs);
            assertEquals(dataGroups - 1, fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA),
                "the remount removed the emptied group itself");
            assertTrue(fs.inspect().openTransactions().isEmpty());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** The end of the second variant: the pass's block-group step runs, then umount shows the verdict. */
    private static void finishBlockGroupStep(Repro r, Btrfs fs, TestThread<Void> remount, boolean applied) {
        if (!applied) {
            remount.join(); // its commit included the cleaner's transaction
            assertEquals(1, fs.fsInfo().space.unusedCount(), "and emptied the block group");
        }
        r.mod.hooks().release(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
        remount.join();
        Repro.awaitCleanerAsleep(fs);
        var open = fs.inspect().openTransactions();
        if (applied) {
            assertTrue(open.isEmpty(), open.toString());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        } else {
            assertEquals(List.of("btrfs_start_trans_remove_block_group"), open.get(0).functions(), open.toString());
            assertThrows(KernelOops.class, fs::umount);
            SeedSymptoms.assertTeardownWarnings(r);
            SeedSymptoms.assertSlabLeaks(r.mod.unload());
        }
    }

    /** The variant reproducers, 100 times each: the same verdict every time. */
    @RepeatedTest(100)
    void variantsAreDeterministic() {
        for (boolean applied : new boolean[] {true, false}) {
            dropSnapshotPassIsCommittedByTheRemountButItsBlockGroupStepLeaks(applied);
            delayedIputPassIsClosedByTheVfsAndByTheRemountsOwnCleanup(applied);
        }
    }

    @ParameterizedTest(name = "patch applied={0}")
    @ValueSource(booleans = {true, false})
    void theCleanerReadsTheFlagThePatchSays(boolean applied) {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, reverted(applied))) {
            Btrfs fs = r.mountSettled("");
            fs.remount("ro");
            assertEquals(applied, fs.inspect().state().contains(org.jbtrfs.core.FsState.RO), "BTRFS_FS_STATE_RO exists only with the patch");
            assertTrue(fs.fsInfo().needCleanerSleep());
            fs.remount("rw");
            assertFalse(fs.inspect().state().contains(org.jbtrfs.core.FsState.RO));
            assertFalse(fs.fsInfo().needCleanerSleep());
            fs.umount();
        }
    }
}
