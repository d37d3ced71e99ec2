package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Device replace's lifecycle (dev-replace.c, v5.11, one device): a replace copies the device to its target while
 * writes go to both, swaps the target in and scratches the old device; an RO remount suspends it and the next
 * read-write mount resumes it in the btrfs-devrepl kthread; an umount keeps it suspended on disk; cancel ends it. Bad
 * input: a clear errno, nothing lost, the module usable.
 */
class DevReplaceTest {
    static final byte[] DATA = "the data that moves with the filesystem".getBytes();

    /** A 64 MiB disk behind its own dm-flakey target (its own power: a test cuts or fails the disks one by one). */
    static FlakeyBlockDevice flakeyDisk(Repro r, String name) {
        return r.mod.createFlakeyDevice(name, r.mod.createDevice(name + "-disk", 64L << 20));
    }

    /** mkfs on {@code src}, mounted, eight files of {@link #DATA} written and synced. */
    static Btrfs withFilesOn(Repro r, BlockDevice src) {
        r.mod.mkfs(src);
        Btrfs fs = r.mod.mount(src, "");
        for (int i = 0; i < 8; i++) {
            fs.createFile("/f" + i);
            fs.writeFile("/f" + i, DATA);
        }
        fs.sync();
        return fs;
    }

    static Btrfs withFiles(Repro r) {
        Btrfs fs = r.mountSettled("");
        for (int i = 0; i < 8; i++) {
            fs.createFile("/f" + i);
            fs.writeFile("/f" + i, DATA);
        }
        fs.sync();
        return fs;
    }

