package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FixSwitch#COMMIT_TRANS_LOST_WAKEUP}, both directions: the transaction kthread past its test of
 * BTRFS_FS_COMMIT_TRANS and not yet asleep when BTRFS_IOC_START_SYNC kicks it.
 * <ol>
 *   <li>a remount wakes the transaction kthread; its loop finds no transaction old enough, and it is held before its sleep
 *       (TRANS_KTHREAD_BEFORE_SLEEP) — TASK_RUNNING;</li>
 *   <li>a file is created (a running transaction); START_SYNC attaches to it, sets BTRFS_FS_COMMIT_TRANS and wakes the
 *       kthread: lost, it is running; the ioctl waits for the commit to start;</li>
 *   <li>reverted: the kthread enters schedule_timeout_interruptible(commit_interval) and sleeps 30 s before its next loop
 *       sees the flag — the ioctl waits all that time; applied: it tests the flag after setting its state, does not
 *       sleep, and commits at once.</li>
 * </ol>
 * Decision: <b>kernel behaviour</b> of v5.17 and later (the async commit of {@link FixSwitch#ASYNC_COMMIT_TRANSACTION_KTHREAD},
 * fdfbf020664b); a proposed fix. Read: transaction.c btrfs_commit_transaction_async (set_bit, wake_up_process, then
 * wait_event on transaction_blocked_wait for COMMIT_START), disk-io.c transaction_kthread (test_and_clear_bit at the top
 * of the loop, schedule_timeout_interruptible at the bottom, kthread_should_stop and btrfs_transaction_blocked between),
 * kernel/sched/core.c try_to_wake_up (a running task is only marked runnable). Found by the explorer (stop 53).
 */
class CommitTransLostWakeupTest {

    @ParameterizedTest(name = "proposed fix applied={0}")
    @ValueSource(booleans = {true, false})
    void startSyncsKickWhileTheKthreadRunsWaitsForItsWholeSleep(boolean applied) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.COMMIT_TRANS_LOST_WAKEUP};
        try (Repro r = new Repro(Crc32cImpl.GENERIC, reverted)) {
            Btrfs fs = r.mountSettled("");
            r.mod.hooks().parkAt(Hook.TRANS_KTHREAD_BEFORE_SLEEP);
            fs.remount("commit=30"); // btrfs_remount's out label: wake_up_process(transaction_kthread)
            r.mod.hooks().awaitParked(Hook.TRANS_KTHREAD_BEFORE_SLEEP, Repro.WAIT);
            fs.createFile("f");
            long generation = fs.inspect().generation();
            TestThread<Long> startSync = TestThread.call("start-sync", fs::startSync).describedBy(r::sleepingOn)
                .awaitBlockedOn("wait_current_trans_commit_start");
            r.mod.hooks().release(Hook.TRANS_KTHREAD_BEFORE_SLEEP);
            if (!applied) {
                Waits.within(Repro.WAIT).until(() -> "schedule_timeout() in INTERRUPTIBLE".equals(r.sleepingOn("btrfs-transaction"))
                    && r.clock.sleepers() > 0);
                assertEquals("wait_current_trans_commit_start", r.sleepingOn("start-sync"), "the kick was lost");
                assertFalse(startSync.done());
                r.clock.advance(30, TimeUnit.SECONDS); // schedule_timeout_interruptible(commit_interval) runs out
            }
            long transid = startSync.join();
            assertEquals(generation + 1, transid);
            fs.waitSync(transid);
            assertEquals(transid, fs.inspect().generation());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
