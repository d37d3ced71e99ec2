package org.jbtrfs.junit;

import static org.jbtrfs.junit.KernelSymptom.*;
import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import org.jbtrfs.core.*;
import org.jbtrfs.fs.*;
import org.junit.jupiter.api.Test;

/** Patch 2/5 both ways, written with the extension: the README example. */
class OrphanRootsReproducerTest {
    /** A stray orphan item (its drop ignored -ENOMEM), then an RO mount and a prompt umount. */
    static Btrfs strayOrphanThenRoMount(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        fs.createSubvolume("sv");
        mod.faults().armOnce(Fault.DEL_ORPHAN_ITEM_ENOMEM);     // btrfs_del_orphan_item fails, ignored
        fs.deleteSubvolume("sv");
        // an explicit wake and a wait for that pass: a delayed iput's wake-up (the README's first version) is lost
        // when the cleaner is still in its first pass after mount, and then nothing wakes it for commit_interval
        fs.runCleanerPass(Duration.ofSeconds(10));              // the cleaner drops the subvolume
        assertEquals(1, mod.faults().fired(Fault.DEL_ORPHAN_ITEM_ENOMEM));
        fs.umount();                                            // the drop is committed, the orphan item stays
        return mod.mount(dev, "ro");
    }

    @Test
    @BtrfsTest(revert = FixSwitch.ORPHAN_ROOTS_RO_MOUNT)
    @ExpectKernelSymptoms({TRANS_LIST_ASSERT, SLAB_LEAK, STATE_LEAK})
    void beforeTheFixAnRoMountLeaksATransaction(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        Btrfs ro = strayOrphanThenRoMount(mod, dev, fs);
        assertEquals(List.of("btrfs_find_orphan_roots"), ro.inspect().openTransactions().get(0).functions());
        assertThrows(KernelBug.class, ro::umount);              // close_ctree: trans_list is not empty
    }

    @Test
    @BtrfsTest
    void withTheFixAnRoMountOpensNothing(BtrfsModule mod, BlockDevice dev, Btrfs fs) {
        Btrfs ro = strayOrphanThenRoMount(mod, dev, fs);
        assertEquals(List.of(), ro.inspect().openTransactions());
        ro.umount();
    }
}
