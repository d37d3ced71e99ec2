package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A commit that fails inside the sync_filesystem() of an umount or a remount does not fail the umount or the
 * remount. Port bug found by the explorer's error paths ({@code --faults commit-transaction-eio}, seed 7, class
 * {@code leak:btrfs_create+btrfs_finish_ordered_io+btrfs_sync_fs@dev2,kworker}): the port threw btrfs_sync_fs's
 * EIO out of generic_shutdown_super, so the umount stopped before close_ctree — the kthreads, workqueues and
 * the aborted transaction's delayed refs stayed for rmmod to report. Decision: port bug. Kernel functions read
 * (v5.11, v5.12): generic_shutdown_super (fs/super.c) calls sync_filesystem() and ignores its result, then
 * put_super; sync_filesystem / __sync_filesystem (fs/sync.c) drop what ->sync_fs returns (v5.17's
 * 5679897eb104 forwards it, still ignored by generic_shutdown_super); btrfs_remount (fs/btrfs/super.c) ignores
 * sync_filesystem's result and, the abort having forced the filesystem read-only, finds nothing to do for
 * "ro"; btrfs_sync_fs → btrfs_commit_transaction → cleanup_transaction → btrfs_abort_transaction.
 */
class SyncErrorIgnoredTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anUmountWhoseSyncCommitFailsClosesTheFilesystemAndLeavesNothing(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("a");
            fs.writeFile("a", new byte[4096]);
            r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
            fs.umount(); // sync_filesystem's commit fails: aborted, forced read-only; close_ctree still runs
            assertEquals(1, r.mod.faults().fired(Fault.COMMIT_TRANSACTION_EIO));
            assertTrue(r.logged("Transaction aborted"), "the commit's abort is reported");
            assertTrue(r.mod.mounts().isEmpty());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), "rmmod finds nothing left: " + rep);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountWhoseSyncCommitFailsSucceedsOnTheForcedReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            fs.createFile("a");
            r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
            fs.remount("ro"); // btrfs_remount ignores sync_filesystem's result; the abort already set SB_RDONLY
            assertTrue(fs.isReadOnly());
            assertTrue(r.logged("forced readonly"));
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), "rmmod finds nothing left: " + rep);
        }
    }
}
