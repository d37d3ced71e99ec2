package org.jbtrfs.fs;

import static org.jbtrfs.fs.QgroupFixtures.INCONSISTENT;
import static org.jbtrfs.fs.QgroupFixtures.ON;
import static org.jbtrfs.fs.QgroupFixtures.RESCAN;
import static org.jbtrfs.fs.QgroupFixtures.assertUsageMatchesWalk;
import static org.jbtrfs.fs.QgroupFixtures.awaitParked;
import static org.jbtrfs.fs.QgroupFixtures.extentTreeLeaves;
import static org.jbtrfs.fs.QgroupFixtures.imageDevice;
import static org.jbtrfs.fs.QgroupFixtures.parkAtArrival;
import static org.jbtrfs.fs.QgroupFixtures.statusItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.qgroup.Qgroups;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Patch 1/5, "btrfs: fix transaction leak and crash after RO remount caused by qgroup rescan", as the
 * numbered steps of its commit message:
 * <ol>
 *   <li>a filesystem is mounted RW and the qgroup rescan worker is running — here parked by
 *       {@link Hook#QGROUP_RESCAN_BEFORE_LEAF} after its first leaf of a six-leaf extent tree, before
 *       it checks whether to go on;</li>
 *   <li>it is remounted RO. Before the patch nothing stops or waits for the worker, so it is still
 *       running after btrfs_commit_super;</li>
 *   <li>the worker then starts transactions — one per leaf, the last one committed — and after its
 *       last leaf starts one more to update the qgroup status item, which it only ends;</li>
 *   <li>an unmount starts shortly after (a {@link ManualClock} keeps the transaction kthread from
 *       ever reaching its 30 s commit);</li>
 *   <li>close_ctree stops the transaction kthread, which never committed it;</li>
 *   <li>RO: no btrfs_commit_super;</li>
 *   <li>the work queues are destroyed and the block groups freed (WARNINGs), then the btree inode's
 *       final iput writes the leaked transaction's dirty quota-tree block;</li>
 *   <li>without crc32c acceleration that write is checksummed asynchronously,</li>
 *   <li>on the destroyed fs_info-&gt;workers: the use-after-free in btrfs_queue_work.</li>
 * </ol>
 * With patch 4/5 applied the leak is caught earlier by "assertion failed:
 * list_empty(&amp;fs_info-&gt;trans_list)". With patch 1/5 applied the remount waits for the worker,
 * which sees REMOUNTING, stops ("qgroup scan paused") and keeps the RESCAN flag; btrfs_commit_super
 * commits its status update, and the next RW mount resumes the rescan where it stopped.
 */
class QgroupRescanRoRemountTest {

    /** One loaded module with the prepared image mounted RW, quotas not yet on. */
    private static final class Scenario implements AutoCloseable {
        final BtrfsModule mod;
        final BlockDevice dev;
        final Btrfs fs;
        final KernelLog log;

        Scenario(KernelConfig cfg) {
            mod = BtrfsModule.load(cfg.clock(new ManualClock()));
            try {
                dev = imageDevice(mod);
                fs = mod.mount(dev, "");
            } catch (RuntimeException | Error e) {
                mod.close(); // the constructor failed: no try-with-resources owns the module yet
                throw e;
            }
            log = mod.log();
        }

        Qgroups qgroups() { return fs.ctx().qgroups; }

        /** Step 1: quotas on (which starts the rescan); the worker parks before its second leaf. */
        long rescanParkedBetweenLeaves() {
            parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
            fs.quotaEnable();
            awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
            assertTrue(fs.qgroupRescanRunning());
            assertTrue(extentTreeLeaves(fs) >= 5, "the extent tree must span several leaves");
            long progress = qgroups().rescanProgress();
            assertTrue(progress > 0, "one leaf done, more to go: progress " + progress);
            return progress;
        }

        @Override
        public void close() {
            mod.hooks().reset();
            mod.close();
        }
    }

    // ---- patch applied ---------------------------------------------------------------------------

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedRemountRoWaitsForTheWorkerWhichPausesAndResumesOnTheNextMount(Crc32cImpl crc) {
        runApplied(crc);
    }

    static void runApplied(Crc32cImpl crc) {
        try (Scenario s = new Scenario(KernelConfig.defaults().crc32c(crc))) {
            long parkedAt = s.rescanParkedBetweenLeaves();

            // 2) remount RO: REMOUNTING is set, and the remount blocks in btrfs_qgroup_wait_for_completion
            //    (before btrfs_commit_super) for as long as the worker runs
            TestThread<Void> remount = TestThread.run("remount-ro", () -> s.fs.remount("ro"));
            Waits.within().until(() -> s.qgroups().rescanWaiters() == 1 && "wait_for_completion(qgroup_rescan_completion)"
                .equals(s.mod.kernel().sched().blocked().get("remount-ro")));
            assertTrue(s.fs.qgroupRescanRunning());
            assertFalse(remount.done());
            assertTrue(s.fs.inspect().state().contains(FsState.REMOUNTING));

            // 3) released, the worker checks rescan_should_stop(), sees REMOUNTING and stops; its status
            //    update is in the transaction the remount then commits
            s.mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            remount.join();
            // the worker logs after complete_all and btrfs_end_transaction, so the remount may return
            // first: the message is also the sign that the worker is done
            Waits.within().until(() -> s.log.contains("qgroup scan paused"));
            assertFalse(s.log.contains("qgroup scan completed"));
            assertFalse(s.fs.qgroupRescanRunning());
            assertEquals(ON | RESCAN | INCONSISTENT, s.fs.qgroupStatusFlags(), "RESCAN kept for the resume");
            assertEquals(List.of(), s.fs.inspect().openTransactions(), "btrfs_commit_super committed everything");
            long saved = s.qgroups().rescanProgress();
            assertEquals(parkedAt, saved, "no leaf scanned after the stop");
            QgroupStatusItem onDisk = statusItem(s.fs);
            assertEquals(ON | RESCAN | INCONSISTENT, onDisk.flags());
            assertEquals(saved, onDisk.rescan());
            assertEquals(s.fs.inspect().generation(), onDisk.generation());

            // 4)-9) umount: nothing left open, so nothing to leak
            s.fs.umount();
            assertEquals(0, s.log.count(LogEntry.Kind.WARNING), s.log.dmesg());

            // the next RW mount resumes from the saved progress (qgroup_rescan_init(progress, 0) at
            // btrfs_read_qgroup_config re-arms the completion) and completes with the right numbers
            s.mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            Btrfs fs2 = s.mod.mount(s.dev, "");
            awaitParked(s.mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
            assertEquals(saved, fs2.ctx().qgroups.rescanProgress(), "resumed where it paused");
            s.mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            fs2.quotaRescanWait();
            assertFalse(fs2.qgroupRescanRunning());
            // the worker logs after complete_all: the message may trail the wait
            Waits.within().until(() -> s.log.contains("qgroup scan completed (inconsistency flag cleared)"));
            assertEquals(ON, fs2.qgroupStatusFlags());
            fs2.sync();
            assertUsageMatchesWalk(fs2);
            fs2.umount();

            UnloadReport r = s.mod.unload();
            assertTrue(r.clean(), r.toString());
            assertFalse(s.log.tainted(), s.log.dmesg());
        }
    }

    // ---- patch reverted (v5.10) ------------------------------------------------------------------

    static Stream<Arguments> revertedVariants() {
        return Stream.of(Crc32cImpl.values()).flatMap(c -> Stream.of(Arguments.of(c, true), Arguments.of(c, false)));
    }

    @ParameterizedTest(name = "crc32c {0}, trans_list assertion (4/5) applied {1}")
    @MethodSource("revertedVariants")
    void revertedRemountRoLeavesTheWorkerRunningAndUmountLeaksItsTransaction(Crc32cImpl crc, boolean transListAssert) {
        runReverted(crc, transListAssert);
    }

    static void runReverted(Crc32cImpl crc, boolean transListAssert) {
        KernelConfig cfg = KernelConfig.defaults().crc32c(crc).revert(FixSwitch.QGROUP_RESCAN_RO_REMOUNT);
        if (!transListAssert) {
            cfg = cfg.revert(FixSwitch.TRANS_LIST_ASSERT);
        }
        try (Scenario s = new Scenario(cfg)) {
            s.rescanParkedBetweenLeaves();

            // 2) remount RO neither stops nor waits for the worker: it commits and returns while the
            //    worker is still parked between two leaves
            TestThread<Void> remount = TestThread.run("remount-ro", () -> s.fs.remount("ro"));
            remount.join();
            assertTrue(s.fs.isReadOnly());
            assertTrue(s.mod.hooks().isParked(Hook.QGROUP_RESCAN_BEFORE_LEAF));
            assertTrue(s.fs.qgroupRescanRunning());
            assertEquals(List.of(), s.fs.inspect().openTransactions());

            // 3) released, the worker scans the remaining leaves in transactions of its own on the RO
            //    filesystem (committing the last), then updates the status item in one more, ended only.
            //    Its final message comes after btrfs_end_transaction: wait for it, not just for !running.
            s.mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            Waits.within().until(() -> !s.fs.qgroupRescanRunning()
                && s.log.contains("qgroup scan completed (inconsistency flag cleared)"));
            assertFalse(s.log.contains("qgroup scan paused"));
            var open = s.fs.inspect().openTransactions();
            assertEquals(1, open.size(), open.toString());
            assertEquals(List.of("btrfs_qgroup_rescan_worker"), open.get(0).functions());

            // 4)-9) umount within the commit interval: RO, so close_ctree commits nothing
            if (transListAssert) {
                assertThrows(KernelBug.class, s.fs::umount);
                assertTrue(s.log.contains("assertion failed: list_empty(&fs_info->trans_list)"), s.log.dmesg());
            } else {
                if (crc == Crc32cImpl.GENERIC) {
                    assertThrows(KernelOops.class, s.fs::umount);
                    assertTrue(s.log.contains("BUG: KASAN: use-after-free in btrfs_queue_work"), s.log.dmesg());
                } else {
                    s.fs.umount();
                    assertFalse(s.log.contains("KASAN"), s.log.dmesg());
                }
                assertTrue(s.log.contains("at fs/btrfs/block-group.c:125 btrfs_put_block_group"), s.log.dmesg());
                assertTrue(s.log.contains("at fs/btrfs/block-rsv.c:459 btrfs_release_global_block_rsv"), s.log.dmesg());
                assertTrue(s.log.contains("at fs/btrfs/block-group.c:3377"), s.log.dmesg());
            }
            assertFalse(s.fs.isMounted());

            // rmmod: the leaked transaction's delayed refs are still allocated
            UnloadReport r = s.mod.unload();
            assertTrue(r.remaining("btrfs_delayed_ref_head") > 0, r.toString());
        }
    }

    // ---- beyond the patch: a rescan resumed by remount -------------------------------------------

    /**
     * Patch 1/5 is defeated by a rescan that an RO→RW remount resumed, on v5.11 as released (every seed
     * patch 1–5 applied): btrfs_qgroup_rescan_resume does not re-arm qgroup_rescan_completion, which the
     * worker's earlier pause completed (complete_all: done for good), so the next RO remount's
     * btrfs_qgroup_wait_for_completion returns at once.
     * <ol>
     *   <li>a rescan runs; an RO remount pauses it, waiting properly (the mount's qgroup_rescan_init armed
     *       the completion) — "qgroup scan paused";</li>
     *   <li>an RO→RW remount resumes it (btrfs_start_pre_rw_mount → btrfs_qgroup_rescan_resume); the
     *       worker is parked before its first check;</li>
     *   <li>an RO remount sets REMOUNTING, "waits" (the spent completion), commits with btrfs_commit_super,
     *       clears REMOUNTING and returns, with the worker still running;</li>
     *   <li>the worker checks rescan_should_stop(): neither closing nor remounting — it scans the remaining
     *       leaves in transactions of its own on the read-only filesystem and leaves its status update in a
     *       transaction it only ends;</li>
     *   <li>umount: patch 4/5's assertion catches the leaked transaction — the symptom patch 1/5 removed.</li>
     * </ol>
     * Kept bug-for-bug (kernel behaviour, not a port bug); the stress runner's FullWorkload waited for a
     * resumed rescan to avoid exactly this.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aRescanResumedByRemountIsNotWaitedForByTheNextRoRemountAndLeaksItsTransaction(Crc32cImpl crc) {
        try (Scenario s = new Scenario(KernelConfig.v5_11().crc32c(crc))) {
            s.rescanParkedBetweenLeaves();
            // 1) paused by an RO remount that waits for it
            TestThread<Void> ro = TestThread.run("remount-ro", () -> s.fs.remount("ro"));
            Waits.within().until(() -> s.qgroups().rescanWaiters() == 1);
            s.mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            ro.join();
            Waits.within().until(() -> s.log.contains("qgroup scan paused"));
            assertEquals(List.of(), s.fs.inspect().openTransactions());

            // 2) resumed by an RO->RW remount, parked before its first check
            s.mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            s.fs.remount("rw");
            awaitParked(s.mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
            assertFalse(s.fs.inspect().state().contains(FsState.REMOUNTING));

            // 3) the next RO remount does not wait: it commits and returns with the worker running
            s.fs.remount("ro");
            assertTrue(s.fs.isReadOnly());
            assertTrue(s.fs.qgroupRescanRunning());
            assertEquals(0, s.qgroups().rescanWaiters());
            assertEquals(List.of(), s.fs.inspect().openTransactions());

            // 4) the worker goes on, on the read-only filesystem
            s.mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            Waits.within().until(() -> !s.fs.qgroupRescanRunning()
                && s.log.contains("qgroup scan completed (inconsistency flag cleared)"));
            var open = s.fs.inspect().openTransactions();
            assertEquals(1, open.size(), open.toString());
            assertEquals(List.of("btrfs_qgroup_rescan_worker"), open.get(0).functions());

            // 5) umount: the leak, caught by patch 4/5
            assertThrows(KernelBug.class, s.fs::umount);
            assertTrue(s.log.contains("assertion failed: list_empty(&fs_info->trans_list)"), s.log.dmesg());
        }
    }

    // ---- determinism -----------------------------------------------------------------------------

    /**
     * The pair, 100 times, alternating the crc32c driver and whether patch 4/5's assertion is there to
     * catch the leak: the same outcome every time (no sleeps decide anything).
     */
    @Test
    @Timeout(120)
    void thePairIsDeterministic() {
        long t0 = System.nanoTime();
        int n = 100;
        for (int i = 0; i < n; i++) {
            Crc32cImpl crc = i % 2 == 0 ? Crc32cImpl.GENERIC : Crc32cImpl.ACCELERATED;
            runApplied(crc);
            runReverted(crc, (i / 2) % 2 == 0);
        }
        System.out.printf("patch 1/5 reproducer pair x%d: %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
    }
}
