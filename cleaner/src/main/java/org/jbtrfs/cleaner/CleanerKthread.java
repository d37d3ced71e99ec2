package org.jbtrfs.cleaner;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.Role;
import org.jbtrfs.transaction.FsInfo;

/** kernel: cleaner_kthread() in fs/btrfs/disk-io.c */
public final class CleanerKthread {
    private CleanerKthread() { }

    /** kernel: kthread_run(cleaner_kthread, tree_root, "btrfs-cleaner") */
    public static Kthread start(Cleaner cleaner) {
        return cleaner.fs().kernel.kthreadd().run("btrfs-cleaner", Role.CLEANER, cleaner.fs().workqueues().device(),
            self -> loop(cleaner, self));
    }

    /**
     * kernel: cleaner_kthread() (5.11). One pass per wake-up: CLEANER_RUNNING set; nothing to do when
     * read-only, closing or not yet open; under cleaner_mutex (trylock) run delayed iputs and drop at most
     * one dead root; then defrag and delete unused block groups. At the end CLEANER_RUNNING is cleared —
     * with patch 3/5 by clear_and_wake_up_bit, so a remount waiting in wait_on_bit learns the pass is
     * over — then park or stop if asked, and sleep unless the pass asked to go again.
     *
     * <p>The sleep is the kernel's: the park and stop requests are tested first, then the state is set to
     * TASK_INTERRUPTIBLE and schedule() called. A wake_up_process that lands while the pass runs, or
     * between those tests and set_current_state ({@link Hook#CLEANER_BEFORE_SCHEDULE}), finds the task
     * running and is lost: the cleaner sleeps until the next wake-up (the transaction kthread wakes it on
     * every loop). That includes kthread_park's own wake-up, which is how close_ctree can wait up to
     * commit_interval seconds for the cleaner to park ({@link FixSwitch#CLEANER_LOST_PARK_WAKEUP}, a
     * proposed fix, re-tests after setting the state).
     */
    private static int loop(Cleaner c, Kthread self) {
        FsInfo fs = c.fs();
        while (true) {
            boolean again = false;
            fs.flags.set(FsFlag.CLEANER_RUNNING);
            fs.kernel.hooks().arrive(Hook.CLEANER_AFTER_SET_RUNNING);
            pass:
            {
                if (fs.needCleanerSleep() || !fs.flags.test(FsFlag.OPEN) || !fs.cleanerMutex.tryLock()) {
                    break pass;
                }
                try {
                    // the status may have changed between the first check and taking the mutex
                    if (fs.needCleanerSleep()) {
                        break pass;
                    }
                    c.delayedIputs().run();
                    again = c.deadRoots().cleanOneDeletedSnapshot();
                } finally {
                    fs.cleanerMutex.unlock();
                }
                // btrfs_run_defrag_inodes(): "the defragger has dealt with the R/O remount and umount" — it stops at
                // REMOUNTING and when closing, and btrfs_remount_begin / close_ctree wait for defrag_running.
                // No RO re-check before this, as in the kernel: a pass that got here runs to the end.
                fs.defragRunner().run();
                fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_DELETE_UNUSED_BGS);
                c.unusedBlockGroups().deleteUnusedBgs();
            }
            // sleep:
            fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_CLEAR_RUNNING);
            if (fs.applied(FixSwitch.CLEANER_RO_REMOUNT_RACE)) {
                fs.flags.clearAndWakeUpBit(FsFlag.CLEANER_RUNNING);
            } else {
                fs.flags.clear(FsFlag.CLEANER_RUNNING);
            }
            c.passEnded();
            if (self.shouldPark()) {
                self.parkme();
            }
            if (self.shouldStop()) {
                return 0;
            }
            if (!again) {
                fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_SCHEDULE);
                self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                c.goingToSleep();
                // proposed fix: a park or stop requested since the tests above would be lost; the next
                // loop sees it (the pass does nothing: closing)
                if (!fs.applied(FixSwitch.CLEANER_LOST_PARK_WAKEUP) || !(self.shouldPark() || self.shouldStop())) {
                    self.schedule();
                }
                self.setCurrentState(Kthread.TaskState.RUNNING);
            }
        }
    }
}
