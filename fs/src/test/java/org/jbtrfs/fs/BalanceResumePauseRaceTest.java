package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#BALANCE_RESUME_PAUSE_RACE} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Found by reading volumes.c while porting balance's lifecycle
 * (stop 64), not by the explorer. A read-write mount (or an RO→RW remount) of a filesystem with a paused balance —
 * btrfs_recover_balance made balance_ctl from the item — calls btrfs_resume_balance_async, which kthread_run()s
 * balance_kthread and returns; nothing waits for that kthread. Until it has taken balance_mutex, btrfs_balance has not
 * set BTRFS_FS_BALANCE_RUNNING, so btrfs_pause_balance — btrfs_remount's (going RO, after SB_RDONLY) and close_ctree's
 * — finds balance_ctl set and the balance not running, returns -ENOTCONN, and the remount or the umount goes on.
 * <ol>
 *   <li>RO remount: btrfs_commit_super is its last commit; then the kthread's btrfs_balance (the filesystem is not
 *       closing, nothing asked a pause) runs insert_balance_item — btrfs_start_transaction, which tests no read-only
 *       state, and btrfs_commit_transaction — on the read-only filesystem, sets RUNNING and balances: its chunk walk, its
 *       relocations, and at its end del_balance_item's commit. A balance the user paused by remounting read-only runs on
 *       the read-only filesystem and is gone.</li>
 *   <li>umount, the kthread late inside close_ctree: btrfs_balance finds the filesystem closing and returns -EINVAL
 *       through its out label, which resets a resumed balance (reset_balance_state: del_balance_item's transaction and
 *       commit during close_ctree): the paused balance, meant to resume at the next mount ("we want to resume on mount",
 *       close_ctree's comment), is lost.</li>
 *   <li>umount, the kthread later still: btrfs_kill_super's btrfs_free_fs_info has freed fs_info (and balance_ctl); the
 *       kthread's mutex_lock(&amp;fs_info-&gt;balance_mutex) is a use-after-free.</li>
 * </ol>
 * The window is a new kthread's wait for a CPU — short on an idle machine, a scheduler's whim on a loaded one, and
 * {@code mount; mount -o remount,ro} or {@code mount; umount} is a script's everyday sequence. Mainline's balance_kthread
 * (sb_start_write added in 2022 for freezing) and btrfs_resume_balance_async (the BALANCE_PAUSED exclusive-op state)
 * changed nothing here. A fourth form, found by the explorer's balance lanes: the user's own {@code btrfs balance
 * resume} takes the paused balance first and drops balance_mutex for its walk; the kthread gets the mutex and runs
 * btrfs_balance on the running balance_ctl (the tests at the end). The proposed fix: btrfs_resume_balance_async counts its kthread; btrfs_pause_balance, finding
 * the balance not running while such a kthread is pending, raises balance_pause_req and waits for it; the kthread, under
 * balance_mutex, leaves a balance it finds asked to pause paused (btrfs_balance would reset a resumed one), leaves one
 * that is running or not flagged RESUME alone (not the one it was started for), and counts itself out as its last act; close_ctree waits for that too. A kthread that took balance_mutex first sets RUNNING
 * before dropping it, and the pause waits for it as for any running balance. (A first version tested SB_RDONLY in the
 * kthread instead: the RO→RW remount's own kthread then found the filesystem still read-only — btrfs_remount clears
 * SB_RDONLY after btrfs_start_pre_rw_mount — and never resumed; the applied RO test caught it.) Read: volumes.c balance_kthread,
 * btrfs_resume_balance_async, btrfs_recover_balance, btrfs_pause_balance, btrfs_balance, insert_balance_item,
 * del_balance_item, reset_balance_state; super.c btrfs_remount; disk-io.c open_ctree, btrfs_start_pre_rw_mount,
 * close_ctree, btrfs_free_fs_info (v5.11); balance_kthread in mainline (2025).
 *
 * <p>The hook: {@link Hook#BALANCE_KTHREAD_BEFORE_MUTEX} holds the kthread before its mutex_lock.
 */
class BalanceResumePauseRaceTest {

    /** A filesystem whose balance was paused and which was umounted: the next read-write mount resumes it. */
    private static Repro withAPausedBalanceOnDisk(Crc32cImpl crc, boolean fixed) {
        Repro r = fixed ? new Repro(crc) : new Repro(crc, FixSwitch.BALANCE_RESUME_PAUSE_RACE);
        Btrfs fs = r.mountSettled("");
        BalanceTest.pausedBalance(r, fs);
        fs.umount();
        return r;
    }

    /** A read-write mount whose resume kthread is held before balance_mutex. */
    private static Btrfs mountWithTheResumeKthreadHeld(Repro r) {
        r.mod.hooks().parkAt(Hook.BALANCE_KTHREAD_BEFORE_MUTEX, Role.KTHREAD);
        Btrfs fs = r.mount("");
        r.mod.hooks().awaitParked(Hook.BALANCE_KTHREAD_BEFORE_MUTEX, Repro.WAIT);
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheResumedBalanceRunsOnTheReadOnlyFilesystemAndIsGone(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, false)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            fs.remount("ro"); // btrfs_pause_balance: not running — -ENOTCONN, no wait
            assertTrue(fs.inspect().committedReadOnly().isEmpty(), "the remount's commit is the last so far");
            r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            Repro.awaitBalanceKthreadGone(r.mod);
            List<String> openers = fs.inspect().committedReadOnly().stream()
                .flatMap(t -> t.functions().stream()).toList();
            assertTrue(openers.contains("insert_balance_item") && openers.contains("del_balance_item"), openers.toString());
            assertTrue(r.logged("balance: resume"), r.mod.log().dmesg());
            assertTrue(r.logged("balance: ended with status: 0"));
            assertNull(BalanceTest.item(fs), "the paused balance is gone");
            fs.umount();
            Btrfs again = r.mount("");
            assertEquals(1, r.mod.log().entries().stream().filter(e -> e.message().contains("balance: resume")).count(),
                "nothing left to resume");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheKthreadLeavesItPausedOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, true)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            Repro.awaitBlockedOn(fs, "remount", "btrfs_pause_balance"); // the pause waits for the pending kthread
            r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            remount.join();
            Repro.awaitBalanceKthreadGone(r.mod);
            assertTrue(fs.inspect().committedReadOnly().isEmpty(), "nothing written on the read-only filesystem");
            assertFalse(r.logged("balance: resume"), r.mod.log().dmesg());
            assertNotNull(BalanceTest.item(fs), "still paused");
            assertFalse(fs.balanceStatus().running());
            fs.remount("rw"); // resumed now, and to its end
            Waits.within(Repro.WAIT).until(() -> r.logged("balance: ended with status: 0"));
            Repro.awaitBalanceKthreadGone(r.mod);
            assertNull(BalanceTest.item(fs));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAKthreadInsideCloseCtreeDeletesThePausedBalance(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, false)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Role.USER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT); // past its btrfs_pause_balance
            r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            Repro.awaitBalanceKthreadGone(r.mod); // btrfs_balance: closing, -EINVAL, reset_balance_state
            r.mod.hooks().disarm(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            umount.join();
            Btrfs again = r.mount("");
            assertFalse(r.logged("balance: resume"), "the balance the umount should have kept paused is gone");
            assertNull(BalanceTest.item(again));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAKthreadAfterTheUmountUsesTheFreedFsInfo(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, false)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            fs.umount(); // close_ctree's btrfs_pause_balance did not wait; btrfs_free_fs_info freed balance_ctl
            r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            Waits.within(Repro.WAIT).until(() -> r.logged("BUG: KASAN: use-after-free in balance_kthread"));
            Repro.awaitBalanceKthreadGone(r.mod);
            assertTrue(r.mod.log().tainted());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheUmountWaitsForTheKthreadAndTheBalanceStaysPaused(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, true)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Repro.awaitBlockedOn(fs, "umount", "btrfs_pause_balance");
            r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
            umount.join();
            assertFalse(r.logged("use-after-free"), r.mod.log().dmesg());
            assertFalse(r.logged("balance: resume"), "the kthread found the filesystem closing and left it paused");
            Btrfs again = BalanceTest.mountResumingToTheEnd(r, "");
            assertTrue(r.logged("balance: resume"), "the next mount resumes it");
            again.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted());
        }
    }

    /**
     * The same kthread against the user's own {@code btrfs balance resume} (found by the explorer, stop 64: its hang
     * class, a pause waiting for a balance whose task had died): the ioctl takes the paused balance first — case (3) of
     * btrfs_ioctl_balance — and runs it, dropping balance_mutex for its walk; the kthread then gets the mutex and calls
     * btrfs_balance on the same, running balance_ctl.
     */
    private static TestThread<BalanceProgress> aUserResumeWalkingWhenTheKthreadGoesOn(Repro r, Btrfs fs) {
        r.mod.hooks().parkAt(Hook.BALANCE_NEXT_CHUNK, Role.USER);
        TestThread<BalanceProgress> resume = TestThread.call("resume", fs::balanceResume);
        r.mod.hooks().awaitParked(Hook.BALANCE_NEXT_CHUNK, Repro.WAIT);
        r.mod.hooks().disarm(Hook.BALANCE_KTHREAD_BEFORE_MUTEX);
        return resume;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheKthreadRunsTheRunningBalanceAgainAndAsserts(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, false)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            TestThread<BalanceProgress> resume = aUserResumeWalkingWhenTheKthreadGoesOn(r, fs);
            // insert_balance_item: -EEXIST, a resumed balance: fine; then ASSERT(!test_bit(BTRFS_FS_BALANCE_RUNNING))
            Waits.within(Repro.WAIT).until(() -> r.logged("assertion failed: !test_bit(BTRFS_FS_BALANCE_RUNNING"));
            Repro.awaitBalanceKthreadGone(r.mod);
            r.mod.hooks().disarm(Hook.BALANCE_NEXT_CHUNK);
            resume.join();
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedWithoutAssertionsTwoWalksShareTheBalanceAndTheSecondUsesItFreed(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, false, FixSwitch.BALANCE_RESUME_PAUSE_RACE)) {
            Btrfs first = r.mountSettled("");
            BalanceTest.pausedBalance(r, first);
            first.umount();
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            TestThread<BalanceProgress> resume = aUserResumeWalkingWhenTheKthreadGoesOn(r, fs);
            // the kthread's walk ends first: "ended", reset_balance_state frees balance_ctl and deletes the item
            Repro.awaitBalanceKthreadGone(r.mod);
            assertTrue(r.logged("balance: ended with status: 0"), r.mod.log().dmesg());
            assertEquals(2, r.mod.log().entries().stream().filter(e -> e.message().contains("balance: resume")).count(),
                "two balances of one balance_ctl");
            r.mod.hooks().disarm(Hook.BALANCE_NEXT_CHUNK);
            assertThrows(org.jbtrfs.core.KernelOops.class, resume::join);
            assertTrue(r.logged("BUG: KASAN: use-after-free in __btrfs_balance"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheKthreadLeavesTheUsersRunningBalanceAlone(Crc32cImpl crc) {
        try (Repro r = withAPausedBalanceOnDisk(crc, true)) {
            Btrfs fs = mountWithTheResumeKthreadHeld(r);
            TestThread<BalanceProgress> resume = aUserResumeWalkingWhenTheKthreadGoesOn(r, fs);
            Repro.awaitBalanceKthreadGone(r.mod); // it found the balance running: not its own any more
            assertEquals(1, r.mod.log().entries().stream().filter(e -> e.message().contains("balance: resume")).count());
            r.mod.hooks().disarm(Hook.BALANCE_NEXT_CHUNK);
            resume.join();
            assertTrue(r.logged("balance: ended with status: 0"));
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            assertNull(BalanceTest.item(fs));
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted());
        }
    }
}
