package org.jbtrfs.fs;

import static org.jbtrfs.fs.QgroupFixtures.enableWithTheWorkerBetweenLeaves;
import static org.jbtrfs.fs.QgroupFixtures.imageDevice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.kernel.WaitGraph;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FixSwitch#QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK} both ways — a kernel bug, kept: v5.17-rc3's quota disable
 * (e804861bd4e6, {@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK} applied) waits for the rescan worker before its
 * transaction, but holding qgroup_ioctl_lock. Found by the explorer (stop 47, seed 47002, every fix applied: the second
 * quota lane's new `qgroup create` beside `quota disable`, a commit and the worker: {@code hang:unlink in
 * Sched.waitUntil <- Transactions.joinTransaction@file}, "the evidence points at quota-disable-rescan-deadlock, which is
 * applied"). Decision: the kernel's — read btrfs_quota_disable after e804861bd4e6, btrfs_create_qgroup,
 * btrfs_ioctl_qgroup_create, btrfs_qgroup_rescan_worker and btrfs_commit_transaction; upstream fixed it four release
 * candidates later (d4aef1e122d8, v5.17-rc7, whose report is this cycle with a qgroup remove), so it shipped in stable
 * kernels between the two backports. As numbered steps:
 * <ol>
 *   <li>the rescan worker is between two leaves ({@link Hook#QGROUP_RESCAN_BEFORE_LEAF}), no handle;</li>
 *   <li>quota disable takes qgroup_ioctl_lock, clears QUOTA_ENABLED and waits for the worker;</li>
 *   <li>`btrfs qgroup create 0/300` joins the running transaction and waits for qgroup_ioctl_lock;</li>
 *   <li>a sync commits: COMMIT_DOING, it waits for the create's handle;</li>
 *   <li>the worker's next btrfs_start_transaction waits for that commit (wait_current_trans): nobody moves.</li>
 * </ol>
 * Fixed, the disable waits without the mutex: the create takes it at step 3, creates its qgroup and ends its handle.
 * The same with `btrfs qgroup destroy` of an existing qgroup at step 3 (btrfs_remove_qgroup: the same ioctl, the same
 * joined handle, the same mutex) — d4aef1e122d8's own report.
 */
class QuotaDisableQgroupIoctlDeadlockTest {

    @ParameterizedTest(name = "quota-disable-qgroup-ioctl-deadlock fix applied {0}, qgroup {1}")
    @CsvSource({"false, create", "true, create", "false, destroy", "true, destroy"})
    void quotaDisableWaitingForTheWorkerUnderTheMutexDeadlocksWithAQgroupIoctlAndACommitUnlessFixed(boolean fixed,
                                                                                                   String op) {
        boolean create = "create".equals(op);
        KernelConfig cfg = KernelConfig.defaults();
        try (BtrfsModule mod = BtrfsModule.load(fixed ? cfg : cfg.revert(FixSwitch.QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK))) {
            Btrfs fs = mod.mount(imageDevice(mod), "");
            FsInfo fi = fs.fsInfo();
            // 1) the worker between two leaves (with it parked there, 0/300 created for a destroy to remove)
            enableWithTheWorkerBetweenLeaves(mod, fs);
            if (!create) {
                fs.qgroupCreate(300);
            }
            // 2) quota disable waits for it
            TestThread<Void> disable = TestThread.run("quota-disable", fs::quotaDisable);
            Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1);
            assertEquals(!fixed, fs.ctx().qgroups.ioctlLockHeld(), "qgroup_ioctl_lock held across the wait");
            // 3) a qgroup create (or destroy) joins the transaction, then wants the mutex
            TestThread<Void> ioctl = TestThread.run("qgroup-" + op, () -> {
                if (create) {
                    fs.qgroupCreate(300);
                } else {
                    fs.qgroupDestroy(300);
                }
            });
            if (fixed) {
                ioctl.join(); // the mutex was free: 0/300 created (or removed), the handle ended
                assertEquals(create, fs.qgroupUsage().stream().anyMatch(u -> u.qgroupid() == 300), fs.qgroupUsage().toString());
            } else {
                ioctl.awaitBlockedIn("QgroupFsInfo", "mutexLock");
            }
            // 4) a sync commits the running transaction
            TestThread<Void> sync = TestThread.run("sync", fs::sync);
            if (!fixed) {
                Waits.within().until(() -> "commit: wait for writers".equals(mod.kernel().sched().blocked().get("sync")));
            }
            if (!fixed) {
                // the wait-for graph has no deadlock yet: the worker parked at a hook is a sleep anyone may end
                assertTrue(WaitGraph.find(mod.kernel().sched(), 0).isEmpty());
            }
            // 5) the worker goes on
            mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            if (fixed) {
                sync.join();
                disable.join();
                assertNull(fi.quotaRoot());
                fs.umount();
                UnloadReport r = mod.unload();
                assertTrue(r.clean(), r.toString());
                return;
            }
            Thread worker = Thread.getAllStackTraces().keySet().stream()
                .filter(th -> th.getName().startsWith(mod.kernel().name() + "-") && Blocked.onStack(th, "QgroupRescan", "worker"))
                .findFirst().orElseThrow();
            Waits.within().until(() -> "wait_current_trans".equals(mod.kernel().sched().blocked().get(worker.getName())));
            ioctl.awaitBlockedIn("QgroupFsInfo", "mutexLock");
            sync.assertRunning();
            disable.assertRunning();
            assertEquals(1, fs.ctx().qgroups.rescanWaiters());
            // the deadlock oracle names all four: disable -> worker (the completion), worker -> sync (wait_current_trans:
            // its committer, or the ioctl's handle), sync -> ioctl (its handle), ioctl -> disable (qgroup_ioctl_lock)
            // (BtrfsModule.deadlock(): a proof a reproducer can wait for, the stress runner's watchdog's own)
            Deadlock d = Waits.within().until(mod::deadlock, java.util.Optional::isPresent).orElseThrow();
            assertEquals(java.util.stream.Stream.of(disable.thread(), ioctl.thread(), sync.thread(), worker)
                .map(Thread::getName).sorted().toList(), d.tasks(), d.description());
            assertTrue(d.description().contains("quota-disable: wait_for_completion(qgroup_rescan_completion) -> "
                + worker.getName()), d.description());
            assertTrue(d.description().contains("qgroup-" + op + ": mutex_lock(qgroup_ioctl_lock) -> quota-disable"),
                d.description());
            mod.kernel().panic("hung task: quota-disable, qgroup-" + op + ", sync and the rescan worker blocked");
            assertInstanceOf(KernelPanic.class, disable.failure());
            // the ioctl's mutex_lock is no sleep a panic ends: it gets the mutex the unwound disable gave back, ends its
            // handle, and the sync's commit goes on — what the port's panic leaves, not the kernel's
            Waits.within().until(() -> ioctl.done() && sync.done());
        }
    }
}
