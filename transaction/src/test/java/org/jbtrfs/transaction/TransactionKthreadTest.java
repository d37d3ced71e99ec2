package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * transaction_kthread (5.11) on a {@link org.jbtrfs.core.ManualClock}: it commits the running
 * transaction once it is commit_interval old and not before, sleeps only the remaining time when it
 * looks earlier, wakes the cleaner on every loop, and stopping it never commits.
 *
 * <p>The cleaner is a stand-in kthread that counts its wake-ups; since the transaction kthread wakes
 * it at the end of every loop, that count also tells the test that a loop has run. "Asleep on the
 * clock with its deadline set" is {@code clock.sleepers() == 1} observed after that loop.
 */
class TransactionKthreadTest {
    private final TestFs t = new TestFs();
    private final AtomicInteger cleanerWakeups = new AtomicInteger();
    private FsInfo fs;
    private Kthread cleaner;

    @BeforeEach
    void mount() {
        fs = t.open();
        cleaner = t.kernel.kthreadd().run("btrfs-cleaner", self -> {
            while (true) {
                self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                if (self.shouldStop()) {
                    self.setCurrentState(Kthread.TaskState.RUNNING);
                    return 0;
                }
                self.schedule();
                if (!self.shouldStop()) {
                    cleanerWakeups.incrementAndGet();
                }
            }
        });
        fs.setCleanerKthread(cleaner);
        // a wake-up of a cleaner that is not asleep yet is lost (the kernel's wake_up_process): start from a sleeping one
        Waits.within().until(cleaner::isSleeping);
        t.kernel.hooks().arm(Hook.TRANS_KTHREAD_BEFORE_COMMIT, HookAction.count(), -1);
    }

    @AfterEach
    void unload() { t.close(); }

    @Test
    void commitsAfterThirtySecondsAndNotBefore() {
        Kthread k = startAndAwaitFirstSleep();
        assertEquals(FsInfo.DEFAULT_COMMIT_INTERVAL, fs.commitInterval());
        Transaction cur = openAndEnd();
        long gen = t.onDiskGeneration();

        // 29 s: the kthread's 30 s sleep has not run out; it re-checks its deadline and sleeps on: nothing commits
        advanceAndAwaitResleep(29);
        assertRunning(cur, gen);

        // past 30 s: it wakes, finds the transaction old enough, attaches and commits it
        t.clock.advance(2, TimeUnit.SECONDS);
        Waits.within().until(() -> fs.lastTransCommitted() == cur.transid);
        assertEquals(cur.transid, t.onDiskGeneration());
        assertEquals(List.of(), fs.transList());
        assertEquals(1, t.kernel.hooks().arrivals(Hook.TRANS_KTHREAD_BEFORE_COMMIT));
        assertTrue(cur.handles().stream().anyMatch(r -> r.function().equals("transaction_kthread")
            && r.type() == TransType.ATTACH && r.thread().equals("btrfs-transaction")), cur.handles().toString());
        Waits.within().until(() -> cleanerWakeups.get() >= 2); // the commit loop woke the cleaner too
        stopAndClose(k);
    }

    @Test
    void lookingEarlySleepsOnlyUntilTheTransactionIsOldEnough() {
        Kthread k = startAndAwaitFirstSleep();
        Transaction cur = openAndEnd();
        long gen = t.onDiskGeneration();

        // woken at 29 s (as remount's wake_up_process would): 5.11 computes the delay from the age,
        // commit_interval - (age - 1) = 2 s, and goes back to sleep without committing
        t.clock.advance(29, TimeUnit.SECONDS);
        int before = cleanerWakeups.get();
        k.wakeUpProcess();
        Waits.within().until(() -> cleanerWakeups.get() > before && settled());
        assertRunning(cur, gen);

        advanceAndAwaitResleep(1); // 30 s: its deadline is 31 s
        assertRunning(cur, gen);
        t.clock.advance(1, TimeUnit.SECONDS); // 31 s
        Waits.within().until(() -> fs.lastTransCommitted() == cur.transid);
        assertEquals(cur.transid, t.onDiskGeneration());
        stopAndClose(k);
    }

    @Test
    void commitIntervalMountOptionIsHonoured() {
        fs.setCommitInterval(5); // commit=5
        Kthread k = startAndAwaitFirstSleep();
        Transaction cur = openAndEnd();
        long gen = t.onDiskGeneration();

        t.clock.advance(4, TimeUnit.SECONDS);
        int before = cleanerWakeups.get();
        k.wakeUpProcess();
        Waits.within().until(() -> cleanerWakeups.get() > before && settled());
        assertRunning(cur, gen); // 4 s old, younger than commit=5

        t.clock.advance(2, TimeUnit.SECONDS); // 6 s, long before the default 30 s
        Waits.within().until(() -> fs.lastTransCommitted() == cur.transid);
        assertEquals(cur.transid, t.onDiskGeneration());
        stopAndClose(k);
    }

