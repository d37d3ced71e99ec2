package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Patch 2/5, "btrfs: fix transaction leak and crash after cleaning up orphans on RO mount":
 * <ol>
 *   <li>a deleted subvolume is dropped by the cleaner, but deleting its orphan item fails (-ENOMEM) and
 *       btrfs_drop_snapshot ignores the error: a stray orphan item stays in the tree root;</li>
 *   <li>umount, then mount -o ro: v5.10's open_ctree calls btrfs_find_orphan_roots for RO mounts too; the
 *       root is gone, so it joins a transaction, deletes the orphan item and ends the transaction;</li>
 *   <li>a prompt umount: RO, so nothing commits; the transaction leaks past close_ctree.</li>
 * </ol>
 * The patch runs btrfs_find_orphan_roots only from btrfs_start_pre_rw_mount (RW mounts, RO→RW remounts).
 */
class OrphanRootsRoMountTest {

    /** Step 1: leaves a stray orphan item for subvolume "sv" on disk; returns its id. */
    static long strayOrphanItem(Repro r) {
        Btrfs fs = r.mountSettled("");
        long id = fs.createSubvolume("sv");
        fs.deleteSubvolume("sv");
        r.mod.faults().armOnce(Fault.DEL_ORPHAN_ITEM_ENOMEM);
        fs.runCleanerPass(Repro.WAIT);
        assertTrue(!fs.inspect().rootItems().containsKey(id) && fs.inspect().deadRoots().isEmpty(), "the pass dropped it");
        assertEquals(1, r.mod.faults().fired(Fault.DEL_ORPHAN_ITEM_ENOMEM));
        assertEquals(List.of(id), fs.inspect().rootOrphans(), "the orphan item outlived its root");
        fs.umount();
        return id;
    }

    @RepeatedTest(100)
    void appliedRoMountLeavesTheOrphanAloneAndRwMountDeletesIt() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            long id = strayOrphanItem(r);
            Btrfs ro = r.mount("ro");
            assertTrue(ro.inspect().openTransactions().isEmpty(), "nothing joined a transaction on the RO mount");
            assertEquals(List.of(id), ro.inspect().rootOrphans());
            ro.umount();
            Btrfs rw = r.mount("");
            assertTrue(rw.inspect().rootOrphans().isEmpty(), "start_pre_rw_mount deleted the stray orphan item");
            rw.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** Step 2 with the patch reverted: the RO mount has an open transaction started by find_orphan_roots. */
    static Btrfs roMountLeaks(Repro r) {
        strayOrphanItem(r);
        Btrfs ro = r.mount("ro");
        var open = ro.inspect().openTransactions();
        assertEquals(1, open.size(), "find_orphan_roots left its transaction open");
        assertEquals(List.of("btrfs_find_orphan_roots"), open.get(0).functions());
        return ro;
    }

    @RepeatedTest(100)
    void revertedWithTheAssertionTheLeakIsCaughtAtUmount() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, FixSwitch.ORPHAN_ROOTS_RO_MOUNT)) {
            Btrfs ro = roMountLeaks(r);
            var bug = assertThrows(org.jbtrfs.core.KernelBug.class, ro::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"));
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list), in fs/btrfs/disk-io.c:4185"));
            assertTrue(r.mod.unload().remaining("btrfs_delayed_ref_head") > 0);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheLeakedTransactionReachesTheTeardown(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.TRANS_LIST_ASSERT)) {
            Btrfs ro = roMountLeaks(r);
            if (crc == Crc32cImpl.GENERIC) {
                KernelOops oops = assertThrows(KernelOops.class, ro::umount, "final iput writes through the destroyed workers queue");
                assertTrue(oops.getMessage().contains("use-after-free in btrfs_queue_work"), oops.getMessage());
                assertEquals(1, r.count(LogEntry.Kind.USE_AFTER_FREE));
            } else {
                ro.umount();
                assertEquals(0, r.count(LogEntry.Kind.USE_AFTER_FREE), "accelerated crc32c writes synchronously");
            }
            SeedSymptoms.assertTeardownWarnings(r);
            UnloadReport rep = r.mod.unload();
            SeedSymptoms.assertSlabLeaks(rep);
        }
    }

    @Test
    void revertedWithSlabDebugTheLeakedRefsWereAllocatedUnderFindOrphanRoots() {
        try (Repro r = new Repro(c -> c.crc32c(Crc32cImpl.ACCELERATED).slabDebug(true)
            .revert(FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.TRANS_LIST_ASSERT))) {
            roMountLeaks(r).umount();
            UnloadReport rep = r.mod.unload();
            var heads = rep.slabLeaks().stream().filter(l -> l.cache().equals("btrfs_delayed_ref_head")).findFirst().orElseThrow();
            assertTrue(heads.allocatedIn().stream().allMatch(s -> s.contains("findOrphanRoots")), heads.allocatedIn().toString());
        }
    }
}
