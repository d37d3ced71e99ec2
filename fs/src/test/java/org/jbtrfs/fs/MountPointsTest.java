package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The same device mounted at two points (fstests btrfs/326's shape): the second mount finds the superblock
 * (sget) and shares its fs_info, kthreads and SB_RDONLY; each mount has its own root and MNT_READONLY;
 * s_active counts the mounts, so umount of one leaves the other working and only the last runs close_ctree.
 * RO/RW mismatches follow 5.11's btrfs_mount.
 */
class MountPointsTest {

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void twoMountPointsShareOneFilesystemAndOnlyTheLastUmountClosesIt(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs first = r.mountSettled("");
            first.createSubvolume("sv");
            int threads = r.mod.kernel().kthreadd().busy().size();
            r.mod.hooks().arm(Hook.UMOUNT_START, HookAction.count(), -1);

            Btrfs second = r.mount("subvol=sv");
            assertNotSame(first, second);
            assertSame(first.fsInfo(), second.fsInfo(), "one fs_info per device");
            assertEquals(threads, r.mod.kernel().kthreadd().busy().size(), "the cleaner and transaction kthreads are the superblock's, once");
            assertEquals(2, first.mountCount());
            assertEquals(List.of(first, second), r.mod.mounts());

            second.createFile("through-the-second");
            assertEquals(List.of("through-the-second"), first.list("sv"));
            first.umount();
            assertEquals(0, r.mod.hooks().hits(Hook.UMOUNT_START), "close_ctree does not run while a mount remains");
            assertFalse(first.isMounted());
            assertThrows(BtrfsException.class, () -> first.createFile("x"));
            second.createFile("still-working");
            second.sync();
            assertEquals(List.of("still-working", "through-the-second"), second.list());
            BtrfsException busy = assertThrows(BtrfsException.class, () -> r.mod.mkfs(r.dev));
            assertEquals(Errno.EBUSY, busy.errno());

            second.umount();
            assertEquals(1, r.mod.hooks().hits(Hook.UMOUNT_START), "the last umount runs close_ctree, once");
            assertTrue(Repro.noKthreadRuns(r.mod), "its kthreads are stopped");
            assertTrue(r.mod.mounts().isEmpty());
            Btrfs again = r.mount("");
            assertEquals(List.of("still-working", "through-the-second"), again.list("sv"));
            again.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    @Test
    void umountOfAMountWithOpenFilesIsBusyButTheOtherMountIsNot() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs a = r.mount("");
            Btrfs b = r.mount("");
            a.createFile("f");
            FileHandle fh = a.open("f");
            BtrfsException e = assertThrows(BtrfsException.class, a::umount);
            assertEquals(Errno.EBUSY, e.errno());
            b.umount(); // files opened through a do not pin b
            fh.close();
            a.umount();
        }
    }

    @Test
    void aReadOnlyMountOfAReadWriteSuperblockIsReadOnlyOnItsOwn() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs rw = r.mount("");
            Btrfs ro = r.mount("ro"); // btrfs_mount: EBUSY with SB_RDONLY, again without: MNT_READONLY only
            assertTrue(ro.isReadOnly());
            assertFalse(rw.isReadOnly());
            assertFalse(rw.fsInfo().sbRdonly(), "the superblock stays read-write");
            BtrfsException e = assertThrows(BtrfsException.class, () -> ro.createFile("x"));
            assertEquals(Errno.EROFS, e.errno());
            assertTrue(e.getMessage().contains("this mount point is read-only"), e.getMessage());
            rw.createFile("x");
            assertEquals(List.of("x"), ro.list());
            ro.remount("rw"); // through the RO mount: MNT_READONLY cleared, the superblock unchanged
            ro.createFile("y");
            rw.remount("ro"); // the superblock goes RO: every mount of it is
            assertTrue(ro.isReadOnly());
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> ro.createFile("z")).errno());
            rw.umount();
            ro.umount();
        }
    }

    @Test
    void aReadWriteMountOfAReadOnlySuperblockRemountsItReadWrite() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs ro = r.mount("ro");
            assertTrue(ro.fsInfo().sbRdonly());
            Btrfs rw = r.mount(""); // btrfs_mount: EBUSY, again with SB_RDONLY, then btrfs_remount(sb, RW)
            assertFalse(rw.fsInfo().sbRdonly(), "the superblock was remounted read-write");
            assertTrue(ro.isReadOnly(), "the first mount point keeps MNT_READONLY");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> ro.createFile("x")).errno());
            rw.createFile("x");
            rw.umount(); // the superblock stays read-write with the RO mount point
            assertFalse(ro.fsInfo().sbRdonly());
            ro.umount(); // the last umount of a read-write superblock commits
            Btrfs again = r.mount("ro");
            assertEquals(List.of("x"), again.list());
            again.umount();
        }
    }

    @Test
    void asecondMountIgnoresOptionsOnlyANewSuperblockParses() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs a = r.mount("commit=5");
            Btrfs b = r.mount("commit=100,nosuchopt"); // btrfs_mount_root: no btrfs_parse_options for an existing sb
            assertEquals(5, b.fsInfo().commitInterval());
            b.umount();
            a.umount();
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount("nosuchopt"));
            assertEquals(Errno.EINVAL, e.errno(), "a new superblock parses them");
        }
    }

    @Test
    void aFailedSecondMountLeavesTheFirstAlone() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs a = r.mountSettled("");
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount("subvol=nosuch"));
            assertEquals(Errno.ENOENT, e.errno());
            assertEquals(1, a.mountCount());
            a.createFile("ok");
            a.umount();
            assertTrue(Repro.noKthreadRuns(r.mod));
        }
    }
}
