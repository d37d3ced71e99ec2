package org.jbtrfs.fs;

import static org.jbtrfs.fs.QgroupFixtures.INCONSISTENT;
import static org.jbtrfs.fs.QgroupFixtures.NODESIZE;
import static org.jbtrfs.fs.QgroupFixtures.ON;
import static org.jbtrfs.fs.QgroupFixtures.RESCAN;
import static org.jbtrfs.fs.QgroupFixtures.assertUsageMatchesWalk;
import static org.jbtrfs.fs.QgroupFixtures.awaitParked;
import static org.jbtrfs.fs.QgroupFixtures.evictUnlinkedFiles;
import static org.jbtrfs.fs.QgroupFixtures.expectedUsage;
import static org.jbtrfs.fs.QgroupFixtures.imageDevice;
import static org.jbtrfs.fs.QgroupFixtures.parkAtArrival;
import static org.jbtrfs.fs.QgroupFixtures.referenced;
import static org.jbtrfs.fs.QgroupFixtures.statusItem;
import static org.jbtrfs.fs.QgroupFixtures.info;
import static org.jbtrfs.fs.QgroupFixtures.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.qgroup.Qgroup;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Quotas through the public API: enabling, reading the configuration at mount, the rescan ioctl's
 * errors, the numbers (checked against a walk of each subvolume's own tree, never against the extent
 * tree the rescan reads), live accounting before, during and after a rescan, and the worker's
 * messages. A manual clock keeps the transaction kthread from committing on its own, so every commit
 * is one the test asked for.
 */
class QgroupTest {
    private BtrfsModule mod;

    private Btrfs fresh() { return fresh(KernelConfig.defaults()); }

    private Btrfs fresh(KernelConfig cfg) {
        mod = BtrfsModule.load(cfg.clock(new ManualClock()));
        BlockDevice dev = mod.createDevice("sdc", QgroupFixtures.DEVICE_SIZE);
        mod.mkfs(dev);
        return mod.mount(dev, "");
    }

    /** The prepared image: 1500 files in the default subvolume (six extent-tree leaves) and "sv". */
    private Btrfs image(KernelConfig cfg) {
        mod = BtrfsModule.load(cfg.clock(new ManualClock()));
        return mod.mount(imageDevice(mod), "");
    }

    @AfterEach
    void unload() {
        if (mod != null) {
            mod.hooks().reset();
            mod.close();
        }
    }

    private KernelLog log() { return mod.log(); }

    private void awaitLog(String text) { Waits.within().until(() -> log().contains(text)); }

    private long completions() {
        return log().matching(e -> e.message().endsWith("qgroup scan completed (inconsistency flag cleared)")).size();
    }

    private void assertCleanUnload() {
        UnloadReport r = mod.unload();
        assertTrue(r.clean(), r.toString());
        assertFalse(log().tainted(), log().dmesg());
    }


    // ---- enable, config --------------------------------------------------------------------------

    @Test
    void quotaEnableCreatesTheQuotaTreeStatusAndAQgroupPerSubvolumeThenRescans() {
        Btrfs fs = fresh();
        long sv = fs.createSubvolume("sv");
        write(fs, "a", 3000);
        write(fs, "sv/b", 9000);
        assertFalse(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        assertNull(fs.fsInfo().quotaRoot());

        mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);

        FsInfo fi = fs.fsInfo();
        assertTrue(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        assertNotNull(fi.quotaRoot());
        assertNotNull(Trees.lookup(fi, fi.treeRoot(), new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0)),
            "root item of the quota tree");
        // committed by btrfs_quota_enable: ON and INCONSISTENT, progress 0
        QgroupStatusItem st = statusItem(fs);
        assertEquals(ON | INCONSISTENT, st.flags());
        assertEquals(0, st.rescan());
        // in memory the rescan it started is in progress
        assertEquals(ON | RESCAN | INCONSISTENT, fs.qgroupStatusFlags());
        assertTrue(fs.qgroupRescanRunning());
        assertEquals(List.of(5L, sv), fs.qgroupUsage().stream().map(QgroupUsage::qgroupid).toList());
        assertEquals(new QgroupInfoItem(st.generation(), 0, 0, 0, 0), QgroupInfoItem.decode(info(fs, 5)));
        assertNotNull(info(fs, sv));

        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaRescanWait();
        awaitLog("qgroup scan completed (inconsistency flag cleared)");
        assertEquals(ON, fs.qgroupStatusFlags(), "INCONSISTENT is cleared by the first completed rescan");
        fs.sync();
        assertEquals(ON, statusItem(fs).flags());
        assertEquals(fs.inspect().generation(), statusItem(fs).generation(), "written by every commit");
        assertUsageMatchesWalk(fs);
        Map<Long, Long> rfer = referenced(fs);
        assertEquals(rfer.get(5L), QgroupInfoItem.decode(info(fs, 5)).rfer(), "info item on disk");
        assertEquals(rfer.get(sv), QgroupInfoItem.decode(info(fs, sv)).excl());
        fs.umount();
        assertCleanUnload();
    }

