package org.jbtrfs.fs;

import static org.jbtrfs.fs.QgroupFixtures.awaitParked;
import static org.jbtrfs.fs.QgroupFixtures.imageDevice;
import static org.jbtrfs.fs.QgroupFixtures.parkAtArrival;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code btrfs quota rescan -s} as API ({@link Btrfs#rescanStatus()}: the RESCAN status flag and the progress
 * objectid, as BTRFS_IOC_QUOTA_RESCAN_STATUS reports them, with qgroup_rescan_running and whether the worker
 * is queued or executing), and {@link Btrfs#awaitRescanIdle} — the wait for the worker's real end, which a
 * rescan resumed by an RO→RW remount needs because {@link Btrfs#quotaRescanWait()} keeps the kernel's
 * semantics (the completion is not re-armed by the resume) unless the proposed fix
 * {@link FixSwitch#QGROUP_RESCAN_RESUME_REARM} is applied. Both directions.
 */
class RescanStatusTest {

    @ParameterizedTest(name = "resume re-arms the completion (proposed fix applied)={0}")
    @ValueSource(booleans = {true, false})
    void statusThroughARunAPauseByRoRemountAndAResumeByRoToRwRemount(boolean rearm) {
        KernelConfig cfg = KernelConfig.defaults();
        if (!rearm) {
            cfg = cfg.revert(FixSwitch.QGROUP_RESCAN_RESUME_REARM);
        }
        try (BtrfsModule mod = BtrfsModule.load(cfg.clock(new ManualClock()))) {
            BlockDevice dev = imageDevice(mod);
            Btrfs fs = mod.mount(dev, "");
            assertEquals(new RescanStatus(0, 0, false, false), fs.rescanStatus());
            assertEquals("no rescan operation in progress", fs.rescanStatus().describe());
            fs.awaitRescanIdle(Duration.ZERO); // nothing queued: returns at once

            // 1) quota enable starts a rescan; its worker parks before its second leaf
            parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
            fs.quotaEnable();
            awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
            RescanStatus running = fs.rescanStatus();
            long progress = fs.ctx().qgroups.rescanProgress();
            assertTrue(progress > 0, "one leaf scanned");
            assertEquals(new RescanStatus(1, progress, true, true), running);
            assertEquals("rescan operation running (current key " + progress + ")", running.describe());
            BtrfsException busy = assertThrows(BtrfsException.class, () -> fs.awaitRescanIdle(Duration.ZERO));
            assertEquals(Errno.ETIMEDOUT, busy.errno());

            // 2) RO remount: the worker stops ("qgroup scan paused"); RESCAN stays set for the resume
            TestThread<Void> ro = TestThread.run("remount-ro", () -> fs.remount("ro"));
            Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1);
            mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            ro.join();
            fs.awaitRescanIdle(QgroupFixtures.TIMEOUT);
            assertTrue(mod.log().contains("qgroup scan paused"), "the worker function returned: it logged first");
            RescanStatus paused = fs.rescanStatus();
            assertEquals(new RescanStatus(1, progress, false, false), paused, "btrfs quota rescan -s still says running");

            // 3) RO→RW remount resumes it (btrfs_qgroup_rescan_resume); it parks before its next leaf
            mod.hooks().parkAt(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            fs.remount("rw");
            awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
            assertEquals(new RescanStatus(1, progress, true, true), fs.rescanStatus());
            TestThread<Void> wait = TestThread.run("quota-rescan-wait", fs::quotaRescanWait);
            if (rearm) {
                Waits.within().until(() -> fs.ctx().qgroups.rescanWaiters() == 1); // re-armed: it waits for the worker
            } else {
                wait.join(); // the kernel's wait: the completion is still done from the pause
                assertTrue(fs.rescanStatus().workerActive(), "quotaRescanWait returned while the worker runs");
            }
            TestThread<Void> idle = TestThread.run("await-rescan-idle", () -> fs.awaitRescanIdle(QgroupFixtures.TIMEOUT));
            // sleeping in the worker's idle wait (a timed wait no Sched names: read from its stack)
            Waits.within().until(() -> org.jbtrfs.testsupport.Blocked.in(idle.thread(), "QgroupRescan", "awaitIdle"));
            assertFalse(idle.done());
            mod.hooks().disarm(Hook.QGROUP_RESCAN_BEFORE_LEAF);
            idle.join();
            wait.join();
            assertTrue(mod.log().contains("qgroup scan completed"));
            assertEquals(new RescanStatus(0, 0, false, false), fs.rescanStatus());
            QgroupFixtures.assertUsageMatchesWalk(fs);

            fs.umount();
            for (Runnable op : new Runnable[] {fs::rescanStatus, () -> fs.awaitRescanIdle(Duration.ZERO), fs::qgroupUsage,
                fs::qgroupStatusFlags, fs::qgroupRescanRunning, fs::quotaRescanWait}) {
                BtrfsException e = assertThrows(BtrfsException.class, op::run);
                assertEquals(Errno.EINVAL, e.errno());
                assertTrue(e.getMessage().contains("sdc is not mounted"), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> fs.awaitRescanIdle(null));
            assertThrows(IllegalArgumentException.class, () -> fs.awaitRescanIdle(Duration.ofSeconds(-1)));
        }
    }
}
