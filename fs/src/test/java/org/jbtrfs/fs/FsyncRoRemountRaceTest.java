package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kernel bug found by the explorer in stop 25 — class {@code leak:btrfs_sync_file@file,lifecycle}, every fix applied,
 * {@code --filesystems 4 --faults all}, seed 54054, 1.2 s into the run, seen by the RO-leak oracle (a transaction open
 * on the read-only filesystem at its RW remount, opened by the file lane's fsync, which had run across the whole RO
 * remount).
 *
 * <p>Decision: <b>kernel bug</b>, kept bug-for-bug; proposed fix {@link FixSwitch#FSYNC_RO_REMOUNT_RACE}. Read (v5.11,
 * v5.12, mainline): fs/btrfs/file.c btrfs_sync_file — skip_inode_logging(), then btrfs_start_transaction(root, 0) with
 * no read-only test; fs/btrfs/transaction.c start_transaction / join_transaction — refuse only an aborted
 * filesystem, create a transaction when none runs (a commit that reached UNBLOCKED no longer counts);
 * fs/btrfs/super.c btrfs_remount — sync_filesystem, btrfs_set_sb_rdonly, wait on CLEANER_RUNNING,
 * btrfs_commit_super; fs/super.c reconfigure_super and fs/namespace.c sb_prepare_remount_readonly — they count
 * writers, and fsync takes no write access (an O_RDONLY descriptor is enough); fs/btrfs/disk-io.c close_ctree —
 * commits nothing on a read-only filesystem. With the tree log the fsync syncs the log and only ends its handle, so
 * the transaction stays open through the umount (patch 4/5's assertion, the seed's use-after-free with generic
 * crc32c); the port has no tree log and takes the fallback, a full commit — on the read-only filesystem.
 *
 * <ol>
 *   <li>a file is written (its inode changed in the running transaction) and opened O_RDONLY;</li>
 *   <li>fsync writes it back, finds it changed since the last commit, and is preempted before
 *       btrfs_start_transaction ({@link Hook#FSYNC_BEFORE_START_TRANSACTION});</li>
 *   <li>mount -o remount,ro: sync_filesystem commits the inode, SB_RDONLY. Reverted: it runs to the end,
 *       btrfs_commit_super included. Applied: the fsync counted itself before the hook, so the remount waits for it
 *       after setting RO, before btrfs_commit_super;</li>
 *   <li>the fsync goes on. Reverted: it starts a transaction on the read-only filesystem (and commits it).
 *       Applied: it sees the filesystem read-only and returns — the remount's sync_filesystem committed the inode —
 *       and the remount's btrfs_commit_super follows.</li>
 * </ol>
 * The first version of the fix never waited in this test (the fsync was held before counting itself) and a run of
 * the explorer found its wait broken at once (IllegalMonitorStateException): the applied direction now holds the
 * fsync counted, so the remount's wait is exercised.
 */
class FsyncRoRemountRaceTest {

    @ParameterizedTest(name = "proposed fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void anFsyncPastItsTestAcrossAnRoRemount(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.FSYNC_RO_REMOUNT_RACE};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountSettled("");
            // 1., 2.
            TestThread<Void> fsync = r.fsyncOfAChangedFileParkedAt(fs, new byte[] {1, 2, 3}, Hook.FSYNC_BEFORE_START_TRANSACTION);
            long created;
            long generation;
            if (applied) {
                // 3. not refused (the fsync holds no write access), but the remount waits for the counted fsync
                TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"))
                    .describedBy(r::sleepingOn).awaitBlockedOn("wait_var_event(fsyncs in flight)");
                assertTrue(fs.inspect().sbRdonly(), "RO is set before the wait");
                created = r.mod.hooks().arrivals(Hook.TRANSACTION_CREATED);
                r.mod.hooks().release(Hook.FSYNC_BEFORE_START_TRANSACTION); // 4.
                fsync.join();
                assertEquals(created, r.mod.hooks().arrivals(Hook.TRANSACTION_CREATED), "no transaction by the fsync");
                remount.join();
                generation = fs.inspect().generation();
                assertTrue(fs.inspect().openTransactions().isEmpty());
                assertEquals(List.of(), fs.inspect().committedReadOnly(), "the remount's own commit is not a write while read-only");
            } else {
                fs.remount("ro"); // 3. not refused, not waiting: the fsync holds no write access
                generation = fs.inspect().generation();
                r.mod.hooks().parkAt(Hook.TRANSACTION_CREATED, Role.USER);
                r.mod.hooks().release(Hook.FSYNC_BEFORE_START_TRANSACTION); // 4.
                r.mod.hooks().awaitParked(Hook.TRANSACTION_CREATED, Repro.WAIT);
                Inspection in = fs.inspect();
                assertTrue(in.sbRdonly());
                assertEquals(1, in.openTransactions().size(), "a transaction on the read-only filesystem");
                assertEquals(List.of("btrfs_sync_file"), in.openTransactions().get(0).functions());
                r.mod.hooks().release(Hook.TRANSACTION_CREATED);
                fsync.join();
                assertTrue(fs.inspect().generation() > generation, "the fallback's commit wrote the read-only filesystem");
                generation = fs.inspect().generation();
                List<Inspection.TransactionInfo> written = fs.inspect().committedReadOnly();
                assertEquals(1, written.size(), "the instrumentation names the write: " + written);
                assertEquals(List.of("btrfs_sync_file"), written.get(0).functions());
            }
            assertEquals(generation, fs.inspect().generation(), "nothing more written to the read-only filesystem");
            assertArrayEquals(new byte[] {1, 2, 3}, fs.readFile("f"));
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
