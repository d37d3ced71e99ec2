package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The title race of {@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT}'s upstream commit (a362bb864b8d, "btrfs: fix hang
 * during unmount when stopping a space reclaim worker", v6.0), reachable since the port has the async reclaim (stop 54).
 * The async reclaim work's RUN_DELAYED_IPUTS state runs the delayed iputs, then waits for nr_delayed_iputs to reach 0
 * (btrfs_wait_on_delayed_iputs); an ordered extent's last put queues one in between, after close_ctree parked the cleaner
 * — its wake-up reaches a parked kthread — and nobody runs it: the work waits for ever, and so does whatever waits for the
 * work (here close_ctree's own reservation, its ticket; in the commit's report the cancel_work_sync). Applied, close_ctree
 * first flushes the ordered extents' completions and runs their delayed iputs: none can come later.
 *
 * <p>Kernel or port: kernel (5.11 read: space-info.c flush_space RUN_DELAYED_IPUTS; inode.c btrfs_add_delayed_iput,
 * btrfs_wait_on_delayed_iputs; ordered-data.c btrfs_put_ordered_extent; disk-io.c close_ctree); upstream's fix is the
 * switch. The filesystem is {@link AsyncReclaimRequeuedAfterCancelTest}'s: full metadata, one unused block group, so that
 * close_ctree's btrfs_delete_unused_bgs queues a ticket and the work.
 */
class ReclaimDelayedIputsAtUmountTest {

    /**
     * The full filesystem, with data space freed in a group before the unused one (a filler unlinked): the umount's
     * writeback of the dirty file allocates there, and the unused group stays unused for close_ctree to delete.
     */
    static Btrfs fullDeviceWithRoomForOneBlock(Repro r) {
        Btrfs fs = AsyncReclaimRequeuedAfterCancelTest.fullDevice(r);
        fs.unlink("fill0");
        fs.sync();
        assertEquals(1, fs.fsInfo().space.unusedCount());
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheReclaimWaitsForADelayedIputNobodyRuns(Crc32cImpl crc) {
        // RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK (proposed, stop 55) has the work's wait run the iput itself: the hang
        // needs both reverted
        try (Repro r = new Repro(crc, FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT, FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK)) {
            Btrfs fs = fullDeviceWithRoomForOneBlock(r);
            FsInfo info = fs.fsInfo();
            long ino = OrderedExtentPutAtUmountTest.dirtyClosedFile(fs);
            AsyncReclaimRequeuedAfterCancelTest.holdMetadataAt(r, info, Hook.UMOUNT_AFTER_PARK_CLEANER);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Role.WORKER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT); // the umount's sync wrote "f"
            r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Repro.WAIT); // its iputs run
            r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            info.workqueues().endioWriteWorkers.flush(); // the finisher's last put: btrfs_add_delayed_iput
            assertEquals(List.of(ino), fs.inspect().delayedIputs());
            r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
            Repro.awaitBlockedOn(fs, "umount", "wait_reserve_ticket");
            Waits.within(Repro.WAIT).until(() -> fs.inspect().blockedOn().values().stream()
                .anyMatch(w -> w.startsWith("btrfs_wait_on_delayed_iputs")));
            assertEquals(List.of(ino), fs.inspect().delayedIputs(), "nobody ran it");
            r.mod.kernel().panic("hung task: umount blocked in 'wait_reserve_ticket'");
            assertInstanceOf(KernelPanic.class, umount.failure());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedCloseCtreeRunsTheDelayedIputBeforeTheReclaimCanWaitForIt(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = fullDeviceWithRoomForOneBlock(r);
            FsInfo info = fs.fsInfo();
            OrderedExtentPutAtUmountTest.dirtyClosedFile(fs);
            AtomicLong held = AsyncReclaimRequeuedAfterCancelTest.holdMetadataAt(r, info, Hook.UMOUNT_AFTER_PARK_CLEANER);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_AFTER_REMOVE);
            r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Role.WORKER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_AFTER_REMOVE, Repro.WAIT);
            // once close_ctree parked the cleaner (and held the metadata): released earlier, the finisher's delayed iput
            // would wake a cleaner pass that deletes the unused group itself
            Waits.within(Repro.WAIT).until(() -> held.get() > 0);
            r.mod.hooks().release(Hook.ORDERED_EXTENT_AFTER_REMOVE); // close_ctree's flush of endio_write_workers waits for it
            r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Repro.WAIT);
            assertTrue(fs.inspect().delayedIputs().isEmpty(), "close_ctree ran it before it cancelled the work");
            info.space.rsvs.release(info.space.rsvs.chunk, held.get()); // the ticket fits now
            r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
            umount.join();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
