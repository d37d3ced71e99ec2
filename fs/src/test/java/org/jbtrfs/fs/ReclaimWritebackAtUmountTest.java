package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link FixSwitch#RECLAIM_WRITEBACK_AT_UMOUNT} (proposed, not upstream), both directions, both crc32c modes, with and
 * without compression: a reclaim work's delalloc round that writes an inode during close_ctree — the writeback it starts
 * outlives every wait of the umount.
 *
 * <p>Found by the explorer with every fix applied (stop 62, {@code --faults all --swarm 1 --filesystems 4}, slab debug,
 * seed 62005, 200 s: one cycle of 18,650, class {@code 7edc12d9 assert:list_empty(&fs_info->delayed_iputs)@lifecycle},
 * token {@code 62005:638}, replay 0/20): a read-write filesystem mounted {@code compress, autodefrag}, umounted by the
 * lifecycle lane right after a file lane's write had waited 209 ms on a reservation the reclaim works served; no fault,
 * no abort; inode 265's delayed iput queued after btrfs_commit_super's run. Its record could not name the queuer then.
 *
 * <p><b>Kernel or port: kernel (5.11, 5.12 and mainline as of the June 2025 close_ctree fix), a proposed fix.</b> Read:
 * fs/super.c generic_shutdown_super (sync_filesystem, then SB_ACTIVE cleared, then evict_inodes — which skips an inode
 * someone holds — then put_super); ioctl.c btrfs_defrag_file (tests SB_ACTIVE before each cluster, so the cleaner's
 * autodefrag pass re-dirties a cluster the sync has already passed) and file.c btrfs_run_defrag_inodes (stops once
 * closing: close_ctree's first step, after all that); space-info.c shrink_delalloc (FLUSH_DELALLOC: after
 * btrfs_start_delalloc_roots a schedule_timeout of one jiffy, no wait for the writeback; FLUSH_DELALLOC_WAIT: at most
 * {@code items} ordered extents, to BTRFS_ORDERED_COMPLETE); inode.c start_delalloc_inodes (in reclaim context: igrab,
 * sync_inode WB_SYNC_NONE, btrfs_add_delayed_iput); ordered-data.c btrfs_put_ordered_extent (the last put is a
 * btrfs_add_delayed_iput); disk-io.c close_ctree (5.11: the cancels, then btrfs_commit_super — whose
 * btrfs_run_delayed_iputs is the last — then kthread_stop and the assertion; mainline: the flush block and its run
 * before the cancels, the run the June 2025 fix added after them, then btrfs_commit_super). Nothing between the cancels
 * and the assertion waits for ordered extents or bios: a round that held an inode through evict_inodes and wrote it
 * during close_ctree ends its writeback whenever its bio does. Mainline's comment at the flush block says no one can
 * create ordered extents after it; a reclaim round the cancels have not waited for yet can. The port's window is the
 * same; the hooks hold the round between taking the pages and adding their ordered extent
 * ({@link Hook#DATA_WRITEBACK_BEFORE_ORDERED_EXTENT}, a kworker) and the bio before its checksum
 * ({@link Hook#DATA_BIO_BEFORE_CSUM}). The setup: the umount held in sync_filesystem's commit, the cleaner's
 * autodefrag pass (held at its cluster since before the umount) re-dirties f, 5.12's preemptive work is queued by
 * reservations standing for other tasks' (5.11's async work would be queued by a ticket; its round is the same).
 */
class ReclaimWritebackAtUmountTest {
    private static final long ITEM = 256L << 10;

    /**
     * The umount held in sync_filesystem's commit (after its writeback and its ordered wait, SB_ACTIVE still set); the
     * cleaner's autodefrag pass, held at its cluster since before the umount, re-dirties f then; the preemptive reclaim
     * work's FLUSH_DELALLOC round takes f's pages and is held before it adds their ordered extent. Returns the umount,
     * now let go and waiting in close_ctree's cancel_work_sync for the round; f's inode number in {@code ino[0]}.
     */
    private static TestThread<Void> aRoundHoldingFAcrossTheFlushBlock(Repro r, Btrfs fs, long[] ino) {
        TestThread<Void> umount = aPreemptiveRoundHeldAt(r, fs, () -> {
            AutoDefragTest.fourSmallWrites(fs);
            try (FileHandle h = fs.open("f")) {
                ino[0] = h.ino();
            }
        }, Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT); // f's pages taken, igrab held
        assertEquals(List.of(), fs.inspect().delayedIputs());
        return umount;
    }

    /**
     * The scaffold of the reclaim rounds at umount (this test's, {@link AddInodeDefragClosingRaceTest}'s): {@code writes}
     * make f with the cleaner held; the umount held in sync_filesystem's commit (after its writeback and its ordered wait,
     * SB_ACTIVE still set); the cleaner's autodefrag pass, held at its cluster since before the umount, re-dirties f
     * then; reservations standing for other tasks' queue 5.12's preemptive reclaim work, whose FLUSH_DELALLOC round
     * writes f and is held at {@code roundHook} (a kworker); then the umount let go, into close_ctree until it waits in
     * cancel_delayed_work_sync for the round. Returns the umount.
     */
    static TestThread<Void> aPreemptiveRoundHeldAt(Repro r, Btrfs fs, Runnable writes, Hook roundHook) {
        FsInfo info = fs.fsInfo();
        assertTrue(info.preemptReclaim() != null, "5.12's code paths");
        AutoDefragTest.withCleanerHeld(r, fs, () -> {
            writes.run();
            return null;
        });
        r.mod.hooks().parkAt(Hook.DEFRAG_BEFORE_CLUSTER, Role.CLEANER);
        r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
        r.mod.hooks().awaitParked(Hook.DEFRAG_BEFORE_CLUSTER, Repro.WAIT); // SB_ACTIVE was tested: the cluster follows
        fs.createFile("g"); // a running transaction: sync_filesystem's btrfs_sync_fs commits it
        r.mod.hooks().parkAt(Hook.COMMIT_AFTER_COMPLETED, Role.USER);
        TestThread<Void> umount = TestThread.run("umount", fs::umount);
        r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_COMPLETED, Repro.WAIT);
        r.mod.hooks().release(Hook.DEFRAG_BEFORE_CLUSTER); // f re-dirtied after the sync wrote everything
        Repro.awaitCleanerAsleep(fs);
        r.mod.hooks().parkAt(roundHook, Role.WORKER);
        long held = 0;
        while (!info.preemptReclaim().busy()) {
            assertTrue(info.space.reservations.room(Flush.NO_FLUSH) > ITEM, "the preemptive work is queued before the space is full");
            info.space.reservations.reserve(ITEM, Flush.NO_FLUSH); // another task's delalloc reservation
            held += ITEM;
        }
        r.mod.hooks().awaitParked(roundHook, Repro.WAIT);
        info.space.rsvs.releaseExcess(held);
        r.mod.hooks().release(Hook.COMMIT_AFTER_COMPLETED);
        Repro.awaitBlockedOn(fs, "umount", "cancel_delayed_work_sync(preempt_reclaim_work)");
        return umount;
    }

    /**
     * The round let go with its bio held before its checksum, the umount held at {@code umountHook} — past the run it
     * would have needed — then the bio let go: the ordered extent's final put queues f's iput, its last reference.
     */
    private static void theRoundsBioEndsWithTheUmountHeldAt(Repro r, Btrfs fs, long ino, Hook umountHook) {
        r.mod.hooks().parkAt(Hook.DATA_BIO_BEFORE_CSUM, Role.WORKER);
        r.mod.hooks().parkAt(umountHook);
        r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
        r.mod.hooks().awaitParked(Hook.DATA_BIO_BEFORE_CSUM, Repro.WAIT); // the round's bio, not yet ended
        r.mod.hooks().awaitParked(umountHook, Repro.WAIT);
        assertEquals(List.of(), fs.inspect().delayedIputs());
        r.mod.hooks().release(Hook.DATA_BIO_BEFORE_CSUM);
        Waits.within(Repro.WAIT).until(() -> fs.inspect().delayedIputs().equals(List.of(ino)));
    }

    /** Both crc32c modes, with and without compression (a compressed round's pages go through async chunks first). */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> modes() {
        return java.util.stream.Stream.of(Crc32cImpl.values()).flatMap(crc -> java.util.stream.Stream.of("autodefrag",
            "compress,autodefrag").map(opts -> org.junit.jupiter.params.provider.Arguments.of(crc, opts)));
    }

    @ParameterizedTest(name = "crc32c {0}, -o {1}")
    @MethodSource("modes")
    void revertedTheRoundsBioEndsAfterCommitSupersRun(Crc32cImpl crc, String opts) {
        try (Repro r = new Repro(crc, FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled(opts);
            long[] ino = new long[1];
            TestThread<Void> umount = aRoundHoldingFAcrossTheFlushBlock(r, fs, ino);
            theRoundsBioEndsWithTheUmountHeldAt(r, fs, ino[0], Hook.UMOUNT_BEFORE_STOP_KTHREADS); // after commit_super's run
            r.releaseIntoTheDelayedIputsAssertion(umount);
            assertTrue(r.mod.log().entries().stream().anyMatch(e -> e.message().startsWith("close_ctree: delayed iputs at the assertion")
                && e.message().contains("OrderedExtent")), r.mod.log().dmesg());
        }
    }

    /**
     * Reverted, the bio ends later still — after close_ctree stopped the kthreads and passed the delayed-iputs assertion:
     * the ordered extent's btrfs_add_delayed_iput wakes the cleaner kthread_stop has freed (the use-after-free of
     * a362bb864b8d's kind), and its btrfs_finish_ordered_io joined a transaction nothing commits any more — patch 4/5's
     * assertion, the seed's leak by a path the seed never saw (without assertions, the leaked transaction's dirty leaves
     * go to the btree inode's final iput, the seed's use-after-free without a fast crc32c).
     */
    @ParameterizedTest(name = "crc32c {0}, -o {1}")
    @MethodSource("modes")
    void revertedABioEndingAfterTheKthreadsStoppedWakesTheFreedCleaner(Crc32cImpl crc, String opts) {
        try (Repro r = new Repro(crc, FixSwitch.RECLAIM_WRITEBACK_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled(opts);
            long[] ino = new long[1];
            TestThread<Void> umount = aRoundHoldingFAcrossTheFlushBlock(r, fs, ino);
            theRoundsBioEndsWithTheUmountHeldAt(r, fs, ino[0], Hook.UMOUNT_BEFORE_STOP_WORKERS); // the kthreads stopped
            fs.fsInfo().workqueues().endioWriteWorkers.flush(); // the put that queued it is done, and its wake-up
            assertTrue(r.logged("use-after-free in wake_up_process"), r.mod.log().dmesg());
            r.mod.hooks().release(Hook.UMOUNT_BEFORE_STOP_WORKERS);
            KernelBug bug = assertThrows(KernelBug.class, umount::join);
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
            assertTrue(r.mod.log().entries().stream().anyMatch(e -> e.message().startsWith("close_ctree: trans_list at the assertion")
                && e.message().contains("btrfs_finish_ordered_io")), r.mod.log().dmesg());
            assertEquals(1, r.mod.unload().remaining("btrfs_inode"));
        }
    }

    @ParameterizedTest(name = "crc32c {0}, -o {1}")
    @MethodSource("modes")
    void appliedClose_ctreeWaitsForTheRoundsWritebackBeforeItsLastRun(Crc32cImpl crc, String opts) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled(opts);
            long[] ino = new long[1];
            TestThread<Void> umount = aRoundHoldingFAcrossTheFlushBlock(r, fs, ino);
            r.mod.hooks().parkAt(Hook.DATA_BIO_BEFORE_CSUM, Role.WORKER);
            r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
            r.mod.hooks().awaitParked(Hook.DATA_BIO_BEFORE_CSUM, Repro.WAIT);
            // past the cancels, close_ctree waits for the round's ordered extent
            Waits.within(Repro.WAIT).until(() -> Blocked.onStack(umount.thread(), "OrderedExtents", "waitOrderedRoots"));
            r.mod.hooks().release(Hook.DATA_BIO_BEFORE_CSUM);
            r.joinIntoACleanUnload(umount, "inode " + ino[0]);
        }
    }
}
