package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK} (proposed, stop 55), both directions, both crc32c modes.
 *
 * <p>Kernel or port: kernel. Read (v5.11): space-info.c flush_space (RUN_DELAYED_IPUTS: btrfs_run_delayed_iputs, then
 * btrfs_wait_on_delayed_iputs), btrfs_async_reclaim_metadata_space; inode.c btrfs_add_delayed_iput (wakes the cleaner
 * only if BTRFS_FS_CLEANER_RUNNING is clear), btrfs_run_delayed_iputs, btrfs_wait_on_delayed_iputs (a killable wait for
 * nr_delayed_iputs == 0; a kworker is never killed); ordered-data.c btrfs_put_ordered_extent (the last put queues the
 * delayed iput); disk-io.c cleaner_kthread (CLEANER_RUNNING over the whole pass, btrfs_delete_unused_bgs in it);
 * block-group.c btrfs_delete_unused_bgs → btrfs_start_trans_remove_block_group (FLUSH_ALL_STEAL); transaction.c
 * btrfs_commit_transaction (runs no delayed iputs), __btrfs_end_transaction (only a throttled end runs them). Mainline's
 * btrfs_add_delayed_iput, btrfs_wait_on_delayed_iputs and flush_space keep the same shape (read in outline). The umount
 * variant is a362bb864b8d's ({@link ReclaimDelayedIputsAtUmountTest}); its fix flushes at close_ctree only.
 *
 * <p>The filesystem: metadata full, one unused block group, a closed file written back by a sync whose ordered extent's
 * finisher is held after the removal (its last put still to come), then unlinked — the ordered extent holds the inode's
 * last reference, as for any temporary file written and removed. The cleaner's pass reserves to remove the group: a
 * steal ticket and the work. The work's first round reaches RUN_DELAYED_IPUTS (nothing queued), and before its wait the
 * finisher's last put queues the file's delayed iput — the cleaner, in its pass, is not woken. Reverted: the work waits
 * for the iput, the cleaner for the work. Applied: the work's wait runs the iput itself, goes on to its steal, and the
 * cleaner removes the group.
 */
class ReclaimDelayedIputsCleanerDeadlockTest {

    /** Everything up to the iput queued while the work is held before its wait; returns the file's inode number. */
    private static long iputQueuedBeforeTheWorksWait(Repro r, Btrfs fs, long[] held) {
        FsInfo info = fs.fsInfo();
        long ino = OrderedExtentPutAtUmountTest.dirtyClosedFile(fs);
        r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        fs.sync(); // writes "f"; the finisher stops after removing its ordered extent, its last put not made
        r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT);
        fs.unlink("f"); // a temporary file: the ordered extent now holds the inode's last reference
        held[0] = AsyncReclaimCancelStrandsTicketsTest.cleanerAtItsRemovalWithTheMetadataHeld(r, fs);
        r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Role.WORKER);
        r.mod.hooks().release(Hook.CLEANER_BEFORE_REMOVE_BG_TRANS); // its steal ticket queues the work
        r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Repro.WAIT);
        assertEquals(1, info.space.reservations.ticketsWaiting());
        r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
        info.workqueues().endioWriteWorkers.flush(); // the finisher's last put: btrfs_add_delayed_iput
        assertEquals(List.of(ino), fs.inspect().delayedIputs());
        assertTrue(info.flags.test(FsFlag.CLEANER_RUNNING), "the cleaner is in its pass: the add did not wake it");
        r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
        return ino;
    }

    /** The circle, as the kernel's scheduler would show it: a kworker in the iputs' wait, the cleaner on its ticket. */
    static void awaitTheCircle(Btrfs fs) {
        Waits.within(Repro.WAIT).until(() -> fs.inspect().blockedOn().values().contains("btrfs_wait_on_delayed_iputs"));
        Waits.within(Repro.WAIT).until(() -> fs.inspect().blockedOn().entrySet().stream()
            .anyMatch(e -> e.getKey().contains("cleaner") && e.getValue().equals("wait_reserve_ticket")));
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheWorkWaitsForTheCleanerAndTheCleanerForTheWork(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK)) {
            Btrfs fs = ReclaimDelayedIputsAtUmountTest.fullDeviceWithRoomForOneBlock(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            long ino = iputQueuedBeforeTheWorksWait(r, fs, held);
            awaitTheCircle(fs);
            assertEquals(List.of(ino), fs.inspect().delayedIputs(), "nobody runs it");
            assertEquals(1, info.space.reservations.ticketsWaiting());
            // the hung-task watchdog's verdict ends it (nothing in the kernel would: no release, no throttled end)
            r.mod.kernel().panic("hung task: btrfs-cleaner blocked in 'wait_reserve_ticket'");
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheWorksWaitRunsTheIputAndTheCleanerGetsItsSteal(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = ReclaimDelayedIputsAtUmountTest.fullDeviceWithRoomForOneBlock(r);
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            iputQueuedBeforeTheWorksWait(r, fs, held);
            Waits.within(Repro.WAIT).until(() -> info.space.unusedCount() == 0 && !info.flags.test(FsFlag.CLEANER_RUNNING));
            assertTrue(fs.inspect().delayedIputs().isEmpty(), "the work ran it");
            assertEquals(0, info.space.reservations.ticketsWaiting());
            Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
            info.space.rsvs.release(info.space.rsvs.chunk, held[0]);
            fs.umount();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
