package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ASYNC_COMMIT_TRANSACTION_KTHREAD}, both directions: {@code btrfs subvolume delete -c}'s
 * BTRFS_IOC_START_SYNC, then umount, while the commit it started is past COMPLETED but not yet off trans_list.
 *
 * <p>Decision: <b>kernel behaviour</b> of 5.10–5.16, kept bug-for-bug behind a later upstream change. Read (v5.11):
 * ioctl.c btrfs_ioctl_start_sync (btrfs_attach_transaction_barrier, then btrfs_commit_transaction_async(trans, 0), no
 * write access taken); transaction.c btrfs_commit_transaction_async (its btrfs_join_transaction is nested in the
 * ioctl's handle — start_transaction with current->journal_info set returns that handle, use_count 2 — so the
 * btrfs_end_transaction after it only drops a count, and the ioctl's own TRANS_ATTACH handle goes to a work queued with
 * schedule_work, system_wq; the ioctl waits only for COMMIT_START), do_async_commit, and the tail of btrfs_commit_transaction (state COMPLETED and wake_up(commit_wait) first; then
 * list_del_init under trans_lock, btrfs_put_transaction twice, sb_end_intwrite, btrfs_scrub_continue,
 * kmem_cache_free of the handle); btrfs_wait_for_commit; super.c btrfs_sync_fs (the umount's sync_filesystem returns
 * once the commit is COMPLETED); disk-io.c close_ctree (no flush of system_wq anywhere; its btrfs_commit_super's commit
 * does not wait for a COMPLETED previous transaction; ASSERT(list_empty(&fs_info->trans_list)) after the kthreads stop).
 * The kworker holds no reference to the mount, so nothing orders its tail before close_ctree: the assertion (patch
 * 4/5's) fires on a transaction that is committed, and past the umount its list_del_init and btrfs_scrub_continue touch
 * the freed fs_info. Upstream replaced the work by the transaction kthread in fdfbf020664b (v5.17, Josef Bacik, "btrfs:
 * rework async transaction committing", a cleanup whose changelog names the journal_info and freeze juggling, not this
 * race); close_ctree's kthread_stop waits for that kthread's commit. The window is a committer preempted right after
 * waking its waiters — here forced by a park at {@link Hook#COMMIT_AFTER_COMPLETED}.
 */
class AsyncCommitTransactionKthreadTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheAsyncCommitsKworkerOutlivesTheUmountsWaitAndTheTransactionIsStillListed(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            r.mod.hooks().parkAt(Hook.COMMIT_AFTER_COMPLETED, Role.WORKER);
            long transid = fs.startSync();
            // the ioctl returned at COMMIT_START; the kworker completes the commit and stops before list_del_init
            r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_COMPLETED, Repro.WAIT);
            fs.waitSync(transid); // COMPLETED: btrfs-progs' WAIT_SYNC returns, as the umount's sync will
            assertEquals(transid, fs.inspect().generation());
            assertEquals("COMPLETED", fs.inspect().openTransactions().get(0).state(), "committed, still on trans_list");
            KernelBug bug = assertThrows(KernelBug.class, fs::umount);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
            // close_ctree's debug line of trans_list at the assertion (what the explorer classifies by)
            assertTrue(r.mod.log().entries().stream().anyMatch(e -> e.message().contains(
                "trans_list at the assertion: [transaction " + transid + " (COMPLETED) handles [")
                && e.message().contains("btrfs_ioctl_start_sync@")), r.mod.log().dmesg());
            r.mod.hooks().disarm(Hook.COMMIT_AFTER_COMPLETED);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheTransactionKthreadCommitsAndTheUmountWaitsForItsTail(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            r.mod.hooks().parkAt(Hook.COMMIT_AFTER_COMPLETED, Role.TRANSACTION_KTHREAD);
            // the kthread is asleep for commit_interval (the manual clock does not move): only the flag makes it commit
            long transid = fs.startSync();
            r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_COMPLETED, Repro.WAIT);
            fs.waitSync(transid);
            // close_ctree's kthread_stop(transaction_kthread) waits for the commit's tail
            TestThread<Void> umount = TestThread.run("umount", fs::umount).awaitBlockedIn("Kthread", "stop");
            r.mod.hooks().disarm(Hook.COMMIT_AFTER_COMPLETED);
            umount.join();
            var rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
