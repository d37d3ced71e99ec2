package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * sget() and the fill of a new superblock (fs/super.c, 5.11): sget puts the new superblock on the
 * super_blocks list under sb_lock and returns it with s_umount held; btrfs_mount_root then runs
 * btrfs_fill_super → open_ctree without sb_lock, so other devices' mounts and umounts, which take sb_lock
 * in sget and in deactivate_super's put, go on meanwhile. A mount of the same device finds the unborn
 * superblock and waits in grab_super (down_write(s_umount), then SB_BORN); if the fill failed, the
 * superblock is gone and sget looks again — that mount opens the device itself.
 *
 * <p>A port bug, fixed in stop 24: the port ran open_ctree under the module's sb_lock, so with several
 * filesystems (the explorer's --filesystems, its second-device lane) every mount and umount of another device
 * waited for a whole open_ctree — an order the kernel never imposes. Read: fs/super.c sget, grab_super,
 * deactivate_super; fs/btrfs/super.c btrfs_mount_root, btrfs_fill_super (5.11).
 *
 * <p>The fill is held inside open_ctree by a stray orphan item of a dropped subvolume (patch 2/5's, left by
 * drop_snapshot's ignored ENOMEM): btrfs_find_orphan_roots in btrfs_start_pre_rw_mount reaches
 * {@link Hook#FIND_ORPHAN_ROOTS_BEFORE_JOIN} for it.
 */
class SgetFillTest {

    private static BlockDevice secondDevice(Repro r) {
        BlockDevice sdd = r.mod.createDevice("sdd", 64L << 20);
        r.mod.mkfs(sdd);
        return sdd;
    }

    /**
     * Two mounts of the device: the first held in its fill, the second seen waiting for it in grab_super; then the
     * fill goes on. Returns both.
     */
    private static List<TestThread<Btrfs>> twoMountsOneFilling(Repro r) {
        r.mod.hooks().parkAt(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN);
        TestThread<Btrfs> first = TestThread.call("mount-1", () -> r.mount(""));
        r.mod.hooks().awaitParked(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN, Repro.WAIT);
        TestThread<Btrfs> second = TestThread.call("mount-2", () -> r.mount("")).describedBy(r::sleepingOn);
        try {
            second.awaitBlockedOn("sget: grab_super"); // before the fix: blocked on sb_lock, in no kernel wait
        } finally {
            r.mod.hooks().release(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN);
        }
        return List.of(first, second);
    }

    @Test
    void anotherDevicesUmountAndMountGoOnWhileAFillIsInOpenCtree() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            BlockDevice sdd = secondDevice(r);
            Btrfs other = r.mod.mount(sdd, "");
            OrphanRootsRoMountTest.strayOrphanItem(r);
            r.mod.hooks().parkAt(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN);
            TestThread<Btrfs> filling = TestThread.call("mount-sdc", () -> r.mount(""));
            r.mod.hooks().awaitParked(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN, Repro.WAIT);
            try {
                TestThread<Void> elsewhere = TestThread.run("sdd", () -> {
                    other.umount();
                    Btrfs again = r.mod.mount(sdd, "");
                    again.createFile("while-sdc-fills");
                    assertEquals(List.of(again), r.mod.mounts(), "the unborn superblock has no mount point yet");
                    again.umount();
                });
                elsewhere.join(Repro.WAIT); // before the fix: sb_lock, held by sdc's open_ctree
            } finally {
                r.mod.hooks().release(Hook.FIND_ORPHAN_ROOTS_BEFORE_JOIN);
            }
            Btrfs sdc = filling.join();
            assertTrue(sdc.inspect().rootOrphans().isEmpty(), "start_pre_rw_mount deleted the stray orphan item");
            sdc.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    @Test
    void aMountOfTheSameDeviceWaitsForTheFillAndSharesItsSuperblock() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            OrphanRootsRoMountTest.strayOrphanItem(r);
            List<TestThread<Btrfs>> mounts = twoMountsOneFilling(r);
            TestThread<Btrfs> first = mounts.get(0);
            TestThread<Btrfs> second = mounts.get(1);
            Btrfs a = first.join();
            Btrfs b = second.join();
            assertSame(a.fsInfo(), b.fsInfo(), "one superblock: the second mount took a reference on the filled one");
            assertEquals(2, a.mountCount());
            a.umount();
            b.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    @Test
    void aMountWaitingForAFillThatFailedOpensTheDeviceItself() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            OrphanRootsRoMountTest.strayOrphanItem(r);
            r.mod.faults().armOnce(Fault.ORPHAN_CLEANUP_ENOMEM);
            List<TestThread<Btrfs>> mounts = twoMountsOneFilling(r);
            TestThread<Btrfs> first = mounts.get(0);
            TestThread<Btrfs> second = mounts.get(1);
            BtrfsException e = (BtrfsException) first.failure();
            assertEquals(Errno.ENOMEM, e.errno(), "open_ctree failed in its orphan cleanup");
            Btrfs b = second.join();
            assertEquals(1, b.mountCount(), "a superblock of its own: the failed one left the list");
            b.createFile("after-the-failed-fill");
            b.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
