package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.DelayedInodes;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kernel bug found while porting the delayed inodes (stop 27): a work of the delayed-meta workqueue leaks a
 * transaction through an RO remount — the leak of patches 1–3/5 through a fourth background task.
 *
 * <p>Decision: <b>kernel bug</b>, kept bug-for-bug; proposed fix {@link FixSwitch#DELAYED_WORKERS_RO_REMOUNT}. Read
 * (v5.11, v5.12, mainline): fs/btrfs/delayed-inode.c btrfs_balance_delayed_items (from btrfs_btree_balance_dirty at
 * the end of create, unlink, rmdir, evict: from BTRFS_DELAYED_BACKGROUND items it queues
 * btrfs_async_run_delayed_root on fs_info->delayed_workers) and btrfs_async_run_delayed_root (tests the count, takes
 * btrfs_first_prepared_delayed_node, then btrfs_join_transaction — no read-only test; __btrfs_commit_inode_delayed_items
 * with nothing left writes nothing, btrfs_end_transaction); fs/btrfs/transaction.c btrfs_commit_transaction (runs the
 * delayed items itself, so the node the work holds is written by the commit) and join_transaction (a join while a
 * commit is past COMMIT_DOING waits, then creates the next transaction); fs/btrfs/super.c btrfs_remount (5.11) and
 * btrfs_remount_ro (mainline) — sync_filesystem, set RO, the waits for the cleaner and the rescan,
 * btrfs_commit_super: nothing waits for the delayed-meta works; fs/btrfs/disk-io.c close_ctree — flushes
 * delayed_workers before its btrfs_commit_super ("There might be existing delayed inode workers still running and
 * holding an empty delayed inode item. We must wait for them to complete first because they can create a
 * transaction.") but only on a read-write filesystem, and commits nothing on a read-only one: patch 4/5's assertion.
 * The work's window — from taking the node to its join — holds nothing the remount waits for; what widens it is the
 * handle's GFP_NOFS allocation in start_transaction (reclaim) or a preempted kworker.
 *
 * <ol>
 *   <li>{@value DelayedInodes#BACKGROUND} creates queue as many delayed items (their DIR_INDEX items and the
 *       directory's inode item); the last create's btrfs_btree_balance_dirty queues a delayed-meta work;</li>
 *   <li>the work takes the directory's node and is held before btrfs_join_transaction
 *       ({@link Hook#DELAYED_WORKER_BEFORE_JOIN});</li>
 *   <li>mount -o remount,ro: sync_filesystem's commit writes the node's items; RO; btrfs_commit_super. Applied: the
 *       remount flushes the delayed-meta workqueue before btrfs_commit_super and waits for the work;</li>
 *   <li>the work goes on. Reverted: its join creates a transaction on the read-only filesystem, which it ends
 *       without writing anything; the umount commits nothing and trips patch 4/5's assertion. Applied: it joins the
 *       running transaction, which the remount's btrfs_commit_super then commits.</li>
 * </ol>
 */
class DelayedWorkersRoRemountTest {

    @ParameterizedTest(name = "proposed fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aDelayedMetaWorkJoiningAfterAnRoRemountsCommit(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.DELAYED_WORKERS_RO_REMOUNT};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs fs = r.mountSettled("");
            DelayedInodes delayed = fs.fsInfo().delayedInodes;
            r.mod.hooks().parkAt(Hook.DELAYED_WORKER_BEFORE_JOIN, Role.WORKER);
            // 1.
            for (int i = 0; delayed.items() < DelayedInodes.BACKGROUND; i++) {
                fs.createFile("f" + i);
            }
            // 2.
            r.mod.hooks().awaitParked(Hook.DELAYED_WORKER_BEFORE_JOIN, Repro.WAIT);
            long generation;
            if (applied) {
                // 3. the remount waits in its flush for the held work
                TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"));
                Waits.within().until(() -> Blocked.onStack(remount.thread(), "BtrfsWorkqueue", "flush"));
                assertTrue(fs.inspect().sbRdonly(), "RO is set before the flush");
                r.mod.hooks().release(Hook.DELAYED_WORKER_BEFORE_JOIN); // 4.
                remount.join();
                generation = fs.inspect().generation();
                assertTrue(fs.inspect().openTransactions().isEmpty(), "the work's join was committed by the remount");
                assertEquals(List.of(), fs.inspect().committedReadOnly());
            } else {
                fs.remount("ro"); // 3. nothing waits for the work
                assertEquals(0, delayed.items(), "the remount's commits wrote the node the work holds");
                generation = fs.inspect().generation();
                r.mod.hooks().parkAt(Hook.TRANSACTION_CREATED, Role.WORKER);
                r.mod.hooks().release(Hook.DELAYED_WORKER_BEFORE_JOIN); // 4.
                r.mod.hooks().awaitParked(Hook.TRANSACTION_CREATED, Repro.WAIT);
                r.mod.hooks().release(Hook.TRANSACTION_CREATED);
                fs.fsInfo().workqueues().delayedWorkers.flush();
                Inspection in = fs.inspect();
                assertTrue(in.sbRdonly());
                assertEquals(1, in.openTransactions().size(), "a transaction on the read-only filesystem");
                assertEquals(List.of("btrfs_async_run_delayed_root"), in.openTransactions().get(0).functions());
            }
            assertEquals(generation, fs.inspect().generation(), "nothing more written to the read-only filesystem");
            assertEquals(0, delayed.items());
            if (applied) {
                fs.umount();
                UnloadReport rep = r.mod.unload();
                assertTrue(rep.clean(), rep.toString());
                assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            } else {
                assertThrows(KernelBug.class, fs::umount);
                assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"), r.mod.log().dmesg());
            }
        }
    }
}
