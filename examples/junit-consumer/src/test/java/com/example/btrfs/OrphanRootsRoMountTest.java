package com.example.btrfs;

import static org.jbtrfs.junit.KernelSymptom.*;
import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import org.jbtrfs.core.*;
import org.jbtrfs.fs.*;
import org.jbtrfs.junit.*;
import org.junit.jupiter.api.Test;

/** A reproducer, both ways: "btrfs: fix transaction leak and crash after cleaning up orphans on RO mount" (patch 2/5). */
class OrphanRootsRoMountTest {
    /** A subvolume deleted while btrfs_del_orphan_item fails: its orphan item stays; then an RO mount. */
    static Btrfs strayOrphanItemThenRoMount(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        fs.createSubvolume("sv");
        mod.faults().armOnce(Fault.DEL_ORPHAN_ITEM_ENOMEM);    // drop_snapshot ignores this error
        fs.deleteSubvolume("sv");
        fs.runCleanerPass(Duration.ofSeconds(10));             // the cleaner drops the subvolume
        assertEquals(1, mod.faults().fired(Fault.DEL_ORPHAN_ITEM_ENOMEM));
        fs.umount();
        return mod.mount(dev, "ro");
    }

    @Test
    @BtrfsTest(revert = FixSwitch.ORPHAN_ROOTS_RO_MOUNT)
    @ExpectKernelSymptoms({TRANS_LIST_ASSERT, SLAB_LEAK, STATE_LEAK})
    void beforeTheFixTheRoMountLeaksATransaction(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        Btrfs ro = strayOrphanItemThenRoMount(mod, dev, fs);
        assertEquals(List.of("btrfs_find_orphan_roots"), ro.inspect().openTransactions().get(0).functions());
        assertThrows(KernelBug.class, ro::umount);             // patch 4/5: list_empty(&fs_info->trans_list)
    }

    @Test
    @BtrfsTest
    void withTheFixTheRoMountStartsNoTransaction(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        Btrfs ro = strayOrphanItemThenRoMount(mod, dev, fs);
        assertEquals(List.of(), ro.inspect().openTransactions());
    }
}
