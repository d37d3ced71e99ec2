package org.jbtrfs.stress.lanes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.engine.ModuleHost;
import org.junit.jupiter.api.Test;

/**
 * The lanes' thread_pool=N and flushoncommit (stop 67): a share of the cycles mounts with a small pool, each size 1 to
 * {@link LanePlan#MAX_THREAD_POOL} about as often, and a share with flushoncommit, each drawn from a stream of its own
 * (every other choice of a seed stays); the option string carries them and a mount with them works down to one kworker
 * per queue.
 */
class LanePlanMountOptionsTest {

    @Test
    void aShareOfTheCyclesAsksForASmallPool() {
        Map<Integer, Integer> seen = new HashMap<>();
        int n = 4000;
        for (long c = 0; c < n; c++) {
            LanePlan p = LanePlan.of(Seeds.cycleSeed(7, 0, c), c % 16);
            seen.merge(p.threadPool(), 1, Integer::sum);
            assertTrue(p.threadPool() >= 0 && p.threadPool() <= LanePlan.MAX_THREAD_POOL, p.toString());
            assertEquals(p.threadPool() > 0, p.mountOptions(false).contains(",thread_pool=" + p.threadPool()),
                p.mountOptions(false));
            assertEquals(p.threadPool() > 0, p.toString().contains(", thread_pool=" + p.threadPool()), p.toString());
        }
        assertEquals(1 - LanePlan.P_THREAD_POOL, seen.getOrDefault(0, 0) / (double) n, 0.03, seen.toString());
        for (int size = 1; size <= LanePlan.MAX_THREAD_POOL; size++) {
            assertEquals(LanePlan.P_THREAD_POOL / LanePlan.MAX_THREAD_POOL, seen.getOrDefault(size, 0) / (double) n, 0.02,
                size + " in " + seen);
        }
    }

    @Test
    void aShareOfTheCyclesFlushesOnCommit() {
        int n = 4000;
        int on = 0;
        for (long c = 0; c < n; c++) {
            LanePlan p = LanePlan.of(Seeds.cycleSeed(7, 0, c), c % 16);
            on += p.flushOnCommit() ? 1 : 0;
            assertEquals(p.flushOnCommit(), p.mountOptions(false).contains(",flushoncommit"), p.mountOptions(false));
            assertEquals(p.flushOnCommit(), p.toString().contains(", flushoncommit"), p.toString());
        }
        assertEquals(LanePlan.P_FLUSHONCOMMIT, on / (double) n, 0.03);
    }

    /** The other draws do not move: the plan of a cycle is the one it was before the pool size was drawn. */
    @Test
    void thePoolDrawLeavesTheOtherChoicesAlone() {
        for (long c = 0; c < 500; c++) {
            LanePlan p = LanePlan.of(Seeds.cycleSeed(11, 0, c), c % 16);
            LanePlan without = new LanePlan(p.lanes(), p.lifecycleSteps(), p.commit(), p.startRo(), p.maxLaneSteps(),
                p.orphanItemFault(), p.faultSeed(), p.compress(), p.freeze(), p.autodefrag(), p.rescanUuid(), p.discard(),
                p.spaceCache(), p.powerCut(), 0, p.flushOnCommit());
            assertEquals(without.mountOptions(false), p.mountOptions(false).replace(",thread_pool=" + p.threadPool(), ""));
        }
    }

    @Test
    void aMountWithOneKworkerPerQueueWorks() {
        BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults());
        try {
            BlockDevice sdc = mod.createDevice("sdc", ModuleHost.DEVICE_SIZE);
            mod.mkfs(sdc);
            LanePlan plan = new LanePlan(java.util.EnumSet.of(LaneKind.LIFECYCLE), 1, 1, false, 8, 0, 0, true, false, true,
                false, false, "", false, 1, true);
            Btrfs fs = mod.mount(sdc, plan.mountOptions(false));
            fs.createFile("a");
            fs.writeFile("a", new byte[256 * 1024]);
            fs.sync();
            fs.remount("commit=2,thread_pool=" + LanePlan.MAX_THREAD_POOL);
            fs.unlink("a");
            fs.umount();
            assertTrue(mod.unload().clean());
        } finally {
            mod.close();
        }
    }
}
