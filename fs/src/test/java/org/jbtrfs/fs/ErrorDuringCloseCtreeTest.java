package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FixSwitch#ERROR_DURING_CLOSE_CTREE} (proposed, not upstream), both directions, both crc32c modes, with
 * {@link FixSwitch#ERROR_COMMIT_SUPER_EARLY} applied (mainline's close_ctree order since v6.15). The umount's own
 * {@code btrfs_delete_unused_bgs} removes the filesystem's one unused block group; the COW of its removal fails
 * (-ENOSPC, {@link Fault#ALLOC_TREE_BLOCK_ENOSPC}, armed once close_ctree has parked the cleaner) and
 * {@code btrfs_remove_chunk} aborts the transaction. {@code btrfs_commit_super} is refused (-EROFS). The transaction
 * kthread, held between its loop's error test and its sleep, absorbs the abort's wake-up and sees only the stop: it
 * exits without its {@code btrfs_cleanup_transaction}. Without the fix nothing else cleans the aborted transaction up —
 * df94a342efb4 removed close_ctree's late {@code btrfs_error_commit_super} — and the umount meets patch 4/5's
 * assertion; with it the late cleanup runs and the umount completes, the image clean.
 *
 * <p>Kernel or port: <b>kernel</b> (mainline since df94a342efb4 and the stable trees that took it; 5.11's close_ctree
 * has the late call), found by the explorer with every fix applied (stop 69, classes {@code 4b558a6f} and
 * {@code 85fe57ec}). Kernel functions read: disk-io.c {@code close_ctree} (5.11, and df94a342efb4's diff),
 * {@code btrfs_error_commit_super}, {@code btrfs_cleanup_transaction}; block-group.c {@code btrfs_delete_unused_bgs};
 * volumes.c {@code btrfs_remove_chunk}; transaction.c {@code transaction_kthread}, {@code join_transaction}.
 */
class ErrorDuringCloseCtreeTest {

    @ParameterizedTest(name = "fixed {0}, crc32c {1}")
    @CsvSource({"true, GENERIC", "true, ACCELERATED", "false, GENERIC", "false, ACCELERATED"})
    void anAbortInTheUmountsOwnUnusedGroupRemovalIsCleanedUpOnlyWithTheFix(boolean fixed, Crc32cImpl crc) {
        try (Repro r = Repro.withFix(FixSwitch.ERROR_DURING_CLOSE_CTREE, fixed, crc)) {
            Btrfs fs = r.mountSettled("");
            Kthread trans = fs.fsInfo().transactionKthread();
            // the transaction kthread between its error test and its sleep, for the whole umount
            r.mod.hooks().parkAt(Hook.TRANS_KTHREAD_BEFORE_SLEEP);
            fs.remount("commit=30"); // btrfs_remount's out label: wake_up_process(transaction_kthread)
            r.mod.hooks().awaitParked(Hook.TRANS_KTHREAD_BEFORE_SLEEP, Repro.WAIT);
            fs.runCleanerPass(Repro.WAIT); // the pass the kthread's loop woke it for, over before the group is made
            CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
            r.mod.hooks().arm(Hook.UMOUNT_AFTER_PARK_CLEANER, HookAction.run(
                () -> r.mod.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC)));
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within(Repro.WAIT).until(() -> trans.shouldStop() && "kthread_stop(btrfs-transaction)".equals(r.sleepingOn("umount")));
            assertTrue(r.logged("Transaction aborted (error ENOSPC"), r.mod.log().dmesg());
            r.mod.hooks().release(Hook.TRANS_KTHREAD_BEFORE_SLEEP); // it sees the stop and exits: no cleanup of its own
            if (fixed) {
                umount.join();
                Check.Report rep = Check.check(r.dev, crc);
                assertTrue(rep.clean(), rep.toString());
                assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
            } else {
                KernelBug bug = assertInstanceOf(KernelBug.class, umount.failure());
                assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
                r.mod.kernel().panic("test: umount hit the trans_list assertion");
                r.mod.unload();
            }
        }
    }
}