    @Test
    void wakesTheCleanerOnEveryLoop() {
        Kthread k = startAndAwaitFirstSleep();
        assertEquals(1, cleanerWakeups.get(), "the first loop (nothing running) woke the cleaner");
        for (int i = 2; i <= 5; i++) {
            int expected = i;
            k.wakeUpProcess();
            Waits.within().until(() -> cleanerWakeups.get() == expected && settled());
        }
        // and the 30 s timeout, with nothing to commit, is a loop like any other
        t.clock.advance(30, TimeUnit.SECONDS);
        Waits.within().until(() -> cleanerWakeups.get() == 6);
        assertEquals(0, t.kernel.hooks().arrivals(Hook.TRANS_KTHREAD_BEFORE_COMMIT));
        stopAndClose(k);
    }

    @Test
    void stoppingTheKthreadDoesNotCommit() {
        Kthread k = startAndAwaitFirstSleep();
        Transaction cur = openAndEnd();
        long gen = t.onDiskGeneration();
        t.clock.advance(29, TimeUnit.SECONDS);

        assertEquals(0, k.stop());
        assertTrue(k.hasExited());
        assertRunning(cur, gen);
        t.clock.advance(60, TimeUnit.SECONDS); // nobody is left to commit it (the kthread exited: nothing to wait for)
        assertRunning(cur, gen);
        assertEquals(0, t.kernel.hooks().arrivals(Hook.TRANS_KTHREAD_BEFORE_COMMIT));
        t.closeClean(fs); // close_ctree's commit_super commits it (and wakes the cleaner, which is still alive)
        assertEquals(cur.transid, t.onDiskGeneration());
    }

    @Test
    void inErrorStateItTearsTheTransactionsDownWithoutWritingThem() {
        Kthread k = startAndAwaitFirstSleep();
        Transaction cur = openAndEnd();
        long gen = t.onDiskGeneration();
        assertEquals(2, t.kernel.slabs().cache("btrfs_delayed_ref_head").inUse());

        fs.fsState.set(FsState.ERROR);
        k.wakeUpProcess();
        Waits.within().until(() -> fs.transList().isEmpty());
        assertEquals(TransState.COMPLETED, cur.state());
        assertEquals(gen, t.onDiskGeneration(), "btrfs_cleanup_transaction writes nothing");
        assertEquals(0, t.kernel.slabs().cache("btrfs_delayed_ref_head").inUse());
        assertEquals(0, t.kernel.slabs().cache("extent_state").inUse());
        t.closeTail(fs); // stops the transaction kthread, then the cleaner (close_ctree's order)
        assertEquals(0, t.kernel.log().count(org.jbtrfs.core.LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload());
    }

    /**
     * Advances the clock by less than the kthread's remaining sleep and waits until it re-checked its deadline
     * and went back to sleep (a new timed sleep began on the clock). Had it committed instead, that commit
     * would be over by then: the kthread sleeps again only at the end of its loop.
     */
    private void advanceAndAwaitResleep(long seconds) {
        long parks = t.clock.parks();
        t.clock.advance(seconds, TimeUnit.SECONDS);
        Waits.within().until(() -> t.clock.parks() > parks && settled());
    }

    /** Starts the transaction kthread and waits for its first loop to end in a commit_interval sleep. */
    private Kthread startAndAwaitFirstSleep() {
        Kthread k = TestFs.startTransactionKthread(fs);
        Waits.within().until(() -> cleanerWakeups.get() == 1 && settled());
        return k;
    }

    /**
     * Both kthreads asleep: the transaction kthread on the clock with its deadline set, the cleaner in
     * TASK_INTERRUPTIBLE (so the transaction kthread's next wake-up is not lost on it).
     */
    private boolean settled() { return t.clock.sleepers() == 1 && cleaner.isSleeping(); }

    /** A transaction that COWed the fs tree and whose only handle ended: it waits for a committer. */
    private Transaction openAndEnd() {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_write");
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        Transactions.end(h);
        return h.transaction();
    }

    private void assertRunning(Transaction cur, long gen) {
        assertEquals(TransState.RUNNING, cur.state());
        assertSame(cur, fs.runningTransaction());
        assertEquals(List.of(cur), fs.transList());
        assertEquals(gen, t.onDiskGeneration());
    }

    /** close_ctree's order: commit_super (it wakes the cleaner), then stop the transaction kthread, then the cleaner. */
    private void stopAndClose(Kthread k) {
        t.closeClean(fs);
        assertTrue(k.isFreed() && cleaner.isFreed());
        assertEquals(List.of(), t.unload());
    }
}
