package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.junit.jupiter.api.Test;

/**
 * Patch 4/5, "btrfs: add assertion for empty list of transactions at late stage of umount": a detector.
 * With it, a transaction leaked past the last commit — from any source — is caught in close_ctree right
 * after btrfs_stop_all_workers, before the block groups are torn down and the btree inode is written back;
 * without it the leak surfaces later, as the seed's WARNINGs, use-after-free and slab leaks.
 */
class TransListAssertTest {

    /** A leak from patch 2/5's source: the RO mount's btrfs_find_orphan_roots. */
    private static Btrfs leakyRoMount(Repro r) {
        return OrphanRootsRoMountTest.roMountLeaks(r);
    }

    @Test
    void appliedTheAssertionFiresBeforeTheTeardown() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, FixSwitch.ORPHAN_ROOTS_RO_MOUNT)) {
            Btrfs fs = leakyRoMount(r);
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"));
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list), in fs/btrfs/disk-io.c:4185"));
            assertFalse(r.logged("btrfs_put_block_group"), "caught before btrfs_free_block_groups");
            assertEquals(0, r.count(LogEntry.Kind.USE_AFTER_FREE), "and before the final iput of the btree inode");
        }
    }

    @Test
    void revertedTheLeakSurfacesLaterAsWarningsUseAfterFreeAndSlabLeaks() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC, FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.TRANS_LIST_ASSERT)) {
            Btrfs fs = leakyRoMount(r);
            assertThrows(KernelOops.class, fs::umount);
            assertFalse(r.logged("assertion failed"));
            SeedSymptoms.assertTeardownWarnings(r);
            SeedSymptoms.assertSlabLeaks(r.mod.unload());
        }
    }

    @Test
    void appliedWithoutConfigBtrfsAssertTheLeakAlsoSurfacesLater() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, false, FixSwitch.ORPHAN_ROOTS_RO_MOUNT)) {
            Btrfs fs = leakyRoMount(r);
            fs.umount();
            assertFalse(r.logged("assertion failed"), "ASSERT compiles away without CONFIG_BTRFS_ASSERT");
            SeedSymptoms.assertTeardownWarnings(r);
            SeedSymptoms.assertSlabLeaks(r.mod.unload());
        }
    }

    @Test
    void appliedANormalUmountPassesTheAssertion() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.remount("ro");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted());
        }
    }
}
