package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.Semaphore;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * Delayed iputs (inode.c) at the cleaner module's level: btrfs_add_delayed_iput queues only a last
 * reference and wakes the cleaner only when it is not running; btrfs_run_delayed_iputs pops and iputs
 * each entry (an unlinked inode is evicted in a joined transaction it does not commit);
 * btrfs_wait_on_delayed_iputs waits until the running ones are done.
 */
class DelayedIputsTest {

    /**
     * A stand-in for the cleaner kthread that sleeps in TASK_INTERRUPTIBLE and, once woken, stays RUNNING
     * until the test lets it sleep again ({@code mayResleep}). So "woken" and "not woken" are both decisive
     * the moment the waker returns: only a wake_up_process takes it out of TASK_INTERRUPTIBLE, and only the
     * test puts it back.
     */
    private static Kthread standIn(CleanerFs f, Semaphore mayResleep) {
        Kthread k = f.t.kernel.kthreadd().run("btrfs-cleaner", self -> {
            while (true) {
                self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    self.setCurrentState(Kthread.TaskState.RUNNING);
                    return 0;
                }
                self.schedule();
                while (!self.shouldStop() && !mayResleep.tryAcquire()) {
                    Thread.onSpinWait();
                }
            }
        });
        f.fs.setCleanerKthread(k);
        Waits.within().until(k::isSleeping);
        return k;
    }

    @Test
    void addWakesTheCleanerOnlyWhenItIsNotRunning() {
        try (CleanerFs f = new CleanerFs().open()) {
            Semaphore mayResleep = new Semaphore(0);
            Kthread cleaner = standIn(f, mayResleep);

            // CLEANER_RUNNING clear: queued, and the sleeping cleaner is woken
            Inode a = f.inode(1000, 1);
            f.c.delayedIputs().add(a);
            assertFalse(cleaner.isSleeping(), "woken by btrfs_add_delayed_iput");
            mayResleep.release();
            Waits.within().until(cleaner::isSleeping);

            // CLEANER_RUNNING set (a pass in progress is expected to come back for it): queued, not woken
            f.fs.flags.set(FsFlag.CLEANER_RUNNING);
            Inode b = f.inode(1001, 1);
            f.c.delayedIputs().add(b);
            assertTrue(cleaner.isSleeping(), "not woken: the cleaner is marked running");
            f.fs.flags.clear(FsFlag.CLEANER_RUNNING);

            // not the last reference: just dropped, nothing queued, nobody woken
            Inode c = f.inode(1002, 1);
            assertEquals(c, f.c.inodes().iget(f.fs.fsRoot(), 1002)); // a second reference
            f.c.delayedIputs().add(c);
            assertTrue(cleaner.isSleeping());
            assertEquals(List.of(a, b), f.c.delayedIputs().pending());
            assertEquals(1, c.count.get(), "one reference dropped");
        }
    }

    @Test
    void runIputsEachEntryAndEvictsAnUnlinkedInodeInATransactionItDoesNotCommit() {
        try (CleanerFs f = new CleanerFs()) {
            long gen = f.t.onDiskGeneration();
            Inode unlinked = f.inode(1000, 0);
            Inode linked = f.inode(1001, 1);
            long committed = f.t.onDiskGeneration();
            f.c.delayedIputs().add(unlinked); // no cleaner kthread: nothing to wake
            f.c.delayedIputs().add(linked);
            f.hooks().arm(Hook.CLEANER_BEFORE_DELAYED_IPUT, org.jbtrfs.core.HookAction.count(), -1);

            f.c.delayedIputs().run();

            assertTrue(f.c.delayedIputs().isEmpty());
            assertEquals(2, f.hooks().arrivals(Hook.CLEANER_BEFORE_DELAYED_IPUT), "one iput per entry");
            assertNull(Trees.lookup(f.fs, f.fs.fsRoot(), CleanerFs.inodeKey(1000)), "evicted: inode item deleted");
            assertFalse(f.hasOrphanItem(f.fs.fsRoot(), 1000), "and its orphan item");
            assertNotNull(Trees.lookup(f.fs, f.fs.fsRoot(), CleanerFs.inodeKey(1001)), "a linked inode is only released");
            assertNull(f.c.inodes().cached(f.fs.fsRoot(), 1000));
            assertNull(f.c.inodes().cached(f.fs.fsRoot(), 1001));
            // btrfs_evict_inode joins twice (stop 35): the truncate's handle, then btrfs_orphan_del's
            assertEquals(List.of("btrfs_evict_inode", "btrfs_evict_inode"), f.openTransactionFunctions(), "joined and ended, not committed");
            assertTrue(committed > gen);
            assertEquals(committed, f.t.onDiskGeneration());
        }
    }

    /** btrfs_wait_on_delayed_iputs: until nr_delayed_iputs is 0, which the last iput of a run makes it. */
    @Test
    void waitOnDelayedIputsWaitsForTheRunningIputs() throws Exception {
        try (CleanerFs f = new CleanerFs()) {
            f.c.delayedIputs().add(f.inode(1000, 1));
            f.hooks().parkAt(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            TestThread<Void> runner = TestThread.run("btrfs-cleaner", f.c.delayedIputs()::run);
            f.hooks().awaitParked(Hook.CLEANER_BEFORE_DELAYED_IPUT, java.time.Duration.ofSeconds(10));
            assertTrue(f.c.delayedIputs().isEmpty(), "popped, not yet iput");

            TestThread<Void> waiter = TestThread.run("btrfs-waiter", f.c.delayedIputs()::waitOnDelayedIputs)
                .describedBy(n -> f.t.kernel.sched().blocked().get(n))
                .awaitBlockedOn("btrfs_wait_on_delayed_iputs");

            f.hooks().release(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            runner.join();
            waiter.join();
            assertNull(f.t.kernel.sched().blocked().get("btrfs-waiter"));
        }
    }
}
