package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A subvolume deletion whose orphan item cannot be inserted aborts its transaction, as btrfs_delete_subvolume does.
 *
 * <p>Decision: <b>port bug</b>, fixed in stop 74. The explorer's class {@code 7d206994} (seed 74004, {@code --faults
 * all}, every fix applied): the commit probe found "DELETED_ROOT_WITHOUT_ORPHAN: root 256 has refs 0 but no orphan
 * item: its deletion will never be resumed" after a {@code subvolume delete} failed ENOSPC with no abort in the log
 * ({@code alloc-tree-block-enospc} armed). 5.11's btrfs_delete_subvolume sets the root item's refs to 0 in memory
 * (btrfs_record_root_in_trans: the commit writes it) and, unless ORPHAN_ITEM_INSERTED was set, inserts the orphan item;
 * its failure is btrfs_abort_transaction — nothing of the deletion commits. The port wrote the root item itself and
 * inserted the orphan item without an abort on failure: the handle ended, the commit wrote the unlinked subvolume with
 * refs 0 and no orphan item, which no mount resumes (btrfs_find_orphan_roots walks the orphan items): its space never
 * comes back. Now both steps abort on failure. Read: inode.c btrfs_delete_subvolume, transaction.c
 * btrfs_record_root_in_trans and commit_fs_roots, disk-io.c btrfs_find_orphan_roots (v5.11).
 *
 * Without the abort this test's {@code btrfs check} finds exactly the explorer's "root 256 has refs 0 but no orphan
 * item".
 *
 * <p>The window: {@link Hook#SUBVOLUME_DELETE_BEFORE_ORPHAN_ITEM} arms {@code alloc-tree-block-enospc} once, so the
 * orphan item's COW of the tree root's last leaf (a tree root of several leaves: seventy subvolumes with long names)
 * fails.
 */
class SubvolumeDeleteOrphanItemAbortTest {

    /** A long name: the ROOT_REF and ROOT_BACKREF items carry it, so seventy subvolumes fill several tree root leaves. */
    private static String name(int i) {
        return "sv" + i + "-" + "x".repeat(200);
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aFailedOrphanItemInsertAbortsAndTheDeletionDoesNotCommit(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            for (int i = 0; i < 70; i++) {
                fs.createSubvolume("/" + name(i));
            }
            fs.sync();
            // the subvolume's items and the orphan item's place are in different leaves: the insert COWs one
            assertTrue(fs.fsInfo().treeRoot().node().level() > 0, "a tree root of several leaves");
            r.mod.hooks().arm(Hook.SUBVOLUME_DELETE_BEFORE_ORPHAN_ITEM,
                HookAction.run(() -> r.mod.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC)));
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.deleteSubvolume("/" + name(0)));
            assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            assertTrue(r.logged("Transaction aborted") && r.logged("forced readonly"), "aborted: " + r.mod.log().dmesg());
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc);
            assertTrue(rep.clean(), "nothing of the deletion committed: " + rep);
            Btrfs again = r.mount("");
            assertTrue(again.list("/").contains(name(0)), again.list("/").toString());
            again.umount();
        }
    }
}
