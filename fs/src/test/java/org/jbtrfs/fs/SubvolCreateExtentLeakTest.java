package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FixSwitch#SUBVOL_CREATE_EXTENT_LEAK} (later upstream: 67addf29004c, v5.13, "btrfs: fix metadata extent leak
 * after failure to create subvolume"), both directions, both crc32c modes. create_subvol (5.11 ioctl.c) allocates the
 * new root's leaf, then inserts its root item; when btrfs_insert_root fails it goes to {@code fail} without an abort
 * and — in 5.11 — without freeing the leaf, and {@code fail} commits the transaction: the commit writes the leaf's
 * extent item with no tree referring to it. Here the insert fails as it would on a nearly full filesystem: the root
 * tree's leaf, written by the sync before, must be COWed, and that block's allocation fails -ENOSPC (the
 * {@link Fault#ALLOC_TREE_BLOCK_ENOSPC} site, armed by the hook the leaf's own allocation arrives at).
 *
 * <p>Kernel or port: <b>kernel</b> (5.10–5.12; upstream since 5.13), found by the explorer with every fix applied once
 * tree-block allocations could fail (stop 69: class {@code a692f68c}, btrfs check's UNREFERENCED_EXTENT_ITEM of a tree
 * block owned by a subvolume id with no root). Kernel functions read: ioctl.c {@code create_subvol} (5.11, and the
 * upstream commit's), extent-tree.c {@code btrfs_alloc_tree_block}, {@code btrfs_free_tree_block}. The port also lacked
 * the {@code fail} label's commit (it ended the handle) and the aborts of every later step (stop 69, port bugs fixed
 * with this test).
 */
class SubvolCreateExtentLeakTest {

    @ParameterizedTest(name = "fixed {0}, crc32c {1}")
    @CsvSource({"true, GENERIC", "true, ACCELERATED", "false, GENERIC", "false, ACCELERATED"})
    void aFailedRootItemInsertLeavesNoExtentBehindOnlyWithTheFix(boolean fixed, Crc32cImpl crc) {
        try (Repro r = Repro.withFix(FixSwitch.SUBVOL_CREATE_EXTENT_LEAK, fixed, crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("kept");
            fs.sync(); // the root tree's leaf is on disk: the root item's insert must COW it
            AtomicBoolean armed = new AtomicBoolean();
            // the first block allocated from here is the new root's leaf; the next allocation (the COW) fails
            r.mod.hooks().arm(Hook.TREE_BLOCK_ALLOCATED, HookAction.run(() -> {
                if (armed.compareAndSet(false, true)) {
                    r.mod.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC);
                }
            }));
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.createSubvolume("sv"));
            assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            r.mod.hooks().disarm(Hook.TREE_BLOCK_ALLOCATED);
            assertEquals(1, r.mod.faults().fired(Fault.ALLOC_TREE_BLOCK_ENOSPC), "the root item's COW failed");
            assertFalse(fs.inspect().state().contains(FsState.TRANS_ABORTED), "no abort: 'goto fail'");
            assertEquals(java.util.List.of("kept"), fs.list());
            fs.createFile("after"); // still writable
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc);
            if (fixed) {
                assertTrue(rep.clean(), rep.toString());
            } else {
                assertTrue(rep.problems().stream().anyMatch(p -> p.kind() == Check.Kind.UNREFERENCED_EXTENT_ITEM),
                    "5.11: the leaf's extent item, written by the fail path's commit: " + rep);
            }
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
