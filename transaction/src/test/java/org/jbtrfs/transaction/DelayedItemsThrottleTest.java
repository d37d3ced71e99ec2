package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * btrfs_balance_delayed_items' throttle (fs/btrfs/delayed-inode.c, 5.11): from {@value DelayedInodes#WRITEBACK}
 * queued items the caller queues a work writing up to WRITEBACK nodes and waits — interruptibly, on
 * delayed_root->wait — until {@value DelayedInodes#BATCH} items were written or fewer than
 * {@value DelayedInodes#BACKGROUND} are left (could_end_wait). The items are queued straight into the delayed root
 * here, so no operation's own balance runs before the one the test calls.
 */
class DelayedItemsThrottleTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void fromWritebackItemsTheCallerWaitsForTheWorkItQueued() {
        try (TestFs t = new TestFs()) {
            FsInfo fs = t.open();
            DelayedInodes delayed = fs.delayedInodes;
            long dir = ItemType.FIRST_FREE_OBJECTID;
            int n = DelayedInodes.WRITEBACK + 88;
            for (int i = 0; i < n; i++) {
                delayed.insertDirIndex(fs.fsRoot(), dir, 1000 + i, new byte[] {(byte) i});
            }
            assertEquals(n, delayed.items());
            t.kernel.hooks().parkAt(Hook.DELAYED_WORKER_BEFORE_JOIN, Role.WORKER);
            TestThread<Void> balance = TestThread.run("untar", delayed::balance)
                .describedBy(name -> t.kernel.sched().blocked().get(name));
            t.kernel.hooks().awaitParked(Hook.DELAYED_WORKER_BEFORE_JOIN, WAIT); // the work it queued took the node
            balance.awaitBlockedOn("btrfs_balance_delayed_items");
            assertEquals(n, delayed.items(), "nothing written yet");
            t.kernel.hooks().release(Hook.DELAYED_WORKER_BEFORE_JOIN);
            balance.join(); // BATCH items written: could_end_wait
            fs.workqueues().delayedWorkers.flush();
            assertEquals(0, delayed.items(), "the one node, written whole by the work");
            assertNotNull(Trees.lookup(fs, fs.fsRoot(), new Key(dir, ItemType.DIR_INDEX, 1000 + n - 1)));
            TransHandle h = Transactions.join(fs, fs.fsRoot(), "test");
            Transactions.commit(h);
            assertTrue(fs.transList().isEmpty());
            t.closeClean(fs);
        }
    }
}
