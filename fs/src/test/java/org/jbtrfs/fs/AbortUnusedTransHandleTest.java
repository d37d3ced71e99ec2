package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FixSwitch#ABORT_UNUSED_TRANS_HANDLE} (later upstream: "btrfs: always abort the transaction if we abort a trans
 * handle", v5.14), both directions, both crc32c modes, on the path the explorer found it by: a subvolume's drop whose
 * root item deletion fails at its first COW (-ENOSPC, {@link Fault#ALLOC_TREE_BLOCK_ENOSPC}). The drop's walk freed
 * the subvolume's leaf through a delayed ref only — no tree change, so in 5.11 the handle is not dirty and
 * btrfs_drop_snapshot's btrfs_abort_transaction is "Aborting unused transaction": the transaction runs on with the
 * queued drop, the root goes back on dead_roots, and the cleaner's retry (woken by the transaction kthread, which does
 * not commit a young transaction) walks the same leaf in the same transaction: btrfs_lookup_extent_info counts the
 * queued drop, 0 references, walk_down_proc's BUG_ON — the cleaner dies. With the fix the first abort aborts the
 * transaction: read-only, the retry finds nothing to do, the cleaner lives and the umount completes.
 *
 * <p>Kernel or port: <b>kernel</b> (5.10–5.13; upstream since 5.14), found by the explorer with every fix applied
 * (stop 69, classes {@code 81abb7e5} and {@code ba7356d5}: a BUG at extent-tree.c:4888 in the cleaner after
 * "btrfs_drop_snapshot: Aborting unused transaction(No space left)", then close_ctree's kthread_park of the dead
 * cleaner). Kernel functions read (5.11): super.c {@code __btrfs_abort_transaction}; extent-tree.c
 * {@code btrfs_drop_snapshot}, {@code walk_down_proc}, {@code walk_up_proc}, {@code btrfs_free_tree_block},
 * {@code btrfs_lookup_extent_info}; transaction.c {@code transaction_kthread}, {@code btrfs_clean_one_deleted_snapshot};
 * the upstream patch's rationale ("sometimes we would still commit the transaction even though we had aborted").
 */
class AbortUnusedTransHandleTest {

    @ParameterizedTest(name = "fixed {0}, crc32c {1}")
    @CsvSource({"true, GENERIC", "true, ACCELERATED", "false, GENERIC", "false, ACCELERATED"})
    void aDropWhoseRootItemDeletionFailsAtItsFirstCowKillsTheCleanerOnlyWithoutTheFix(boolean fixed, Crc32cImpl crc) {
        try (Repro r = Repro.withFix(FixSwitch.ABORT_UNUSED_TRANS_HANDLE, fixed, crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv");
            // the drop and its retry, each held before its transaction
            r.mod.hooks().arm(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, HookAction.park(), 2);
            fs.deleteSubvolume("sv");
            fs.wakeCleaner();
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Repro.WAIT);
            fs.sync(); // the deletion's items on disk: the drop's transaction is a new one, its root item deletion COWs
            r.mod.faults().armOnce(Fault.ALLOC_TREE_BLOCK_ENOSPC);
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
            if (fixed) {
                r.mod.hooks().disarm(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
                Waits.within(Repro.WAIT).until(() -> r.logged("error (device sdc) in btrfs_drop_snapshot: errno=-28 ENOSPC"));
                assertTrue(fs.isReadOnly(), "forced readonly");
                fs.runCleanerPass(Repro.WAIT); // the root back on dead_roots: a read-only filesystem's cleaner skips it
                assertFalse(fs.fsInfo().cleanerKthread().hasExited(), "the cleaner lives");
                assertTrue(r.mod.log().count(LogEntry.Kind.BUG) == 0, r.mod.log().dmesg());
                TestThread.run("umount", fs::umount).join();
                r.mod.unload();
            } else {
                Waits.within(Repro.WAIT).until(() -> r.logged("btrfs_drop_snapshot: Aborting unused transaction(No space left)."));
                assertFalse(fs.isReadOnly(), "an unused handle's abort leaves the filesystem writable");
                // the retry: the root is back on dead_roots and the transaction runs on. The transaction kthread, woken by
                // the aborted handle's end, wakes the cleaner without committing a young transaction — a wake lost if the
                // cleaner was still in its pass. Either that wake started the retry (held at its drop), or the cleaner is
                // asleep and one explicit wake starts it; the cleaner cannot die before the hook, so no wake reaches a
                // dead task
                Waits.within(Repro.WAIT).until(() -> r.mod.hooks().isParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS)
                    || fs.ctx().cleaner.isAsleep());
                if (!r.mod.hooks().isParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS)) {
                    fs.wakeCleaner(); // false if the kthread's wake got there first: the retry runs either way
                }
                r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Repro.WAIT);
                r.mod.hooks().disarm(Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS);
                Waits.within(Repro.WAIT).until(() -> r.mod.log().contains("kernel BUG at fs/btrfs/extent-tree.c:4888"));
                Waits.within(Repro.WAIT).until(() -> fs.fsInfo().cleanerKthread().hasExited());
                r.mod.kernel().panic("test: the cleaner died in btrfs_drop_snapshot");
                r.mod.unload();
            }
        }
    }
}
