package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * cleaner_kthread() (5.11) at the cleaner module's own level: a pass does nothing while the filesystem is
 * read-only, closing or not open, or while cleaner_mutex is taken; otherwise it runs the delayed iputs and
 * drops at most one dead root under cleaner_mutex, then deletes unused block groups outside it, and goes
 * round again without sleeping after a root was dropped. Every pass is started by an explicit wake of a
 * sleeping cleaner and awaited to its end (the port's pass counter); the order and the mutex are read at the
 * cleaner's named hooks, in the cleaner's own thread.
 */
class CleanerKthreadTest {
    private static final long IPUT_INO = 1000;
    private static final long DEAD_ID = 5000;
    private static final List<Hook> PASS_HOOKS = List.of(Hook.CLEANER_AFTER_SET_RUNNING, Hook.CLEANER_BEFORE_DELAYED_IPUT,
        Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS,
        Hook.CLEANER_BEFORE_CLEAR_RUNNING, Hook.CLEANER_BEFORE_SCHEDULE);

    /**
     * What each step of a pass would work on: a queued delayed iput, a dead root, an unused block group (on
     * unused_bgs after the first data group, which mkfs left empty and is in use now).
     */
    private static Root work(CleanerFs f) {
        f.c.delayedIputs().add(f.inode(IPUT_INO, 0)); // no cleaner yet: nothing to wake
        Root dead = f.deletedSubvolume(DEAD_ID, 30);
        FsRoots.addDeadRoot(f.fs, dead);
        f.unusedDataGroup();
        assertEquals(2, f.fs.space.unusedCount());
        return dead;
    }

    /** Records the cleaner's hooks as it passes them, each with whether it holds cleaner_mutex there. */
    private static List<String> record(CleanerFs f) {
        List<String> seen = new CopyOnWriteArrayList<>();
        f.hooks().setListener((hook, thread) -> {
            if (PASS_HOOKS.contains(hook)) {
                seen.add(hook.name() + (f.fs.cleanerMutex.isHeldByCurrentThread() ? " [cleaner_mutex]" : ""));
            }
        });
        return seen;
    }

    private static void assertNothingDone(CleanerFs f, List<String> seen) {
        assertEquals(List.of(IPUT_INO), f.c.delayedIputs().pending().stream().map(Inode::ino).toList(), "the delayed iput is still queued");
        assertEquals(List.of(DEAD_ID), f.fs.deadRootIds(), "the dead root is still queued");
        assertEquals(2, f.fs.space.unusedCount(), "the block groups are still on unused_bgs");
        assertEquals(2, f.fs.space.blockGroupCount(BlockGroupType.DATA));
        assertEquals(List.of(), f.fs.transList(), "no transaction was started");
        assertTrue(seen.contains(Hook.CLEANER_AFTER_SET_RUNNING.name()), "a pass ran: " + seen);
        assertTrue(seen.stream().noneMatch(h -> h.startsWith("CLEANER_BEFORE_DELAYED_IPUT") || h.startsWith("CLEANER_BEFORE_DROP_SNAPSHOT")
            || h.startsWith("CLEANER_BEFORE_DELETE_UNUSED_BGS")), "no step of it: " + seen);
        assertFalse(f.fs.flags.test(FsFlag.CLEANER_RUNNING), "CLEANER_RUNNING cleared at the end of the pass");
    }

    @Test
    void aPassDoesNothingBeforeTheFilesystemIsOpen() {
        try (CleanerFs f = new CleanerFs()) {
            work(f);
            List<String> seen = record(f);
            f.startCleaner(); // open_ctree starts it long before BTRFS_FS_OPEN: its first loop
            f.runPass();
            assertNothingDone(f, seen);
        }
    }

    @Test
    void aPassDoesNothingWhileClosing() {
        try (CleanerFs f = new CleanerFs().open()) {
            work(f);
            f.fs.flags.set(FsFlag.CLOSING_START); // close_ctree's first step
            List<String> seen = record(f);
            f.startCleaner();
            f.runPass();
            assertNothingDone(f, seen);
        }
    }

    /**
     * btrfs_need_cleaner_sleep() reads the flag patch 3/5 says: with the patch the atomic BTRFS_FS_STATE_RO
     * (SB_RDONLY alone does not stop it), before it the superblock's SB_RDONLY (FS_STATE_RO does not exist).
     */
    @ParameterizedTest(name = "patch 3/5 applied={0}")
    @ValueSource(booleans = {true, false})
    void aPassDoesNothingWhileReadOnlyAsThePatchDefinesIt(boolean applied) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.CLEANER_RO_REMOUNT_RACE};
        try (CleanerFs f = new CleanerFs(reverted).open()) {
            work(f);
            // the other version's flag alone: not read-only as far as this cleaner is concerned
            if (applied) {
                f.fs.setSbRdonlyFlag(true);
            } else {
                f.fs.fsState.set(FsState.RO);
            }
            assertFalse(f.fs.needCleanerSleep());
            // this version's flag
            if (applied) {
                f.fs.fsState.set(FsState.RO);
            } else {
                f.fs.setSbRdonlyFlag(true);
            }
            assertTrue(f.fs.needCleanerSleep());
            List<String> seen = record(f);
            f.startCleaner();
            f.runPass();
            assertNothingDone(f, seen);
        }
    }

    /** mutex_trylock(&fs_info->cleaner_mutex) failed: "goto sleep" — not even the unused block groups. */
    @Test
    void aPassDoesNothingWhileCleanerMutexIsTaken() {
        try (CleanerFs f = new CleanerFs().open()) {
            work(f);
            f.fs.cleanerMutex.lock(); // btrfs_commit_super, say, runs the delayed iputs under it
            try {
                List<String> seen = record(f);
                f.startCleaner();
                f.runPass();
                assertNothingDone(f, seen);
            } finally {
                f.fs.cleanerMutex.unlock();
            }
        }
    }

    /**
     * An open read-write filesystem: delayed iputs, then one dead root, both under cleaner_mutex; then the
     * unused block groups without it; CLEANER_RUNNING cleared; and because a root was dropped, another pass
     * at once (btrfs_clean_one_deleted_snapshot returned 1: no sleep), which finds nothing but the block
     * group step, and only then the sleep.
     */
    @Test
    void aPassRunsDelayedIputsAndOneDeadRootUnderTheMutexThenUnusedBlockGroupsOutsideIt() {
        try (CleanerFs f = new CleanerFs().open()) {
            Root dead = work(f);
            List<String> seen = record(f);
            Kthread k = f.startCleaner();
            assertEquals(List.of(
                "CLEANER_AFTER_SET_RUNNING",
                "CLEANER_BEFORE_DELAYED_IPUT [cleaner_mutex]",
                "CLEANER_BEFORE_DROP_SNAPSHOT_TRANS [cleaner_mutex]",
                "CLEANER_BEFORE_DELETE_UNUSED_BGS",
                "CLEANER_BEFORE_REMOVE_BG_TRANS", // the first data group, unlinked, found in use, skipped
                "CLEANER_BEFORE_REMOVE_BG_TRANS", // the empty one, removed
                "CLEANER_BEFORE_CLEAR_RUNNING",
                "CLEANER_AFTER_SET_RUNNING",
                "CLEANER_BEFORE_DELETE_UNUSED_BGS",
                "CLEANER_BEFORE_CLEAR_RUNNING",
                "CLEANER_BEFORE_SCHEDULE"), seen);
            assertEquals(1, CleanerFs.sleepsOnce(k, 1), "two passes, one sleep");
            assertEquals(List.of(), f.c.delayedIputs().pending());
            assertEquals(List.of(), f.fs.deadRootIds());
            assertEquals(null, f.rootItem(dead.objectid()), "the subvolume was dropped");
            assertEquals(1, f.fs.space.blockGroupCount(BlockGroupType.DATA), "the unused group was removed");
            assertEquals(0, f.fs.space.unusedCount());
            assertEquals(List.of("btrfs_evict_inode", "btrfs_drop_snapshot", "btrfs_start_trans_remove_block_group"),
                f.openTransactionFunctions().stream().distinct().toList(), "each step's transaction, ended, not committed");
        }
    }

    /** btrfs_clean_one_deleted_snapshot drops one root per pass: two dead roots take two passes and one wake-up. */
    @Test
    void oneDeadRootPerPassAndNoSleepInBetween() {
        try (CleanerFs f = new CleanerFs().open()) {
            Kthread k = f.startCleaner();
            FsRoots.addDeadRoot(f.fs, f.deletedSubvolume(DEAD_ID, 12));
            FsRoots.addDeadRoot(f.fs, f.deletedSubvolume(DEAD_ID + 1, 12));
            List<String> seen = record(f);
            long sleeps = CleanerFs.sleepsOnce(k, 1); // the first loop's sleep, counted
            f.runPass();
            List<String> passes = List.of(String.join(",", seen).split("CLEANER_AFTER_SET_RUNNING"));
            assertEquals(List.of(1L, 1L, 0L), passes.stream().skip(1)
                .map(p -> p.chars().count() == 0 ? 0L : (long) p.split("CLEANER_BEFORE_DROP_SNAPSHOT_TRANS").length - 1).toList(),
                "drops per pass: " + seen);
            assertEquals(sleeps + 1, CleanerFs.sleepsOnce(k, sleeps + 1), "three passes, one sleep");
            assertEquals(List.of(), f.fs.deadRootIds());
        }
    }
}
