package org.jbtrfs.qgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.QgroupHooks;
import org.jbtrfs.transaction.TestFs;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transaction;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * qgroup.c's ordering and locking at the qgroup module's own level, on a transaction-layer fs_info
 * ({@link TestFs}) without the fs module: when quota enable publishes the quota root, what quota disable
 * holds while it waits for the worker (both orders of {@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK}),
 * which locks the commit-time accounting needs, what the rescan resume tests. Behaviour through the
 * public API (numbers, messages, remounts) is in the fs module's QgroupTest and QgroupRescanRoRemountTest.
 */
class QgroupsTest {
    /** Data extents owned by the top subvolume: several extent-tree leaves for the worker to walk. */
    private static final int EXTENTS = 1500;

    /** A formatted, opened fs_info with the qgroup config read (no quota tree yet) and EXTENTS data extents committed. */
    private static final class Fixture implements AutoCloseable {
        final TestFs t;
        final FsInfo fs;
        final Qgroups qg;

        Fixture(TestFs t) {
            this.t = t;
            this.fs = t.open();
            this.qg = new Qgroups(fs);
            qg.readConfig();
            TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test");
            for (int i = 0; i < EXTENTS; i++) {
                Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 4096);
            }
            Transactions.commit(h);
        }

        Hooks hooks() { return t.kernel.hooks(); }

