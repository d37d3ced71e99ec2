package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelBug;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#SCRUB_RO_MOUNT_TRANSACTION}, both directions — upstream 2d192fc4c1ab (v5.17, Qu Wenruo, "btrfs: don't
 * start transaction for scrub if the fs is mounted read-only", Cc stable 5.4+), whose report is this test's script:
 * write a file, umount, {@code mount -o ro}, {@code btrfs scrub start -Br}, umount.
 *
 * <p>Decision: <b>kernel behaviour</b> of 5.11 and 5.12, kept bug-for-bug behind the later upstream fix. Read (v5.11):
 * ioctl.c btrfs_ioctl_scrub (mnt_want_write_file only without BTRFS_SCRUB_READONLY), scrub.c btrfs_scrub_dev and
 * scrub_enumerate_chunks (btrfs_inc_block_group_ro for every block group, the scrub counted as paused around it),
 * block-group.c btrfs_inc_block_group_ro (btrfs_join_transaction first, no read-only test), transaction.c
 * join_transaction (starts a transaction when none runs; only an aborted filesystem refuses), disk-io.c close_ctree
 * (commits nothing on a read-only superblock, then patch 4/5's ASSERT(list_empty(&fs_info->trans_list))); and the fix
 * on the list (Dec 2021, with David Sterba's question whether a remount could flip the test: scrub is cancelled by an RO
 * remount after SB_RDONLY is set, so a later scrub sees it).
 */
class ScrubRoMountTransactionTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAReadOnlyScrubOfAReadOnlyMountLeavesATransactionTheUmountAssertsOn(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.SCRUB_RO_MOUNT_TRANSACTION)) {
            Btrfs fs = roMountAfterAWrite(r);
            ScrubProgress p = fs.scrub(true);
            assertTrue(p.treeExtentsScrubbed() > 0 && p.dataExtentsScrubbed() > 0, p.toString());
            Inspection in = fs.inspect();
            assertEquals(1, in.openTransactions().size(), "a transaction on the read-only filesystem");
            // one join per block group (system, metadata, data), each ended, none committed
            assertEquals(List.of("btrfs_inc_block_group_ro"), in.openTransactions().get(0).functions().stream().distinct().toList());
            assertEquals(in.blockGroups().size(), in.openTransactions().get(0).functions().size());
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheReadOnlyMountsGroupsGoReadOnlyWithoutATransaction(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = roMountAfterAWrite(r);
            long generation = fs.inspect().generation();
            ScrubProgress p = fs.scrub(true);
            assertTrue(p.treeExtentsScrubbed() > 0 && p.dataExtentsScrubbed() > 0, p.toString());
            assertEquals(0, p.verifyErrors() + p.readErrors() + p.superErrors() + p.uncorrectableErrors(), p.toString());
            assertEquals(0, p.noCsum(), "every data sector has its sum");
            assertEquals(0, p.csumErrors(), "and matches it");
            assertTrue(fs.inspect().openTransactions().isEmpty());
            assertTrue(fs.inspect().blockGroups().stream().noneMatch(Inspection.BlockGroup::readOnly),
                "every group writable again");
            assertEquals(generation, fs.inspect().generation(), "nothing written to the read-only filesystem");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /** A scrub that may repair needs write access: a read-only mount refuses it (mnt_want_write_file), and stays usable. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aRepairingScrubOfAReadOnlyMountIsRefused(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.SCRUB_RO_MOUNT_TRANSACTION)) {
            Btrfs fs = roMountAfterAWrite(r);
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.scrub(false));
            assertEquals(Errno.EROFS, e.errno());
            assertTrue(fs.inspect().openTransactions().isEmpty());
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::scrubCancel).errno());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** The upstream report's script up to the scrub: a file written and committed, then a read-only mount. */
    static Btrfs roMountAfterAWrite(Repro r) {
        Btrfs fs = r.mountSettled("");
        fs.createFile("file");
        fs.writeFile("file", new byte[4096]);
        fs.sync();
        fs.umount();
        return r.mount("ro");
    }
}
