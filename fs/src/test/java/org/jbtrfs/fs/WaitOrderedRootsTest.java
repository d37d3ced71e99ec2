package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * btrfs_wait_ordered_roots as 5.11 has it (stop 62; before, the port waited in the caller, unserialised): under
 * fs_info->ordered_operations_mutex, root by root under root->ordered_extent_mutex, each ordered extent gets a
 * reference and a flush_workers work (btrfs_run_ordered_extent_work: btrfs_start_ordered_extent(ordered, 1), then
 * complete(&ordered->completion)); the caller waits for each completion and drops its reference. Read:
 * ordered-data.c btrfs_wait_ordered_roots, btrfs_wait_ordered_extents, btrfs_run_ordered_extent_work,
 * btrfs_start_ordered_extent, btrfs_add_ordered_extent (init_completion); super.c btrfs_sync_fs (v5.11).
 */
class WaitOrderedRootsTest {

    @Test
    void aSyncsWaitIsAFlushWorkAndASecondSyncQueuesOnTheMutex() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", new byte[20_000]);
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            TestThread<Void> first = TestThread.run("sync1", fs::sync);
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
            // btrfs_sync_fs waits for the flush work's completion; the work, in a kworker, for the extent
            first.awaitBlockedIn("OrderedExtent", "waitForCompletion");
            Waits.within(Repro.WAIT).until(() -> r.mod.kernel().sched().blocked().entrySet().stream()
                .anyMatch(e -> e.getKey().contains("kworker") && e.getValue().equals("wait_event(ordered extent COMPLETE)")));
            TestThread<Void> second = TestThread.run("sync2", fs::sync);
            Waits.within(Repro.WAIT).until(() -> fs.ctx().ordered.orderedOperationsMutex().waiters().contains("sync2"));
            assertFalse(first.done());
            r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            first.join();
            second.join();
            assertEquals(0, fs.ctx().ordered.pending());
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