        /** close_ctree's qgroup part, then commit_super and the transaction-layer teardown. */
        @Override
        public void close() {
            fs.flags.set(FsFlag.CLOSING_START);
            qg.waitForCompletion(false);
            t.closeClean(fs);
            qg.freeConfig();
            t.close();
        }
    }

    /** Parks the n-th arrival at {@code hook}: the first n-1 re-arm it. */
    private static void parkAtArrival(Hooks hooks, Hook hook, int n) {
        hooks.arm(hook, n == 1 ? HookAction.park() : HookAction.run(() -> parkAtArrival(hooks, hook, n - 1)));
    }

    // ---- quota enable --------------------------------------------------------------------------------

    /**
     * qgroup_rescan_init() re-initialises fs_info->qgroup_rescan_work (btrfs_init_work): one work item for every
     * rescan of the mount, so a queueing while it is still pending adds no run (queue_work on a pending work). A port
     * bug, fixed: each init made a new work, and a rescan ioctl and a quota enable that both passed
     * qgroup_rescan_init (quota enable assigns qgroup_flags, clearing the RESCAN bit of the ioctl's rescan) ran the
     * worker twice; the first run's end cleared qgroup_rescan_running and completed the completion while the
     * second ran, unwaited — the trans_list assertion at umount and the NULL quota root oops the explorer found
     * with a second quota process (seed 15015).
     */
    @Test
    void everyRescanOfAMountUsesTheOneWorkItem() {
        try (Fixture f = new Fixture(new TestFs())) {
            f.qg.quotaEnable();
            org.jbtrfs.workqueue.BtrfsWork first = f.qg.rescanWork();
            f.qg.waitForCompletion(false);
            assertTrue(f.qg.awaitRescanIdle(java.util.concurrent.TimeUnit.SECONDS.toNanos(10)));
            f.qg.rescan();
            org.junit.jupiter.api.Assertions.assertSame(first, f.qg.rescanWork());
            f.qg.waitForCompletion(false);
            assertTrue(f.qg.awaitRescanIdle(java.util.concurrent.TimeUnit.SECONDS.toNanos(10)));
        }
    }

    /**
     * A hang report names the state a wait for the rescan depends on (the explorer's open class of a quota rescan
     * wait no worker ends had none of it: docs/explorer.md): flags, qgroup_rescan_running, the completion, the work.
     */
    @Test
    void theDebugStateNamesWhatARescanWaitDependsOn() {
        try (Fixture f = new Fixture(new TestFs())) {
            QgroupHooks plain = new QgroupHooks() {
                @Override public void accountExtent(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) { }

                @Override public boolean runQgroups(TransHandle h) { return false; }
            };
            assertEquals("", plain.debugState(), "the default: nothing to say");
            f.qg.quotaEnable();
            f.qg.waitForCompletion(false);
            assertTrue(f.qg.awaitRescanIdle(java.util.concurrent.TimeUnit.SECONDS.toNanos(10)));
            String s = f.qg.debugState();
            assertTrue(s.contains("qgroup_rescan_running false") && s.contains("completion done true (waiters 0)")
                && s.contains("work not queued") && s.contains("runs not returned 0") && s.contains("quota_root set"), s);
        }
    }

    /**
     * v5.11's btrfs_quota_enable sets quota_root and QUOTA_ENABLED only after its commit ("to avoid
     * deadlocks on fs_info->qgroup_ioctl_lock with concurrent snapshot creation"): the commit's own
     * btrfs_run_qgroups sees neither, and writes no status item (it returns at once without quota_root);
     * the status item on disk is the one the enable inserted, ON | INCONSISTENT.
     */
    @Test
    void quotaEnablePublishesTheQuotaRootAndQuotaEnabledOnlyAfterItsCommit() {
        try (Fixture f = new Fixture(new TestFs())) {
            QgroupHooks real = f.fs.qgroupHooks();
            List<String> seenByCommit = new ArrayList<>();
            f.fs.installQgroupHooks(new QgroupHooks() {
                @Override
                public void accountExtent(long bytenr, long numBytes, List<Long> oldRoots, List<Long> newRoots) {
                    real.accountExtent(bytenr, numBytes, oldRoots, newRoots);
                }

                @Override
                public boolean runQgroups(TransHandle h) {
                    seenByCommit.add("quota_root " + (f.fs.quotaRoot() != null) + ", QUOTA_ENABLED "
                        + f.fs.flags.test(FsFlag.QUOTA_ENABLED));
                    return real.runQgroups(h);
                }
            });
            parkAtArrival(f.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 1);
            long before = f.t.onDiskGeneration();
            f.qg.quotaEnable();
            assertFalse(seenByCommit.isEmpty(), "the enable's commit ran btrfs_run_qgroups");
            assertEquals(List.of("quota_root false, QUOTA_ENABLED false"), seenByCommit.stream().distinct().toList());
            assertTrue(f.t.onDiskGeneration() > before, "committed");
            assertNotNull(f.fs.quotaRoot());
            assertTrue(f.fs.flags.test(FsFlag.QUOTA_ENABLED));
            QgroupStatusItem st = QgroupStatusItem.decode(Trees.lookup(f.fs, f.fs.quotaRoot(), QgroupItems.statusKey()));
            assertEquals(QgroupStatusItem.FLAG_ON | QgroupStatusItem.FLAG_INCONSISTENT, st.flags());
            Waits.within().until(() -> f.hooks().isParked(Hook.QGROUP_RESCAN_BEFORE_LEAF));
            assertTrue(f.qg.rescanRunning(), "then qgroup_rescan_init and the worker");
            f.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            f.fs.installQgroupHooks(real);
            f.qg.waitForCompletion(false);
            assertEquals(List.of(new Qgroup.Usage(5, EXTENTS * 4096L + 16384, EXTENTS * 4096L + 16384)), f.qg.usage(),
                "the worker counted every data extent and the subvolume's root leaf");
        }
    }

    // ---- quota disable ---------------------------------------------------------------------------------

    /**
     * What btrfs_quota_disable holds while it waits for the rescan worker. v5.11
     * ({@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK} reverted): its TRANS_START handle on the running
     * transaction — one external writer any commit must wait for — and qgroup_ioctl_lock. With the fix
     * (e804861bd4e6): qgroup_ioctl_lock only, no handle — and since d4aef1e122d8
     * ({@link FixSwitch#QUOTA_DISABLE_QGROUP_IOCTL_DEADLOCK}) not even that. Released, the worker's next leaf finds
     * QUOTA_ENABLED clear and fails with -EINTR; the disable then removes the quota tree in a
     * transaction it ends, not commits.
     */
    @ParameterizedTest(name = "fix applied {0}")
    @ValueSource(booleans = {false, true})
    void quotaDisableHoldsItsHandleWhileWaitingForTheWorkerUnlessFixed(boolean fixed) {
        TestFs t = fixed ? new TestFs() : new TestFs(Crc32cImpl.ACCELERATED, FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK);
        try (Fixture f = new Fixture(t)) {
            parkAtArrival(f.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
            f.qg.quotaEnable();
            Waits.within().until(() -> f.hooks().isParked(Hook.QGROUP_RESCAN_BEFORE_LEAF));
            long committed = f.t.onDiskGeneration();

            TestThread<Void> disable = TestThread.run("quota-disable", f.qg::quotaDisable);
            Waits.within().until(() -> f.qg.rescanWaiters() == 1);
            assertFalse(f.fs.flags.test(FsFlag.QUOTA_ENABLED), "cleared before the wait");
            // held across the wait in 5.11's order, and in e804861bd4e6's until d4aef1e122d8 (applied here) dropped it
            assertEquals(!fixed, f.qg.ioctlLockHeld(), "qgroup_ioctl_lock across the wait");
            Transaction running = f.fs.runningTransaction();
            List<String> disableHandles = running == null ? List.of() : running.handles().stream()
                .filter(r -> r.function().equals("btrfs_quota_disable")).map(Object::toString).toList();
            int extwriters;
            synchronized (f.fs.transLock) {
                extwriters = running == null ? 0 : running.numExtwriters();
            }
            if (fixed) {
                assertEquals(List.of(), disableHandles, "no transaction before the wait");
                assertEquals(0, extwriters);
            } else {
                assertEquals(List.of("btrfs_quota_disable [START] in quota-disable"), disableHandles);
                assertEquals(1, extwriters, "the only external writer is quota disable's own handle");
            }

            f.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            disable.join();
            Waits.within().until(() -> f.t.kernel.log().contains("qgroup scan failed with -4"));
            assertNull(f.fs.quotaRoot());
            assertEquals(0, f.qg.statusFlags() & QgroupStatusItem.FLAG_ON);
            // ended, not committed: the deletion waits for the next commit
            assertEquals(committed, f.t.onDiskGeneration());
            assertTrue(f.fs.transList().stream().anyMatch(tr -> tr.handles().stream()
                .anyMatch(r -> r.function().equals("btrfs_quota_disable"))));
            assertNull(Trees.lookup(f.fs, f.fs.treeRoot(), new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0)),
                "the quota root item is gone from the live tree root");
        }
    }

    /**
     * The explorer's "sync hung in BtreeInode.waitWriteback" (lanes: quota lane against sync lane). Quota
     * disable unpublishes quota_root and then deletes the tree's items through its own reference: the first
     * delete COWs the committed quota leaf. A sync's btree writeback (sync_inodes_sb, WB_SYNC_ALL) used to
     * find the lock of a block's tree through FsInfo.rootOf(owner), null for the unpublished quota tree, so
     * it locked nothing: it started the new block's writeback at its bytenr, __btrfs_cow_block then copied
     * the old leaf into it (the header says the old bytenr), and the bio was submitted and ended at the old
     * bytenr — the new block's writeback never ended and the next filemap_fdatawait hung; the old leaf's
     * location (the commit root's) was overwritten. v5.11's lock_extent_buffer_for_io takes the buffer's own
     * lock, held by the COWer from btrfs_init_new_buffer on, and write_one_eb / end_bio_extent_buffer_writepage
     * use eb->start: the writeback now takes the lock of the tree the block was dirtied under and keys the
     * block by the bytenr it was dirtied at. See the transaction module's CowWritebackRaceTest.
     */
    @Test
    void syncWritebackWaitsForQuotaDisablesCowOfTheUnpublishedQuotaTree() {
        Fixture f = new Fixture(new TestFs(Crc32cImpl.GENERIC));
        boolean passed = false;
        try {
            f.qg.quotaEnable();
            f.qg.waitForCompletion(false);
            Transactions.commit(Transactions.join(f.fs, f.fs.treeRoot(), "test_commit"));
            org.jbtrfs.transaction.Root quota = f.fs.quotaRoot();
            long oldLeaf = quota.node().bytenr();
            byte[] oldOnDisk = new byte[org.jbtrfs.core.disk.SuperBlock.NODESIZE];
            f.t.dev.read(oldLeaf, oldOnDisk, 0, oldOnDisk.length);
            assertEquals(0, f.fs.btreeInode.dirtyCount(), "committed: nothing dirty");
            Hooks hooks = f.hooks();

            hooks.parkAt(Hook.TREE_BLOCK_ALLOCATED);
            hooks.parkAt(Hook.BTREE_LOCKED_FOR_IO);
            TestThread<Void> disable = TestThread.run("quota-disable", f.qg::quotaDisable);
            hooks.awaitParked(Hook.TREE_BLOCK_ALLOCATED, Waits.BOUND);
            assertNull(f.fs.quotaRoot(), "quota_root unpublished before the tree is deleted");
            assertEquals(1, f.fs.btreeInode.dirtyCount(), "only the new, still empty copy of the quota leaf is dirty");

            TestThread<Void> sync = TestThread.run("sync_inodes_sb",
                () -> f.fs.btreeInode.writepages(org.jbtrfs.transaction.WbSyncMode.ALL));
            Waits.within().until(() -> hooks.isParked(Hook.BTREE_LOCKED_FOR_IO) || quota.treeLock.hasQueuedThread(sync.thread()));
            hooks.parkAt(Hook.COW_BLOCK_COPIED);
            hooks.disarm(Hook.TREE_BLOCK_ALLOCATED);
            hooks.awaitParked(Hook.COW_BLOCK_COPIED, Waits.BOUND);
            hooks.disarm(Hook.BTREE_LOCKED_FOR_IO);
            Waits.within().until(() -> sync.done() || quota.treeLock.hasQueuedThread(sync.thread()));
            hooks.disarm(Hook.COW_BLOCK_COPIED);
            disable.join();
            sync.join();

            try {
                Waits.within().until(() -> f.fs.btreeInode.writebackCount() == 0);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("a writeback never ended (old quota leaf " + oldLeaf + "): "
                    + f.fs.btreeInode.writebackState(), e);
            }
            f.fs.btreeInode.waitWriteback();
            byte[] now = new byte[oldOnDisk.length];
            f.t.dev.read(oldLeaf, now, 0, now.length);
            org.junit.jupiter.api.Assertions.assertArrayEquals(oldOnDisk, now,
                "the old quota leaf's location (the commit root's) was not written");
            Transactions.commit(Transactions.join(f.fs, f.fs.treeRoot(), "test_commit"));
            passed = true;
        } finally {
            if (passed) {
                f.close();
            } else {
                f.t.close(); // no close_ctree: its commit would wait for the writeback that never ends
            }
        }
    }

    /**
     * A transaction start that fails in quota disable: v5.11 had cleared nothing yet; with the fix the
     * disable has already cleared QUOTA_ENABLED (and waited) and sets it again. Either way quotas stay on.
     */
    @ParameterizedTest(name = "fix applied {0}")
    @ValueSource(booleans = {false, true})
    void aFailedTransactionStartLeavesQuotasOn(boolean fixed) {
        TestFs t = fixed ? new TestFs() : new TestFs(Crc32cImpl.ACCELERATED, FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK);
        try (Fixture f = new Fixture(t)) {
            f.qg.quotaEnable();
            f.qg.waitForCompletion(false);
            t.kernel.faults().armOnce(Fault.START_TRANSACTION_ENOSPC);
            BtrfsException e = assertThrows(BtrfsException.class, f.qg::quotaDisable);
            assertEquals(Errno.ENOSPC, e.errno());
            assertTrue(f.fs.flags.test(FsFlag.QUOTA_ENABLED));
            assertNotNull(f.fs.quotaRoot());
            assertFalse(f.qg.ioctlLockHeld());
            f.qg.quotaDisable(); // and it works afterwards
            assertNull(f.fs.quotaRoot());
        }
    }

    // ---- commit-time accounting ---------------------------------------------------------------------

    /**
     * btrfs_run_qgroups takes only the qgroup_lock spinlock (and drops it to write each item): a commit
     * writes the dirty qgroups' info items while another task holds both qgroup mutexes. (Before the
     * split, one lock serialised the commit's accounting with everything else.)
     */
    @Test
    void runQgroupsNeedsNeitherQgroupMutex() throws Exception {
        try (Fixture f = new Fixture(new TestFs())) {
            f.qg.quotaEnable();
            f.qg.waitForCompletion(false);
            f.qg.rescanner().zeroTracking(); // every qgroup dirty, counters 0
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            TestThread<Void> holder = TestThread.run("holds-qgroup-mutexes", () -> {
                f.qg.state().ioctlLock.lock();
                f.qg.state().rescanLock.lock();
                held.countDown();
                try {
                    done.await();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                } finally {
                    f.qg.state().rescanLock.unlock();
                    f.qg.state().ioctlLock.unlock();
                }
            });
            assertTrue(held.await(10, TimeUnit.SECONDS));
            try {
                TransHandle h = Transactions.join(f.fs, f.fs.treeRoot(), "test");
                Transactions.commit(h);
                QgroupInfoItem info = QgroupInfoItem.decode(Trees.lookup(f.fs, f.fs.quotaRoot(), QgroupItems.infoKey(5)));
                assertEquals(0, info.rfer(), "the zeroed counters were written by this commit");
                assertEquals(h.transid(), info.generation());
            } finally {
                done.countDown();
                holder.join();
            }
        }
    }

    // ---- rescan resume ----------------------------------------------------------------------------

    /**
     * btrfs_qgroup_rescan_resume tests only the RESCAN status bit (the port used to test QUOTA_ENABLED
     * too). A status item with RESCAN but not ON — written by a commit while e804861bd4e6's quota disable waits
     * for the worker, and left on disk by a power cut (fs module: ExplorerFoundTest, {@link
     * FixSwitch#QGROUP_STATUS_RESCAN_WITHOUT_ON}) — makes btrfs_read_qgroup_config clear QUOTA_ENABLED and skip
     * qgroup_rescan_init, so the resume at the RW mount queues a work item nobody initialised: the kworker calls a
     * NULL function. With the proposed fix the RESCAN bit goes at mount and nothing is queued.
     */
    @ParameterizedTest(name = "proposed fix applied={0}")
    @ValueSource(booleans = {true, false})
    void resumeTestsOnlyTheRescanBitAndQueuesAWorkNobodyInitialised(boolean applied) {
        TestFs t = applied ? new TestFs() : new TestFs(Crc32cImpl.ACCELERATED, FixSwitch.QGROUP_STATUS_RESCAN_WITHOUT_ON);
        try {
            FsInfo fs = t.open();
            Qgroups qg = new Qgroups(fs);
            qg.readConfig();
            qg.quotaEnable();
            qg.waitForCompletion(false);
            // write RESCAN | INCONSISTENT without ON into the status item, committed
            TransHandle h = Transactions.start(fs, fs.quotaRoot(), 1, "test");
            Trees.update(h, fs.quotaRoot(), QgroupItems.statusKey(), new QgroupStatusItem(1, h.transid(),
                QgroupStatusItem.FLAG_RESCAN | QgroupStatusItem.FLAG_INCONSISTENT, 0).encode());
            fs.installQgroupHooks(null); // keep the next commits from rewriting it
            Transactions.commit(h);
            fs.flags.set(FsFlag.CLOSING_START);
            t.closeClean(fs);

            FsInfo again = t.open();
            again.setQuotaRoot(FsRoots.readRoot(again, ItemType.QUOTA_TREE_OBJECTID));
            Qgroups qg2 = new Qgroups(again);
            qg2.readConfig();
            assertFalse(again.flags.test(FsFlag.QUOTA_ENABLED), "not ON: quotas off");
            if (applied) {
                assertEquals(QgroupStatusItem.FLAG_INCONSISTENT, qg2.statusFlags() & ~QgroupStatusItem.FLAG_ON, "RESCAN dropped");
                qg2.rescanResume();
                assertFalse(t.kernel.log().contains("BUG: kernel NULL pointer dereference"), t.kernel.log().dmesg());
                assertFalse(qg2.rescanRunning(), "nothing queued");
                t.abandon(again);
                return;
            }
            assertEquals(QgroupStatusItem.FLAG_RESCAN | QgroupStatusItem.FLAG_INCONSISTENT,
                qg2.statusFlags() & ~QgroupStatusItem.FLAG_ON);
            qg2.rescanResume();
            assertTrue(t.kernel.log().contains("BUG: kernel NULL pointer dereference"), t.kernel.log().dmesg());
            assertTrue(qg2.rescanRunning(), "qgroup_rescan_running was set before the queueing");
            t.abandon(again);
        } finally {
            t.close();
        }
    }

    /**
     * There is one qgroup_rescan_work. Queued while it runs, it runs once more afterwards; queued again
     * while still pending, nothing happens (queue_work() on a work with WORK_STRUCT_PENDING set) — the
     * situation of an RO→RW remount resuming a rescan that an RO remount without patch 1/5 did not wait for.
     */
    @Test
    void theRescanWorkQueuedWhilePendingRunsOnce() {
        try (Fixture f = new Fixture(new TestFs())) {
            parkAtArrival(f.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 1);
            f.qg.quotaEnable();
            Waits.within().until(() -> f.hooks().isParked(Hook.QGROUP_RESCAN_BEFORE_LEAF));
            f.qg.rescanResume(); // RESCAN is set: queued behind the running one (max_active 1), pending
            f.qg.rescanResume(); // still pending: a no-op
            f.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            Waits.within().until(() -> f.t.kernel.log().matching(e -> e.message().contains("qgroup scan completed")).size() == 2);
            f.fs.flags.set(FsFlag.CLOSING_START);
            f.qg.waitForCompletion(false);
            assertEquals(2, f.t.kernel.log().matching(e -> e.message().contains("qgroup scan completed")).size(),
                "the running worker and the one pending queueing; the second queueing did nothing");
            assertEquals(0, f.qg.statusFlags() & QgroupStatusItem.FLAG_RESCAN);
        }
    }

    // ---- the spinlock ------------------------------------------------------------------------------

    @Test
    void nothingSleepsUnderTheQgroupSpinlock() {
        try (Fixture f = new Fixture(new TestFs())) {
            QgroupFsInfo q = f.qg.state();
            q.lock.lock();
            try {
                IllegalStateException recursion = assertThrows(IllegalStateException.class, q.lock::lock);
                assertTrue(recursion.getMessage().startsWith("BUG: spinlock recursion on qgroup_lock"));
                IllegalStateException mutex = assertThrows(IllegalStateException.class,
                    () -> q.mutexLock(q.rescanLock, "qgroup_rescan_lock"));
                assertTrue(mutex.getMessage().startsWith("BUG: sleeping function called from invalid context"));
                assertThrows(IllegalStateException.class, () -> f.qg.waitForCompletion(false));
            } finally {
                q.lock.unlock();
            }
            assertFalse(q.rescanLock.isLocked());
        }
    }
}
