package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.DelayedInodes;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Transactions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DELAYED_WORKERS_AT_ERROR_UMOUNT} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Found by the explorer with every fix applied (stop 64, seed 64006, {@code --filesystems 4 --faults all --swarm 0.5
 * --crc32c accelerated}, slab debug, 600 s: one cycle of 48,876, class {@code f8fced6b uaf:BUG: KASAN: use-after-free in
 * wake_up_process at core.kernel.Kthread.wakeUpProcess:258@kworker}, token {@code 64006:11532:1}; "task_struct of
 * btrfs-transaction", woken by a kworker in btrfs_async_run_delayed_root's btrfs_end_transaction after an injected commit
 * EIO had aborted the filesystem and the lifecycle lane umounted it). Decision: <b>kernel bug</b>, 5.11 and mainline.
 * <ol>
 *   <li>A delayed-meta work (btrfs_async_run_delayed_root, queued by btrfs_balance_delayed_items once enough delayed
 *       items wait) joins the running transaction and is preempted before it writes its node.</li>
 *   <li>Another task's error aborts the transaction (a commit's EIO in the explorer): BTRFS_FS_STATE_ERROR, forced
 *       read-only.</li>
 *   <li>umount: close_ctree flushes delayed_workers only inside {@code if (!sb_rdonly(sb))}, before btrfs_commit_super;
 *       an aborted filesystem is read-only, so btrfs_error_commit_super runs with the work still holding its handle;
 *       btrfs_cleanup_transaction waits for the running transaction's writers.</li>
 *   <li>The work ends its handle: __btrfs_end_transaction drops num_writers and wakes writer_wait, then — the
 *       transaction aborted, the filesystem in error — calls wake_up_process(fs_info->transaction_kthread).</li>
 *   <li>Between the two, close_ctree's cleanup goes on and kthread_stop(transaction_kthread) frees the task: the
 *       work's wake-up is a use-after-free — the danger close_ctree's own comment names for the cleaner at its
 *       kthread_park (kthread_stop frees the task_struct, and the transaction kthread might still wake the cleaner).</li>
 * </ol>
 * Read: disk-io.c close_ctree, btrfs_error_commit_super; transaction.c btrfs_cleanup_transaction,
 * __btrfs_end_transaction; delayed-inode.c btrfs_async_run_delayed_root, btrfs_balance_delayed_items (v5.11); mainline's
 * close_ctree (the flush still in the read-write branch, 2026's shutdown patch) and __btrfs_end_transaction (the wake on
 * BTRFS_FS_ERROR). The fix: flush delayed_workers before btrfs_error_commit_super as well. The hooks: the work held after
 * its join ({@link Hook#DELAYED_WORKER_AFTER_JOIN}, new) and between its writers' drop and its wake-up
 * ({@link Hook#TRANS_END_BEFORE_KTHREAD_WAKE}).
 */
class DelayedWorkersAtErrorUmountTest {

    /** A delayed-meta work holding a joined handle of the running transaction, which another task's error aborts. */
    private static void aWorkHoldingAHandleOfTheAbortedTransaction(Repro r, Btrfs fs) {
        DelayedInodes delayed = fs.fsInfo().delayedInodes;
        r.mod.hooks().parkAt(Hook.DELAYED_WORKER_AFTER_JOIN, Role.WORKER);
        for (int i = 0; delayed.items() < DelayedInodes.BACKGROUND; i++) {
            fs.createFile("f" + i);
        }
        r.mod.hooks().awaitParked(Hook.DELAYED_WORKER_AFTER_JOIN, Repro.WAIT);
        FsInfo fsi = fs.fsInfo();
        // what a failed tree block write or a failed delayed ref run does: btrfs_abort_transaction
        Transactions.abort(fsi, fsi.runningTransaction(), new BtrfsException(Errno.EIO, "an error of another task"));
        Waits.within(Repro.WAIT).until(fs::isReadOnly);
        // the work's end will stop between its writers' drop and its wake-up of the transaction kthread
        r.mod.hooks().parkAt(Hook.TRANS_END_BEFORE_KTHREAD_WAKE, Role.WORKER);
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheWorksEndWakesTheStoppedTransactionKthread(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DELAYED_WORKERS_AT_ERROR_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            aWorkHoldingAHandleOfTheAbortedTransaction(r, fs);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Repro.awaitBlockedOn(fs, "umount", "btrfs_cleanup_transaction: wait for writers");
            r.mod.hooks().release(Hook.DELAYED_WORKER_AFTER_JOIN);
            r.mod.hooks().awaitParked(Hook.TRANS_END_BEFORE_KTHREAD_WAKE, Repro.WAIT);
            // the cleanup saw no writer left; close_ctree stopped the kthreads and waits in btrfs_stop_all_workers'
            // destroy of delayed_workers for the work (the kernel's drain does too)
            Waits.within().until(() -> Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "destroy"));
            r.mod.hooks().release(Hook.TRANS_END_BEFORE_KTHREAD_WAKE);
            Waits.within(Repro.WAIT).until(() -> r.logged("BUG: KASAN: use-after-free in wake_up_process"));
            assertTrue(r.mod.log().contains("task_struct of btrfs-transaction"), r.mod.log().dmesg());
            umount.join(); // the work died in its oops; the drain counts it done
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheUmountWaitsForTheWorkFirst(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            aWorkHoldingAHandleOfTheAbortedTransaction(r, fs);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within().until(() -> Blocked.onStack(umount.thread(), "BtrfsWorkqueue", "flush"));
            r.mod.hooks().release(Hook.DELAYED_WORKER_AFTER_JOIN);
            r.mod.hooks().awaitParked(Hook.TRANS_END_BEFORE_KTHREAD_WAKE, Repro.WAIT);
            umount.assertRunning(); // still in the flush: the transaction kthread lives
            r.mod.hooks().release(Hook.TRANS_END_BEFORE_KTHREAD_WAKE);
            umount.join();
            assertFalse(r.logged("use-after-free"), r.mod.log().dmesg());
            assertEquals(0, r.mod.unload().remaining("btrfs_trans_handle"));
        }
    }
}
