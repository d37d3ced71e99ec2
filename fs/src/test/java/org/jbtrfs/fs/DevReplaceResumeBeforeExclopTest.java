package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_RESUME_BEFORE_EXCLOP} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Read while triaging the explorer's stale-target classes (stop
 * 65; class {@code b8771b25}'s log shows "cannot resume dev-replace, other exclusive operation running" beside a replace
 * an RO remount suspended). btrfs_resume_dev_replace_async sets a SUSPENDED replace STARTED, releases the replace's
 * rwsem, then tries the exclusive operation. A replace suspended by an RO remount during its ioctl: the ioctl's copy
 * returns -ECANCELED and the ioctl goes on to btrfs_dev_replace_finishing holding the exclusive operation; an RO→RW
 * remount meanwhile resumes: STARTED. Finishing reads STARTED, ends the replace CANCELED, destroys the target, clears
 * srcdev and tgtdev, and the ioctl gives the operation back; the resume's btrfs_exclop_start then succeeds and its
 * kthread dereferences the NULL srcdev ({@code dev_replace->srcdev->devid}). Had the ioctl still held the operation, the
 * resume would have written SUSPENDED over CANCELED — a suspended replace with neither source nor target. The fix takes
 * the exclusive operation first and changes the state only while holding it. Read: dev-replace.c
 * btrfs_resume_dev_replace_async, btrfs_dev_replace_kthread, btrfs_dev_replace_finishing; ioctl.c
 * btrfs_ioctl_dev_replace (v5.11; mainline's btrfs_resume_dev_replace_async keeps the order).
 *
 * <p>The ioctl is let through an RO remount: {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} is reverted here (with it
 * the remount waits for the ioctl; the kernel's forced remount at shutdown still does not). Hooks:
 * {@link Hook#DEV_REPLACE_BEFORE_FINISHING}, {@link Hook#DEV_REPLACE_RESUME_BEFORE_EXCLOP}.
 */
class DevReplaceResumeBeforeExclopTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return DevReplaceTest.suspendableRepro(crc, FixSwitch.DEV_REPLACE_RESUME_BEFORE_EXCLOP, fixed);
    }

    /** The ioctl's replace suspended by an RO remount, the ioctl held before its finishing, the exclusive op still its. */
    private static TestThread<DevReplaceResult> ioctlSuspendedBeforeFinishing(Repro r, Btrfs fs, BlockDevice tgt) {
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_BEFORE_FINISHING, Role.USER);
        TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
        Repro.awaitBlockedOn(fs, "remount", "btrfs_scrub_cancel");
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        remount.join();
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_BEFORE_FINISHING, Repro.WAIT);
        assertEquals(DevReplaceStatus.State.SUSPENDED, fs.replaceStatus().state());
        return start;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheResumesKthreadDereferencesTheSourceTheIoctlsFinishingCleared(Crc32cImpl crc) {
        // DEV_REPLACE_RESUME_SUSPEND_RACE reverted too: since stop 67 its kthread tests the replace still STARTED before
        // it reads anything of it, which stops this kthread before the dereference as well
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS, FixSwitch.DEV_REPLACE_RESUME_BEFORE_EXCLOP,
                FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            TestThread<DevReplaceResult> start = ioctlSuspendedBeforeFinishing(r, fs, tgt);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_RESUME_BEFORE_EXCLOP, Role.USER);
            TestThread<Void> rw = TestThread.run("remount rw", () -> fs.remount("rw"));
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_RESUME_BEFORE_EXCLOP, Repro.WAIT); // STARTED, no operation yet
            r.mod.hooks().disarm(Hook.DEV_REPLACE_BEFORE_FINISHING);
            assertEquals(Errno.ECANCELED, assertThrows(BtrfsException.class, start::join).errno(),
                "finishing read STARTED and ended the replace CANCELED");
            r.mod.hooks().disarm(Hook.DEV_REPLACE_RESUME_BEFORE_EXCLOP);
            rw.join();
            Waits.within(Repro.WAIT).until(() -> r.logged("BUG: kernel NULL pointer dereference"));
            assertTrue(r.logged("RIP: 0010:btrfs_dev_replace_kthread"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheResumeWaitsForTheOperationAndTheReplaceStaysSuspended(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            TestThread<DevReplaceResult> start = ioctlSuspendedBeforeFinishing(r, fs, tgt);
            fs.remount("rw"); // the ioctl holds the operation: "cannot resume", the state untouched
            assertTrue(r.logged("cannot resume dev-replace, other exclusive operation running"), r.mod.log().dmesg());
            assertEquals(DevReplaceStatus.State.SUSPENDED, fs.replaceStatus().state());
            r.mod.hooks().disarm(Hook.DEV_REPLACE_BEFORE_FINISHING);
            assertEquals(DevReplaceResult.NO_ERROR, start.join(), "finishing found it suspended");
            assertFalse(r.logged("NULL pointer"));
            fs.umount();
            Btrfs again = r.mount(""); // resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            assertArrayEquals(DevReplaceTest.DATA, r.mod.mount(tgt, "").readFile("/f6"));
        }
    }
}