    /**
     * The module of a test whose replace an RO remount suspends during its ioctl ({@link #suspendedReplaceOnDisk}):
     * {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} reverted — it concerns the ioctl only —, and {@code underTest}
     * reverted too unless {@code fixed}.
     */
    static Repro suspendableRepro(Crc32cImpl crc, FixSwitch underTest, boolean fixed) {
        return fixed ? new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)
            : new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS, underTest);
    }

    /** A resumed replace's end: its "finished" line, then its kthread gone (the event, not a sleep). */
    static void awaitResumedReplaceFinished(Repro r, String from, String to) {
        Waits.within(Repro.WAIT).until(() -> r.logged("dev_replace from " + from + " (devid 1) to " + to + " finished"));
        awaitDevReplaceKthreadGone(r.mod);
    }

    /**
     * The mount of a filesystem with a suspended replace on disk ({@link #suspendedReplaceOnDisk}) whose resume kthread is
     * held before its copy while an RO remount suspends the replace again, so that the RO→RW remount cannot resume it
     * (the kthread holds the exclusive operation): the replace stays SUSPENDED in the mounted, writable filesystem. The
     * kthread stays parked at {@link Hook#DEV_REPLACE_KTHREAD_BEFORE_SCRUB} for the caller to release.
     */
    static Btrfs mountWithTheReplaceSuspendedInMount(Repro r) {
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD);
        Btrfs fs = r.mount("");
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
        fs.remount("ro");
        fs.remount("rw");
        assertTrue(r.logged("cannot resume dev-replace, other exclusive operation running"), r.mod.log().dmesg());
        return fs;
    }

    static void awaitDevReplaceKthreadGone(BtrfsModule mod) {
        Waits.within(Repro.WAIT).until(() -> mod.kernel().kthreadd().busy().stream().noneMatch("btrfs-devrepl"::equals));
    }

    /**
     * A replace suspended by an RO remount during its copy, then umounted: on disk, SUSPENDED, and the target holds what
     * was copied so far. The RO remount during the ioctl needs {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} reverted
     * (with it, the remount is EBUSY while the ioctl runs).
     */
    static BlockDevice suspendedReplaceOnDisk(Repro r) {
        Btrfs fs = withFiles(r);
        BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
        TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
        Repro.awaitBlockedOn(fs, "remount", "btrfs_scrub_cancel");
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        assertEquals(DevReplaceResult.NO_ERROR, start.join(), "the ioctl returns: suspended, not failed");
        remount.join();
        assertTrue(r.logged("suspending dev_replace for unmount"), r.mod.log().dmesg());
        assertEquals(DevReplaceStatus.State.SUSPENDED, fs.replaceStatus().state());
        fs.umount();
        return tgt;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aReplaceCopiesTheDeviceAndTheTargetTakesItsPlace(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, tgt));
            DevReplaceStatus st = fs.replaceStatus();
            assertEquals(DevReplaceStatus.State.FINISHED, st.state());
            assertEquals(1000, st.progress1000());
            assertTrue(r.logged("dev_replace from sdc (devid 1) to sdd started"), r.mod.log().dmesg());
            assertTrue(r.logged("dev_replace from sdc (devid 1) to sdd finished"));
            fs.createFile("/after");
            fs.writeFile("/after", DATA); // written to the new device only
            fs.umount();
            BtrfsException old = assertThrows(BtrfsException.class, () -> r.mount(""));
            assertEquals(Errno.EINVAL, old.errno(), "the old device's superblock is scratched");
            assertTrue(Check.check(tgt, crc).clean(), Check.check(tgt, crc).toString());
            Btrfs moved = r.mod.mount(tgt, "");
            for (int i = 0; i < 8; i++) {
                assertArrayEquals(DATA, moved.readFile("/f" + i));
            }
            assertArrayEquals(DATA, moved.readFile("/after"));
            assertEquals(DevReplaceStatus.State.FINISHED, moved.replaceStatus().state());
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aSecondReplaceMovesTheFilesystemBackAndBlkidFollowsIt(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            String fsid = org.jbtrfs.fs.tools.Blkid.probe(r.dev).fsid();
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, tgt));
            assertEquals(java.util.Map.of(1L, tgt), fs.devices());
            assertEquals(null, org.jbtrfs.fs.tools.Blkid.probe(r.dev), "scratched");
            assertEquals(fsid, org.jbtrfs.fs.tools.Blkid.probe(tgt).fsid());
            assertEquals(Errno.EEXIST, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, tgt)).errno(),
                "the filesystem's own device now (\"target device is in the filesystem!\")");
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, r.dev), "the old device is free again");
            assertEquals(java.util.Map.of(1L, r.dev), fs.devices());
            assertEquals(1, org.jbtrfs.fs.tools.Blkid.probe(r.dev).devid());
            fs.umount();
            Btrfs back = r.mount("");
            assertArrayEquals(DATA, back.readFile("/f7"));
            back.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountSuspendsAndTheNextReadWriteMountResumesToTheEnd(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)) {
            BlockDevice tgt = suspendedReplaceOnDisk(r);
            Btrfs fs = r.mount("");
            awaitResumedReplaceFinished(r, "sdc", "sdd");
            assertTrue(r.logged("continuing dev_replace from sdc (devid 1) to target sdd @"), r.mod.log().dmesg());
            assertEquals(DevReplaceStatus.State.FINISHED, fs.replaceStatus().state());
            fs.umount();
            Btrfs moved = r.mod.mount(tgt, "");
            for (int i = 0; i < 8; i++) {
                assertArrayEquals(DATA, moved.readFile("/f" + i));
            }
            moved.umount();
            assertTrue(Check.check(tgt, crc).clean());
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aSuspendedReplaceNeedsItsTargetAndCanBeCancelled(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)) {
            BlockDevice tgt = suspendedReplaceOnDisk(r);
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mod.mount(tgt, ""));
            assertEquals(Errno.EINVAL, e.errno(), "the target (devid 0) is not mounted by itself");
            Btrfs ro = r.mount("ro"); // read-only: nothing resumes
            assertEquals(DevReplaceStatus.State.SUSPENDED, ro.replaceStatus().state());
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, ro::replaceCancel).errno());
            ro.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void badInputIsAClearErrorAndLosesNothing(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = withFiles(r);
            BlockDevice small = r.mod.createDevice("sde", 32L << 20);
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, small)).errno());
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> fs.replaceStart(2, tgt)).errno());
            assertEquals(Errno.EEXIST, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, r.dev)).errno());
            assertThrows(IllegalArgumentException.class, () -> fs.replaceStart(1, null));
            assertEquals(DevReplaceResult.NOT_STARTED, fs.replaceCancel());
            assertEquals(DevReplaceStatus.State.NEVER_STARTED, fs.replaceStatus().state());
            fs.remount("ro");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, tgt)).errno());
            fs.remount("rw");
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, tgt), "the module is still usable");
            assertArrayEquals(DATA, fs.readFile("/f3"));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
