package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kernel bugs the explorer found with every seed fix applied: close_ctree waits up to commit_interval
 * seconds because kthread_park's or kthread_stop's wake-up is lost.
 *
 * <p>Decision (kernel, not port): kthread_park() and kthread_stop() (kernel/kthread.c, v5.11 and
 * mainline) set the request bit and call wake_up_process(), which does nothing to a TASK_RUNNING task.
 * cleaner_kthread() (fs/btrfs/disk-io.c, v5.11 and mainline) tests kthread_should_park() and
 * kthread_should_stop() and only then sets TASK_INTERRUPTIBLE and schedules; transaction_kthread() tests
 * kthread_should_stop() and then calls schedule_timeout_interruptible(), which sets the state inside. A
 * request that lands between the test and the state change is therefore missed until the next wake-up:
 * for the cleaner, the transaction kthread's next loop; for the transaction kthread, its own timer. Both
 * are at most commit_interval seconds away (30 s by default), so umount stalls, it does not hang. The
 * port keeps this bug-for-bug; the proposed fixes ({@link FixSwitch#CLEANER_LOST_PARK_WAKEUP},
 * {@link FixSwitch#TRANS_KTHREAD_LOST_STOP_WAKEUP}) re-test after setting the state.
 *
 * <p>On the manual clock "commit_interval later" is an explicit {@code clock.advance}: reverted, the
 * umount finishes only after it; applied, without it.
 */
class LostWakeupTest {

    /**
     * 1. the cleaner ends a pass and passes its park/stop tests (held at CLEANER_BEFORE_SCHEDULE);
     * 2. umount: close_ctree's kthread_park sets KTHREAD_SHOULD_PARK and wakes the running cleaner: lost;
     * 3. the cleaner sets TASK_INTERRUPTIBLE and sleeps; umount waits for the 'parked' completion;
     * 4. commit_interval later the transaction kthread wakes the cleaner, which parks; umount goes on.
     */
    @ParameterizedTest(name = "proposed fix applied={0}")
    @ValueSource(booleans = {true, false})
    void closeCtreeWaitsForTheTransactionKthreadToWakeTheCleanerItFailedToPark(boolean applied) throws Exception {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.CLEANER_LOST_PARK_WAKEUP};
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, reverted)) {
            Btrfs fs = r.mountSettled("");
            Kthread cleaner = fs.fsInfo().cleanerKthread();
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_SCHEDULE);
            assertTrue(fs.wakeCleaner());
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_SCHEDULE, Repro.WAIT);

            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            // close_ctree's kthread_park has made its wake_up_process (lost on the running cleaner) and sleeps
            Waits.within(Repro.WAIT).until(() -> cleaner.shouldPark() && "kthread_park(btrfs-cleaner)".equals(r.sleepingOn("umount")));
            r.mod.hooks().release(Hook.CLEANER_BEFORE_SCHEDULE);

            if (applied) {
                umount.join();
            } else {
                // the cleaner went to sleep in TASK_INTERRUPTIBLE, not parked: only a wake-up moves it now
                Waits.within(Repro.WAIT).until(() -> "schedule() in INTERRUPTIBLE".equals(r.sleepingOn("btrfs-cleaner")));
                assertEquals("kthread_park(btrfs-cleaner)", r.sleepingOn("umount"), "umount still waits in kthread_park");
                assertEquals("umount", cleaner.sleptThroughBy().getName(), "the lost wake-up, as a state an explorer can read");
                assertEquals(java.util.List.of("btrfs-cleaner sleeps in TASK_INTERRUPTIBLE through kthread_park: its wake-up came while it ran"),
                    java.util.List.copyOf(r.mod.kernel().kthreadd().sleptThroughRequests().values()));
                assertFalse(umount.done());
                r.clock.advance(30, TimeUnit.SECONDS); // the transaction kthread's next loop wakes the cleaner
                umount.join();
            }
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * 1. a remount wakes the transaction kthread; its loop ends and passes its kthread_should_stop() test
     *    (held at TRANS_KTHREAD_BEFORE_SLEEP);
     * 2. umount: close_ctree's kthread_stop sets KTHREAD_SHOULD_STOP and wakes the running kthread: lost;
     * 3. the kthread enters schedule_timeout_interruptible(30 s); umount waits in kthread_stop;
     * 4. 30 s later the timer wakes it, it sees the stop and exits; umount goes on.
     */
    @ParameterizedTest(name = "proposed fix applied={0}")
    @ValueSource(booleans = {true, false})
    void closeCtreeWaitsForTheTransactionKthreadsTimerWhenItsStopIsLost(boolean applied) throws Exception {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.TRANS_KTHREAD_LOST_STOP_WAKEUP};
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, reverted)) {
            Btrfs fs = r.mountSettled("");
            Kthread trans = fs.fsInfo().transactionKthread();
            r.mod.hooks().parkAt(Hook.TRANS_KTHREAD_BEFORE_SLEEP);
            fs.remount("commit=30"); // btrfs_remount's out label: wake_up_process(transaction_kthread)
            r.mod.hooks().awaitParked(Hook.TRANS_KTHREAD_BEFORE_SLEEP, Repro.WAIT);

            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within(Repro.WAIT).until(() -> trans.shouldStop() && "kthread_stop(btrfs-transaction)".equals(r.sleepingOn("umount")));
            r.mod.hooks().release(Hook.TRANS_KTHREAD_BEFORE_SLEEP);

            if (applied) {
                umount.join();
            } else {
                Waits.within(Repro.WAIT).until(() -> "schedule_timeout() in INTERRUPTIBLE".equals(r.sleepingOn("btrfs-transaction"))
                    && r.clock.sleepers() > 0);
                assertEquals("kthread_stop(btrfs-transaction)", r.sleepingOn("umount"), "umount still waits in kthread_stop");
                assertEquals("umount", trans.sleptThroughBy().getName(), "the stop's wake-up was lost");
                assertFalse(umount.done());
                r.clock.advance(30, TimeUnit.SECONDS); // schedule_timeout_interruptible(commit_interval) runs out
                umount.join();
            }
            assertEquals(0, r.clock.sleepers());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
