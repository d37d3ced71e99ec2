package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#RESIZE_THREAD_POOL_SCRUB_RACE} (later upstream, as a side effect of be539518, v5.19), both
 * directions. A remount asking for a new thread_pool=N runs btrfs_resize_thread_pool, which hands
 * fs_info->scrub_wr_completion_workers to btrfs_workqueue_set_max reading it with no lock: the remount holds s_umount,
 * the scrub queues are scrub_lock's. A scrub ending between that load and the store drops the last reference in
 * scrub_workers_put, takes the queues out under scrub_lock and destroys them — the store lands in freed memory
 * (KASAN: use-after-free in btrfs_workqueue_set_max). Applied: the resize leaves the scrub queues alone, as 5.19's does.
 *
 * <p>Kernel or port: the kernel's. Read: v5.11 super.c btrfs_remount (the resize after btrfs_remount_begin, for every
 * remount, and back on the restore label), btrfs_resize_thread_pool; async-thread.c btrfs_workqueue_set_max (no lock,
 * NULL tolerated); scrub.c scrub_workers_get, scrub_workers_put (NULL and destroy, the destroy outside scrub_lock),
 * btrfs_scrub_dev; and be539518 ("btrfs: use normal workqueues for scrub", v5.19), which drops the call while making the
 * scrub queues plain workqueues — it names no race, and the stable trees before 5.19 keep the code. Not found by the
 * explorer: the window is two instructions wide in the kernel (an interrupt or a CONFIG_PREEMPT preemption widens it),
 * and the explorer does not delay a thread where the kernel cannot sleep; {@link Hook#RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX}
 * holds the remount there.
 */
class ResizeThreadPoolScrubRaceTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return fixed ? new Repro(crc) : new Repro(crc, FixSwitch.RESIZE_THREAD_POOL_SCRUB_RACE);
    }

    /**
     * A scrub held before it marks its first block group read-only: it holds the scrub queues (scrub_workers_get ran)
     * and counts as paused, so the remount's commits pass it.
     */
    private static TestThread<ScrubProgress> scrubHeld(Repro r, Btrfs fs) {
        r.mod.hooks().parkAt(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Role.USER);
        TestThread<ScrubProgress> scrub = TestThread.call("scrub", () -> fs.scrub(true));
        r.mod.hooks().awaitParked(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Repro.WAIT);
        assertTrue(fs.fsInfo().scrub.wrCompletionWorkersUnlocked() != null, "the scrub holds its queues");
        return scrub;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAScrubEndingUnderTheResizeIsAUseAfterFree(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Btrfs fs = ScrubLifecycleTest.withFiles(r);
            TestThread<ScrubProgress> scrub = scrubHeld(r, fs);
            var wrComp = fs.fsInfo().scrub.wrCompletionWorkersUnlocked();
            r.mod.hooks().parkAt(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX, Role.USER);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("thread_pool=1"));
            r.mod.hooks().awaitParked(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX, Repro.WAIT);
            // the remount has loaded the pointer; the scrub ends: scrub_workers_put destroys the queues
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            assertEquals(0, scrub.join().errorCount());
            assertTrue(wrComp.isDestroyed(), "the last reference destroyed scrub_wr_completion_workers");
            r.mod.hooks().disarm(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX);
            assertInstanceOf(KernelOops.class, remount.failure());
            assertTrue(r.logged("BUG: KASAN: use-after-free in btrfs_workqueue_set_max"), r.mod.log().dmesg());
            assertTrue(r.logged("(btrfs_workqueue btrfs-scrubwrc (device sdc))"), r.mod.log().dmesg());
            assertTrue(r.mod.log().tainted());
            fs.umount();
        }
    }

    /** Applied: the resize never reaches the scrub's queues, and the scrub ends its own way. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheResizeLeavesTheScrubQueuesAlone(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = ScrubLifecycleTest.withFiles(r);
            int old = fs.fsInfo().threadPoolSize();
            TestThread<ScrubProgress> scrub = scrubHeld(r, fs);
            var wrComp = fs.fsInfo().scrub.wrCompletionWorkersUnlocked();
            r.mod.hooks().arm(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX, org.jbtrfs.core.HookAction.count());
            fs.remount("thread_pool=1");
            assertTrue(r.logged("resize thread pool " + old + " -> 1"), r.mod.log().dmesg());
            assertEquals(0, r.mod.hooks().arrivals(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX));
            assertEquals(old, wrComp.limitActive(), "the scrub's queues keep the size they were made with");
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            assertEquals(0, scrub.join().errorCount());
            assertTrue(wrComp.isDestroyed());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * Reverted but with no scrub ending in the window, the resize reaches the live queue (the kernel's only effect: its
     * limit_active, unused without thresholding) — the reproducer's failure is the race's, not the store's.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAResizeWhileTheScrubRunsOnIsHarmless(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Btrfs fs = ScrubLifecycleTest.withFiles(r);
            TestThread<ScrubProgress> scrub = scrubHeld(r, fs);
            var wrComp = fs.fsInfo().scrub.wrCompletionWorkersUnlocked();
            r.mod.hooks().arm(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX, org.jbtrfs.core.HookAction.count());
            fs.remount("thread_pool=1");
            assertEquals(1, r.mod.hooks().arrivals(Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX));
            assertEquals(1, wrComp.limitActive());
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            assertEquals(0, scrub.join().errorCount());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
