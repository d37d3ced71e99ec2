package org.jbtrfs.fs;

import static org.jbtrfs.fs.QgroupFixtures.enableWithTheWorkerBetweenLeaves;
import static org.jbtrfs.fs.QgroupFixtures.imageDevice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.TransState;
import org.jbtrfs.transaction.Transaction;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK} — upstream later, e804861bd4e6 "btrfs: fix deadlock
 * between quota disable and qgroup rescan worker" (v5.17), not one of the seed's patches. v5.11's
 * btrfs_quota_disable (fs/btrfs/qgroup.c) waits for the rescan worker while it holds a TRANS_START
 * handle; with a commit in between, as numbered steps:
 * <ol>
 *   <li>the rescan worker is between two leaves of the extent tree, holding no handle (parked by
 *       {@link Hook#QGROUP_RESCAN_BEFORE_LEAF} before its next rescan_should_stop());</li>
 *   <li>quota disable starts a transaction (an external writer of the running transaction T), takes
 *       qgroup_ioctl_lock, clears QUOTA_ENABLED and waits for qgroup_rescan_completion;</li>
 *   <li>the transaction kthread finds T older than commit_interval and commits it: COMMIT_START, then
 *       it waits for T's external writers — quota disable's handle;</li>
 *   <li>the worker goes on: btrfs_start_transaction(fs_root, 0) finds T in COMMIT_START, which blocks
 *       TRANS_START, and waits in wait_current_trans for T to complete;</li>
 *   <li>nobody moves: quota disable waits for the worker, the worker for the commit, the commit for quota
 *       disable's handle. (Kawasaki's report, fstests btrfs/255: the same cycle with a balance as the
 *       committer.)</li>
 * </ol>
 * Each of the three is shown blocked where the steps say, by its stack and by the counts it waits on
 * (completion waiters, T's state and external writers), then the module is "rebooted" with a kernel
 * panic and unloaded. With the fix, quota disable waits before it starts its transaction: the commit
 * has no writer to wait for, the worker's next leaf fails with -EINTR, and everything completes.
 */
class QuotaDisableRescanDeadlockTest {

    static Stream<Arguments> cases() {
        return Stream.of(Crc32cImpl.values()).flatMap(c -> Stream.of(Arguments.of(c, false), Arguments.of(c, true)));
    }

    @ParameterizedTest(name = "crc32c {0}, fix applied {1}")
    @MethodSource("cases")
    void quotaDisableWaitingForTheWorkerWithAHandleDeadlocksWithACommitUnlessFixed(Crc32cImpl crc, boolean fixed) {
        ManualClock clock = new ManualClock();
        KernelConfig cfg = KernelConfig.defaults().crc32c(crc).clock(clock);
        try (BtrfsModule mod = BtrfsModule.load(fixed ? cfg : cfg.revert(FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK))) {
            Btrfs fs = mod.mount(imageDevice(mod), "");
            FsInfo fi = fs.fsInfo();

            // 1) the worker between two leaves, no handle
            enableWithTheWorkerBetweenLeaves(mod, fs);
            Thread worker = threadIn(mod, "QgroupRescan", "worker");
            Transaction t = fi.runningTransaction(); // started by the worker's first leaf, ended, not committed
            assertNotNull(t);

            // 2) quota disable: QUOTA_ENABLED cleared, waiting for the worker
            TestThread<Void> disable = TestThread.run("quota-disable", fs::quotaDisable);
            Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1
                && "wait_for_completion(qgroup_rescan_completion)".equals(sleepingOn(mod, "quota-disable")));
            assertFalse(fi.flags.test(FsFlag.QUOTA_ENABLED));
            assertTrue(Blocked.onStack(disable.thread(), "Qgroups", "quotaDisable") && Blocked.onStack(disable.thread(), "Completion", "await"));
            assertEquals(fixed ? 0 : 1, extwriters(fi, t), "quota disable's TRANS_START handle, held while it waits");
            assertEquals(fixed ? List.of() : List.of("btrfs_quota_disable [START] in quota-disable"), handlesOf(t, "btrfs_quota_disable"));

            // 3) the transaction kthread commits T, older than commit_interval now
            clock.advance(FsInfo.DEFAULT_COMMIT_INTERVAL + 1, TimeUnit.SECONDS);
            Thread kthread = fi.transactionKthread().thread();
            if (fixed) {
                Waits.within().until(() -> fi.lastTransCommitted() >= t.transid); // no writer to wait for
            } else {
                Waits.within().until(() -> t.state() == TransState.COMMIT_START
                    && "commit: wait for external writers".equals(sleepingOn(mod, kthread.getName())));
                assertEquals(1, extwriters(fi, t), "the commit waits in COMMIT_START for quota disable's handle");
            }

            // 4) the worker goes on to its next leaf
            mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            if (fixed) {
                disable.join();
                Waits.within().until(() -> mod.log().contains("qgroup scan failed with -4"));
                assertNull(fi.quotaRoot());
                assertFalse(fs.qgroupRescanRunning());
                fs.umount();
                UnloadReport r = mod.unload();
                assertTrue(r.clean(), r.toString());
                assertFalse(mod.log().tainted(), mod.log().dmesg());
                return;
            }
            Waits.within().until(() -> "wait_current_trans".equals(sleepingOn(mod, worker.getName())));

            // 5) the cycle: each waits for the next, nothing else can release any of them
            assertEquals(1, fs.ctx().qgroups.rescanWaiters(), "quota disable waits for the worker's complete_all");
            assertTrue(Blocked.onStack(disable.thread(), "QgroupRescan", "waitForCompletion"));
            assertTrue(fs.ctx().qgroups.rescanRunning());
            assertTrue(Blocked.onStack(worker, "QgroupRescan", "worker") && Blocked.onStack(worker, "Transactions", "startTransaction"),
                "the worker waits in wait_current_trans (btrfs_start_transaction) for T");
            assertEquals(TransState.COMMIT_START, t.state(), "T blocks TRANS_START until it completes");
            assertEquals(1, extwriters(fi, t), "T's commit waits for the one external writer, quota disable");
            assertFalse(disable.done());
            assertTrue(fs.ctx().qgroups.ioctlLockHeld(), "quota disable also holds qgroup_ioctl_lock");
            // the deadlock oracle proves it: a completion, wait_current_trans and a commit's wait for its extwriters
            Deadlock d = Waits.within().until(mod::deadlock, java.util.Optional::isPresent).orElseThrow();
            assertEquals(Stream.of(disable.thread(), worker, kthread).map(Thread::getName).sorted().toList(), d.tasks(),
                d.description());
            assertTrue(d.description().contains("quota-disable: wait_for_completion(qgroup_rescan_completion) -> "
                + worker.getName()), d.description());

            // a hung machine is rebooted: every uninterruptible wait of the module ends with KernelPanic
            mod.kernel().panic("hung task: btrfs blocked for more than 120 seconds (quota disable, "
                + "qgroup rescan worker, btrfs-transaction)");
            Waits.within().until(disable::done);
            assertInstanceOf(KernelPanic.class, disable.failure());
            Waits.within().until(() -> !worker.isAlive() || !Blocked.onStack(worker, "QgroupRescan", "worker"));
            assertEquals(1, mod.log().count(LogEntry.Kind.PANIC));
            assertThrows(KernelPanic.class, fs::umount);
            UnloadReport r = mod.unload();
            assertEquals(List.of(), r.threadsAlive(), "no thread of the module survives the panic and the unload");
        }
    }

    /** What {@code thread} of the module sleeps on now, as its Sched names it. */
    private static String sleepingOn(BtrfsModule mod, String thread) { return mod.kernel().sched().blocked().get(thread); }

    /** T's num_extwriters, read under trans_lock. */
    private static int extwriters(FsInfo fi, Transaction t) {
        synchronized (fi.transLock) {
            return t.numExtwriters();
        }
    }

    private static List<String> handlesOf(Transaction t, String function) {
        return t.handles().stream().filter(h -> h.function().equals(function)).map(Object::toString).toList();
    }

    /** The module's thread running {@code cls.method} now. */
    private static Thread threadIn(BtrfsModule mod, String cls, String method) {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(th -> th.getName().startsWith(mod.kernel().name() + "-") && Blocked.onStack(th, cls, method))
            .findFirst().orElseThrow(() -> new AssertionError("no thread in " + cls + "." + method));
    }
}