    @Test
    void theConfigurationIsReadAtMount() {
        Btrfs fs = fresh();
        long sv = fs.createSubvolume("sv");
        write(fs, "sv/x", 12345);
        fs.quotaEnable();
        fs.quotaRescanWait();
        write(fs, "y", 777);
        fs.sync();
        var before = fs.qgroupUsage();
        BlockDevice dev = fs.device();
        fs.umount();

        Btrfs again = mod.mount(dev, "");
        assertEquals(before, again.qgroupUsage());
        assertEquals(ON, again.qgroupStatusFlags());
        assertTrue(again.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        assertFalse(again.qgroupRescanRunning());
        assertUsageMatchesWalk(again);
        again.umount();

        Btrfs ro = mod.mount(dev, "ro");
        assertEquals(before, ro.qgroupUsage());
        assertTrue(ro.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        ro.umount();
        assertFalse(log().contains("generation mismatch"), log().dmesg());
        assertTrue(before.stream().anyMatch(u -> u.qgroupid() == sv && u.referenced() > 0));
        assertCleanUnload();
    }

    @Test
    void quotaDisableRemovesTheQuotaTreeAndAMountStaysWithoutQuotas() {
        Btrfs fs = fresh();
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.quotaDisable();
        assertFalse(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        assertEquals(0, fs.qgroupStatusFlags());
        assertEquals(List.of(), fs.qgroupUsage());
        FsInfo fi = fs.fsInfo();
        assertNull(Trees.lookup(fi, fi.treeRoot(), new Key(ItemType.QUOTA_TREE_OBJECTID, ItemType.ROOT_ITEM, 0)));
        BlockDevice dev = fs.device();
        fs.umount();
        Btrfs again = mod.mount(dev, "");
        assertFalse(again.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        again.quotaEnable(); // and on again
        again.quotaRescanWait();
        assertEquals(ON, again.qgroupStatusFlags());
        again.umount();
        assertCleanUnload();
    }

    /**
     * 331cd9461412 (v6.1, CVE-2022-50379), {@link FixSwitch#QUOTA_ENABLE_RESCAN_EINPROGRESS}: a rescan ioctl between
     * quota enable's commit and its qgroup_rescan_init(). Read (5.11 btrfs_quota_enable, qgroup_rescan_init,
     * btrfs_qgroup_rescan; 6.1's btrfs_quota_enable): the enable sets ON in memory inside its transaction, commits,
     * publishes fs_info->quota_root and sets QUOTA_ENABLED, then inits the rescan; the ioctl's init needs only ON, so
     * it can win, and the enable's init fails with -EINPROGRESS. 5.11 returns the error through out_free_root:
     * btrfs_put_root(quota_root) on the root it published — quotas stay on over a freed root, and the next commit's
     * btrfs_run_qgroups searches it (KASAN: use-after-free). 6.1 ignores -EINPROGRESS.
     *
     * <p>1. Quotas off; quota enable held after its commit and publication, before its rescan init
     * ({@link Hook#QGROUP_ENABLE_BEFORE_RESCAN_INIT}); 2. the rescan ioctl passes its init and commits (held before it
     * queues its worker); 3. the enable's init: EINPROGRESS; 4. a sync commits. Reverted: the enable fails and the
     * sync's commit reports the use-after-free of the quota root; applied: the enable succeeds, the numbers are the
     * ioctl's rescan's, and the filesystem unmounts clean. Not crc32c-dependent.
     */
    @ParameterizedTest(name = "later-upstream fix applied={0}")
    @ValueSource(booleans = {true, false})
    void aRescanIoctlBetweenQuotaEnablesCommitAndItsRescanInit(boolean applied) {
        KernelConfig cfg = KernelConfig.defaults();
        Btrfs fs = fresh(applied ? cfg : cfg.revert(FixSwitch.QUOTA_ENABLE_RESCAN_EINPROGRESS));
        write(fs, "a", 8192);
        fs.sync();

        EnableAndRescan held = enableAndRescanIoctlHeld(fs);
        TestThread<Void> enable = held.enable();
        TestThread<Void> rescan = held.rescan();
        mod.hooks().release(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);

        if (applied) {
            enable.join();
            mod.hooks().release(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE);
            rescan.join();
            fs.quotaRescanWait();
            fs.awaitRescanIdle(Repro.WAIT);
            fs.sync();
            assertTrue(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
            assertFalse(log().contains("use-after-free"), log().dmesg());
            fs.umount();
            assertCleanUnload();
            return;
        }
        BtrfsException busy = assertThrows(BtrfsException.class, enable::join);
        assertEquals(Errno.EINPROGRESS, busy.errno());
        assertTrue(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED), "quotas stay enabled on the put root");
        write(fs, "b", 4096); // something for the next commit to write
        assertThrows(org.jbtrfs.core.KernelOops.class, fs::sync); // btrfs_run_qgroups searches the freed quota root
        assertTrue(log().contains("BUG: KASAN: use-after-free in btrfs_search_slot"), log().dmesg());
        mod.kernel().panic("test: the commit died on a freed quota root");
        mod.hooks().release(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE);
        Waits.within(Repro.WAIT).until(rescan::done); // the ioctl ends (its queueing refused by the panicked module)
    }

    /**
     * The same put quota root, met by the rescan ioctl's worker instead of a commit: qgroup_rescan_leaf resolves every
     * extent item's roots with btrfs_find_all_roots, and the quota tree's own blocks name the quota tree, whose
     * btrfs_get_fs_root_commit_root grabs fs_info->quota_root — the struct the enable freed (KASAN, and the kworker
     * dies). Decision: kernel behaviour, kept — backref.c's resolve_indirect_ref and disk-io.c's btrfs_get_global_root
     * (v5.11) grab whatever quota_root points at; the fix is the same later-upstream one (331cd9461412). Steps 1–3 as
     * above, reverted; 4. the ioctl queues its worker.
     */
    @Test
    void theRescanWorkersBackrefWalkMeetsTheQuotaRootTheEnablePut() {
        Btrfs fs = fresh(KernelConfig.defaults().revert(FixSwitch.QUOTA_ENABLE_RESCAN_EINPROGRESS));
        write(fs, "a", 8192);
        fs.sync();
        EnableAndRescan held = enableAndRescanIoctlHeld(fs);
        TestThread<Void> rescan = held.rescan();
        mod.hooks().release(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);
        assertEquals(Errno.EINPROGRESS, assertThrows(BtrfsException.class, held.enable()::join).errno());

        mod.hooks().release(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE);
        rescan.join();
        Waits.within(Repro.WAIT).until(() -> log().contains("BUG: KASAN: use-after-free in btrfs_get_fs_root_commit_root"));
        assertTrue(log().contains("(struct btrfs_root of tree 8)"), log().dmesg());
        mod.kernel().panic("test: the rescan worker died on a freed quota root");
    }

    /** A quota enable and a rescan ioctl, each held at a hook. */
    private record EnableAndRescan(TestThread<Void> enable, TestThread<Void> rescan) { }

    /**
     * Steps 1–2 of the two tests above: quota enable held after its commit and publication (quota_root published, ON
     * set), before its rescan init; then the rescan ioctl, whose init passes first (RESCAN), held before it queues its
     * worker.
     */
    private EnableAndRescan enableAndRescanIoctlHeld(Btrfs fs) {
        mod.hooks().parkAt(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);
        TestThread<Void> enable = TestThread.run("quota-enable", fs::quotaEnable);
        mod.hooks().awaitParked(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT, Repro.WAIT);
        mod.hooks().parkAt(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE);
        TestThread<Void> rescan = TestThread.run("quota-rescan", fs::quotaRescan);
        mod.hooks().awaitParked(Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE, Repro.WAIT);
        return new EnableAndRescan(enable, rescan);
    }

    // ---- btrfs_qgroup_rescan errors --------------------------------------------------------------

    @Test
    void rescanInitRefusesWhenQuotasAreOffOrARescanIsInProgress() {
        Btrfs fs = fresh();
        BtrfsException off = assertThrows(BtrfsException.class, fs::quotaRescan);
        assertEquals(Errno.EINVAL, off.errno());
        assertTrue(log().contains("qgroup rescan init failed, qgroup is not enabled"));

        mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        BtrfsException busy = assertThrows(BtrfsException.class, fs::quotaRescan);
        assertEquals(Errno.EINPROGRESS, busy.errno());
        assertTrue(log().contains("qgroup rescan is already in progress"));
        assertEquals(ON | RESCAN | INCONSISTENT, fs.qgroupStatusFlags(), "the running rescan is untouched");

        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaRescanWait();
        awaitLog("qgroup scan completed (inconsistency flag cleared)");
        fs.quotaRescan(); // allowed again
        fs.quotaRescanWait();
        // the kernel's suffix depends on err > 0 (the last leaf was reached), not on whether the flag was
        // set: every completed rescan says it, and there is no message without it
        Waits.within().until(() -> completions() == 2);
        assertEquals(0, log().matching(e -> e.message().endsWith("qgroup scan completed")).size());

        fs.quotaDisable();
        BtrfsException disabled = assertThrows(BtrfsException.class, fs::quotaRescan);
        assertEquals(Errno.EINVAL, disabled.errno());
        fs.umount();
        assertCleanUnload();
    }

    // ---- the numbers -----------------------------------------------------------------------------

    @Test
    void aCompletedRescanCountsEverySubvolumesDataAndTreeBlocks() {
        Btrfs fs = fresh();
        // sizes straddling the 4 KiB rounding: 4096 + 4096 + 8192 + 12288 bytes on disk
        long small = fs.createSubvolume("small");
        for (int size : new int[] {1, 4096, 4097, 10000}) {
            write(fs, "small/s" + size, size);
        }
        long big = fs.createSubvolume("big");
        for (int i = 0; i < 400; i++) { // enough items for a two-level subvolume tree
            write(fs, "big/f" + i, 1 + i * 37);
        }
        for (int i = 0; i < 50; i++) {
            write(fs, "top" + i, 100_000);
        }
        fs.sync();
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.sync();

        // "small" fits in one leaf: its numbers by hand
        assertEquals(NODESIZE + 4096 + 4096 + 8192 + 12288, referenced(fs).get(small));
        assertTrue(expectedUsage(fs, big) > 400 * 4096 + 2 * NODESIZE, "multi-level tree");
        assertUsageMatchesWalk(fs);
        fs.umount();
        assertCleanUnload();
    }

    @Test
    void liveAccountingAfterTheRescanFollowsWritesUnlinksAndNewSubvolumes() {
        Btrfs fs = fresh();
        for (int i = 0; i < 30; i++) {
            write(fs, "old" + i, 5000);
        }
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.sync();
        assertUsageMatchesWalk(fs);

        for (int i = 0; i < 200; i++) {
            write(fs, "new" + i, 1 + i * 100);
        }
        fs.sync();
        assertUsageMatchesWalk(fs);

        for (int i = 0; i < 30; i++) {
            fs.unlink("old" + i);
        }
        for (int i = 0; i < 200; i += 3) {
            fs.unlink("new" + i);
        }
        evictUnlinkedFiles(fs); // see syncDoesNotWaitForTheEvictionADelayedIputHolds
        fs.sync();
        assertUsageMatchesWalk(fs);

        long sv = fs.createSubvolume("later");
        assertTrue(referenced(fs).containsKey(sv), "btrfs_create_qgroup for a subvolume made with quotas on");
        for (int i = 0; i < 20; i++) {
            write(fs, "later/f" + i, 20_000);
        }
        fs.sync();
        assertUsageMatchesWalk(fs);
        assertEquals(NODESIZE + 20 * 20480, referenced(fs).get(sv));

        // a full rescan from scratch agrees with what the live accounting kept
        Map<Long, Long> live = referenced(fs);
        fs.quotaRescan();
        fs.quotaRescanWait();
        fs.sync();
        assertEquals(live, referenced(fs));
        assertEquals(ON, fs.qgroupStatusFlags());
        fs.umount();
        assertCleanUnload();
    }

    /**
     * Kernel behaviour the walk comparisons must allow for (found as a flake of the test above in a clean-clone
     * CI run of 2ca5b82: live accounting 12,288 bytes above the walk after the unlinks and a sync). A file's
     * ordered extent holds an inode reference and its last btrfs_put_ordered_extent hands it to
     * btrfs_add_delayed_iput; unlinked before the cleaner ran that iput, the file is evicted
     * (btrfs_evict_inode: its items and extents go) by the cleaner, whenever it runs. btrfs_sync_fs neither runs
     * nor waits for delayed iputs, and v5.11's btrfs_commit_transaction no longer runs them at its end (removed
     * in 5.3, "btrfs: don't run delayed_iputs in commit"; mainline the same), so the eviction can land after the
     * sync's commit: the trees lack the file's extent, btrfs_qgroup_account_extents counts it until the next
     * commit. Not a finding — the kernel does the same; the endio worker is held here so the window is certain.
     */
    @Test
    void syncDoesNotWaitForTheEvictionADelayedIputHolds() {
        Btrfs fs = fresh();
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.sync();
        // the endio worker held between btrfs_remove_ordered_extent (the sync's wait ends) and its puts
        mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        write(fs, "x", 12288);
        fs.sync();
        // the sync's wait ends at btrfs_remove_ordered_extent; the worker reaches the hook just after it, so wait for that
        // (asserting it at once was a by-timing check: it failed once in a clean-clone CI run of 76c05df, stop 52)
        awaitParked(mod.hooks(), Hook.ORDERED_EXTENT_AFTER_REMOVE);

        fs.unlink("x");
        assertEquals(1, fs.unlinkedInodesInUse(), "the ordered extent holds x");
        fs.sync();
        assertUsageMatchesWalk(fs); // x is still in the tree and still counted

        mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE); // the last put: btrfs_add_delayed_iput wakes the cleaner
        Waits.within().until(() -> fs.unlinkedInodesInUse() == 0);
        long walk = expectedUsage(fs, ItemType.FS_TREE_OBJECTID);
        assertEquals(referenced(fs).get(ItemType.FS_TREE_OBJECTID) - 12288, walk,
            "evicted after the sync's commit: the tree lost x's extent, the qgroup still counts it");
        fs.sync();
        assertUsageMatchesWalk(fs);
        fs.umount();
        assertCleanUnload();
    }

    @Test
    void accountingStaysRightWhenFilesChangeWhileTheRescanIsBetweenLeaves() {
        Btrfs fs = image(KernelConfig.defaults());
        parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 3);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        long progress = fs.ctx().qgroups.rescanProgress();
        assertTrue(progress > 0);
        // extents behind the progress (already counted by the worker) and ahead of it (left to it)
        // go away, new ones appear; each commit accounts only what is behind the progress
        for (int i = 0; i < 1500; i += 7) {
            fs.unlink("f" + i);
        }
        for (int i = 0; i < 100; i++) {
            write(fs, "n" + i, 6000);
            write(fs, "sv/n" + i, 3000);
        }
        fs.sync();
        for (int i = 1; i < 1500; i += 11) {
            if (i % 7 != 0) {
                fs.unlink("f" + i);
            }
        }
        evictUnlinkedFiles(fs);
        fs.sync();
        assertTrue(fs.qgroupRescanRunning());
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaRescanWait();
        fs.sync();
        assertEquals(ON, fs.qgroupStatusFlags());
        assertUsageMatchesWalk(fs);
        fs.umount();
        assertCleanUnload();
    }

    // ---- the worker's messages and how it stops -------------------------------------------------

    /** close_ctree waits for the worker in both versions; closing makes it stop and keep RESCAN. */
    @ParameterizedTest(name = "patch 1/5 applied {0}")
    @ValueSource(booleans = {true, false})
    void umountPausesARunningRescanAndTheNextMountCompletesIt(boolean applied) {
        KernelConfig cfg = applied ? KernelConfig.defaults() : KernelConfig.defaults().revert(FixSwitch.QGROUP_RESCAN_RO_REMOUNT);
        Btrfs fs = image(cfg);
        BlockDevice dev = fs.device();
        parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);

        TestThread<Void> umount = TestThread.run("umount", fs::umount);
        Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1
            && "wait_for_completion(qgroup_rescan_completion)".equals(mod.kernel().sched().blocked().get("umount")));
        assertFalse(umount.done());
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        umount.join();
        awaitLog("qgroup scan paused"); // logged after complete_all: may trail the umount
        assertEquals(0, log().count(LogEntry.Kind.WARNING), log().dmesg());

        mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        Btrfs again = mod.mount(dev, "");
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        assertEquals(ON | RESCAN | INCONSISTENT, again.qgroupStatusFlags(), "RESCAN kept on disk");
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        again.quotaRescanWait();
        awaitLog("qgroup scan completed (inconsistency flag cleared)");
        again.sync();
        assertUsageMatchesWalk(again);
        again.umount();
        assertCleanUnload();
    }

