package org.jbtrfs.fs;

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
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * `btrfs qgroup destroy 0/N` (BTRFS_IOC_QGROUP_CREATE with create = 0: btrfs_remove_qgroup, v5.11) through the public
 * API: the qgroup leaves memory and its info item the quota tree; a live subvolume's qgroup may go, as 5.11 allows (its
 * extents are no longer accounted; a later create starts it at zero); the ioctl's errors, after which the module and
 * the other qgroups are as they were. Its race with quota disable is {@link QuotaDisableQgroupIoctlDeadlockTest}.
 */
class QgroupDestroyTest {
    private BtrfsModule mod;
    private BlockDevice dev;

    private Btrfs fresh() {
        mod = BtrfsModule.load(KernelConfig.defaults().clock(new ManualClock()));
        dev = mod.createDevice("sdc", QgroupFixtures.DEVICE_SIZE);
        mod.mkfs(dev);
        return mod.mount(dev, "");
    }

    @AfterEach
    void unload() {
        if (mod != null) {
            mod.close();
        }
    }

    private static List<Long> qgroups(Btrfs fs) { return fs.qgroupUsage().stream().map(QgroupUsage::qgroupid).toList(); }

    @Test
    void aLiveSubvolumesQgroupIsDestroyedInMemoryAndOnDiskAndItsWritesAreNoLongerAccounted() {
        Btrfs fs = fresh();
        long sv = fs.createSubvolume("sv");
        write(fs, "sv/a", 9000);
        fs.quotaEnable();
        fs.quotaRescanWait();
        fs.sync();
        assertEquals(List.of(5L, sv), qgroups(fs));
        Map<Long, Long> before = QgroupFixtures.referenced(fs);
        assertTrue(before.get(sv) > 0, before.toString());

        fs.qgroupDestroy(sv);
        assertEquals(List.of(5L), qgroups(fs));
        assertNull(info(fs, sv), "del_qgroup_item: the info item is gone from the live quota tree");
        write(fs, "sv/b", 5000); // btrfs_qgroup_account_extent finds no qgroup for it
        write(fs, "c", 3000);
        fs.sync();
        assertEquals(List.of(5L), qgroups(fs));
        assertTrue(QgroupFixtures.referenced(fs).get(5L) > before.get(5L), "the top subvolume is still accounted");

        fs.umount();
        fs = mod.mount(dev, "");
        assertEquals(List.of(5L), qgroups(fs), "btrfs_read_qgroup_config finds no info item for it");
        fs.qgroupCreate(sv); // a new, zeroed qgroup: what was written before is not counted
        QgroupUsage recreated = fs.qgroupUsage().stream().filter(u -> u.qgroupid() == sv).findFirst().orElseThrow();
        assertEquals(new QgroupUsage(sv, 0, 0), recreated);
        assertNotNull(info(fs, sv));
        fs.umount();
        assertTrue(Check.check(dev).problems().isEmpty(), Check.check(dev).text());
        UnloadReport r = mod.unload();
        assertTrue(r.clean(), r.toString());
    }

    @Test
    void badInputGetsAClearErrorAndLosesNothing() {
        Btrfs fs = fresh();
        long sv = fs.createSubvolume("sv");
        assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, () -> fs.qgroupDestroy(sv)).errno());
        fs.quotaEnable();
        fs.quotaRescanWait();
        assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> fs.qgroupDestroy(0)).errno());
        IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> fs.qgroupDestroy(1L << 48 | sv));
        assertTrue(iae.getMessage().startsWith("qgroupid"), iae.getMessage());
        assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> fs.qgroupDestroy(999)).errno());
        fs.remount("ro");
        assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> fs.qgroupDestroy(sv)).errno());
        fs.remount("rw");
        assertEquals(List.of(5L, sv), qgroups(fs), "no error removed a qgroup");

        fs.qgroupDestroy(sv);
        assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> fs.qgroupDestroy(sv)).errno(),
            "a second destroy finds nothing");
        assertEquals(List.of(5L), qgroups(fs));
        fs.umount();
        UnloadReport r = mod.unload();
        assertTrue(r.clean(), r.toString());
        assertFalse(mod.kernel().log().tainted(), mod.kernel().log().dmesg());
    }
}
