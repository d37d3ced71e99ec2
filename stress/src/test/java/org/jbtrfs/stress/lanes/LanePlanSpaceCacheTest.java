package org.jbtrfs.stress.lanes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.stress.engine.ModuleHost;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The lanes' free-space cache options (stop 34): drawn in a share of the cycles from a stream of their own, and every
 * one of them accepted by a mount and by an RO→RW remount of the lanes' filesystem whatever cache it has on disk — a
 * lane's mount refused with EINVAL ("cannot disable free space tree") would end the cycle's lifecycle instead of
 * exploring it.
 */
class LanePlanSpaceCacheTest {

    @Test
    void aShareOfTheCyclesAsksForEachOption() {
        Map<String, Integer> seen = new HashMap<>();
        int n = 4000;
        for (long c = 0; c < n; c++) {
            LanePlan p = LanePlan.of(org.jbtrfs.stress.Seeds.cycleSeed(7, 0, c), c % 16);
            seen.merge(p.spaceCache(), 1, Integer::sum);
            if (!p.spaceCache().isEmpty()) {
                assertTrue(p.mountOptions(false).endsWith("," + p.spaceCache()), p.mountOptions(false));
                assertTrue(p.toString().contains(", " + p.spaceCache()), p.toString());
            }
        }
        double none = seen.getOrDefault("", 0) / (double) n;
        assertEquals(1 - LanePlan.P_SPACE_CACHE, none, 0.03, seen.toString());
        for (String o : LanePlan.SPACE_CACHE_OPTIONS) {
            assertEquals(LanePlan.P_SPACE_CACHE / LanePlan.SPACE_CACHE_OPTIONS.size(), seen.getOrDefault(o, 0) / (double) n, 0.02,
                o + " in " + seen);
        }
    }

    /** The free space tree's compat_ro bit in the superblock on disk. */
    private static boolean treeOnDisk(BtrfsModule mod, BlockDevice dev) {
        SuperBlock sb = org.jbtrfs.transaction.DiskIo.readSuper(dev, org.jbtrfs.fs.internal.Internals.kernel(mod).crc32c());
        return (sb.compatRoFlags & SuperBlock.COMPAT_RO_FREE_SPACE_TREE) != 0;
    }

    /**
     * Each option, on a filesystem with v1 caches and on one with the free space tree: the cycle's mount and an RO→RW
     * remount asking for it succeed, the tree is there exactly when the option keeps or creates it, and the module
     * unloads clean.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"space_cache=v2", "clear_cache,space_cache=v1", "clear_cache,nospace_cache", "clear_cache"})
    void everyOptionMountsAndRemountsWhateverCacheIsOnDisk(String option) {
        assertTrue(LanePlan.SPACE_CACHE_OPTIONS.contains(option));
        LanePlan plan = new LanePlan(java.util.EnumSet.of(LaneKind.LIFECYCLE), 1, 1, false, 8, 0, 0, false, false, false, false,
            false, option, false, 0, false);
        for (boolean treeOnDisk : new boolean[] {false, true}) {
            BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
            try {
                BlockDevice sdc = mod.createDevice("sdc", ModuleHost.DEVICE_SIZE);
                mod.mkfs(sdc);
                if (treeOnDisk) {
                    mod.mount(sdc, "space_cache=v2").umount();
                }
                Btrfs fs = mod.mount(sdc, plan.mountOptions(false));
                fs.createFile("a");
                fs.writeFile("a", new byte[8192]);
                fs.sync();
                boolean tree = option.equals("space_cache=v2") || (option.equals("clear_cache") && treeOnDisk);
                assertEquals(tree, treeOnDisk(mod, sdc), "after the mount's commit");
                fs.remount("ro");
                fs.remount("rw," + option);
                assertFalse(fs.isReadOnly());
                fs.unlink("a");
                fs.umount();
                assertEquals(tree, treeOnDisk(mod, sdc), "after the RO→RW remount and the umount");
                assertTrue(mod.unload().clean(), option + (treeOnDisk ? " on a filesystem with the tree" : " on v1"));
            } finally {
                mod.close();
            }
        }
    }
}