    /**
     * Both orders of btrfs_quota_disable ({@link FixSwitch#QUOTA_DISABLE_RESCAN_DEADLOCK}) end the same
     * way when no commit is in progress: the worker's next leaf sees QUOTA_ENABLED clear and fails with
     * -EINTR (the deadlock needs a committer; see QuotaDisableRescanDeadlockTest).
     */
    @ParameterizedTest(name = "quota-disable-rescan-deadlock fix applied {0}")
    @ValueSource(booleans = {true, false})
    void disablingQuotasDuringARescanFailsItWithEintr(boolean fixed) {
        Btrfs fs = image(fixed ? KernelConfig.defaults() : KernelConfig.defaults().revert(FixSwitch.QUOTA_DISABLE_RESCAN_DEADLOCK));
        parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        // btrfs_quota_disable clears QUOTA_ENABLED, then waits for the worker (with or without its handle)
        TestThread<Void> disable = TestThread.run("quota-disable", fs::quotaDisable);
        Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1);
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        disable.join();
        awaitLog("qgroup scan failed with -4");
        assertEquals(LogLevel.ERR,
            log().matching(e -> e.message().contains("qgroup scan failed with -4")).get(0).level());
        assertFalse(fs.inspect().flags().contains(FsFlag.QUOTA_ENABLED));
        assertNull(fs.fsInfo().quotaRoot());
        fs.umount();
        assertCleanUnload();
    }

    @Test
    void aStatusUpdateThatCannotStartATransactionIsLoggedAndStillCompletes() {
        Btrfs fs = fresh();
        mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE);
        mod.faults().armOnce(Fault.START_TRANSACTION_ENOSPC);
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE);
        fs.quotaRescanWait();
        awaitLog("fail to start transaction for status update: -28");
        assertFalse(fs.qgroupRescanRunning());
        assertFalse(log().contains("qgroup scan completed"), "no final message without a transaction");
        assertEquals(ON, fs.qgroupStatusFlags(), "RESCAN and INCONSISTENT cleared in memory all the same");
        assertEquals(ON | RESCAN | INCONSISTENT, statusItem(fs).flags(), "on disk: as the last leaf's commit left it");
        write(fs, "x", 10); // some transaction for the next commit, which writes the status item
        fs.sync();
        assertEquals(ON, statusItem(fs).flags());
        fs.umount();
        assertCleanUnload();
    }

    /**
     * Faithful to v5.11 (reference §6.4): btrfs_qgroup_rescan_resume does not re-arm the completion
     * the paused worker completed, so after RO remount (pause) and RO→RW remount (resume) a
     * "quota rescan -w" returns at once while the worker runs. Only a new mount re-arms it. (With the
     * proposed fix applied it waits: {@code ResumedRescanTest}.)
     */
    @Test
    void afterPauseAndResumeByRemountTheWaitDoesNotWaitAsInTheKernel() {
        Btrfs fs = image(KernelConfig.defaults().revert(org.jbtrfs.core.FixSwitch.QGROUP_RESCAN_RESUME_REARM));
        parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        TestThread<Void> ro = TestThread.run("remount-ro", () -> fs.remount("ro"));
        Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1);
        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        ro.join();
        awaitLog("qgroup scan paused");

        mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.remount("rw"); // btrfs_start_pre_rw_mount → btrfs_qgroup_rescan_resume
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
        fs.quotaRescanWait();
        assertTrue(fs.qgroupRescanRunning(), "the wait returned although the worker runs");

        mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
        Waits.within().until(() -> log().contains("qgroup scan completed (inconsistency flag cleared)"));
        fs.sync();
        assertEquals(ON, fs.qgroupStatusFlags());
        assertUsageMatchesWalk(fs);
        fs.umount();
        assertCleanUnload();
    }
}
