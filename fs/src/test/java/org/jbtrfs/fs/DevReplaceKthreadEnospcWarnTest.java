package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_KTHREAD_ENOSPC_WARN} (proposed, not upstream), both directions. A replace suspended on
 * disk is resumed by the next read-write mount in the btrfs-devrepl kthread; meanwhile the device filled up. The
 * copy's first chunk cannot be set read-only and no new chunk fits ("failed setting block group ro: -28"),
 * btrfs_dev_replace_finishing reports "btrfs_scrub_dev(...) failed -28" and ends the replace CANCELED — and the
 * kthread's WARN_ON(ret && ret != -ECANCELED) warns for a user's full device: a stack trace, the kernel tainted, a
 * reboot under panic_on_warn. The ioctl's path stopped warning for the same -ENOSPC in 4cea9037f82a (v5.5-rc8); the
 * kthread's WARN_ON was left, in 5.11 and in mainline. Applied: no warning; the rest is the same.
 *
 * <p>Found by the explorer's replace lane with every fix applied (classes 1da110c2 of stops 65 and 66). Read:
 * dev-replace.c btrfs_dev_replace_kthread, btrfs_dev_replace_finishing, btrfs_dev_replace_start; scrub.c
 * scrub_enumerate_chunks; block-group.c btrfs_inc_block_group_ro (v5.11); 4cea9037f82a and its thread (the ioctl's
 * WARN for -ENOSPC seen in btrfs/011); mainline's btrfs_dev_replace_kthread (2025: the WARN_ON kept).
 *
 * <p>Setup: the replace is suspended by an RO remount during its ioctl, which the proposed
 * {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} refuses — reverted here, as in DevReplaceResumeSuspendRaceTest (it
 * concerns the ioctl only). The hook {@link Hook#DEV_REPLACE_KTHREAD_BEFORE_SCRUB} holds the resumed copy while the
 * test fills the device through the read-write mount.
 */
class DevReplaceKthreadEnospcWarnTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return DevReplaceTest.suspendableRepro(crc, FixSwitch.DEV_REPLACE_KTHREAD_ENOSPC_WARN, fixed);
    }

    /** The suspended replace resumed by a mount, its copy let go once the device is full; the mount. */
    private static Btrfs resumedOntoAFullDevice(Repro r) {
        BlockDevice tgt = DevReplaceTest.suspendedReplaceOnDisk(r);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD);
        Btrfs fs = r.mount("");
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
        fill(fs);
        r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
        DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
        assertTrue(r.logged("failed setting block group ro: -28"), r.mod.log().dmesg());
        assertTrue(r.logged("btrfs_scrub_dev(sdc, 1, " + tgt.name() + ") failed -28"), r.mod.log().dmesg());
        assertEquals(DevReplaceStatus.State.CANCELED, fs.replaceStatus().state());
        return fs;
    }

    /** Files until the device has no room left for data: every chunk allocated. */
    private static void fill(Btrfs fs) {
        byte[] mib = new byte[1 << 20];
        try {
            for (int i = 0; i < 256; i++) {
                fs.createFile("/fill" + i);
                fs.writeFile("/fill" + i, mib);
                fs.sync();
            }
        } catch (BtrfsException e) {
            assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            return;
        }
        throw new AssertionError("the device never filled up");
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheResumedCopyOnAFullDeviceWarns(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Btrfs fs = resumedOntoAFullDevice(r);
            assertTrue(r.logged("WARNING: CPU: 0 PID: ") && r.logged("dev-replace.c:1096 btrfs_dev_replace_kthread"),
                r.mod.log().dmesg());
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheResumedCopyOnAFullDeviceEndsCanceledWithoutAWarning(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = resumedOntoAFullDevice(r);
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
