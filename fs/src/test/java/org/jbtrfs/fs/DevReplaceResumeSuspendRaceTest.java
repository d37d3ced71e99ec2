package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Found by reading dev-replace.c and scrub.c while porting the
 * replace's lifecycle (stop 65), not by the explorer. A read-write mount (or an RO→RW remount) of a filesystem with a
 * suspended replace calls btrfs_resume_dev_replace_async, which sets the replace STARTED, takes the exclusive operation
 * and kthread_run()s btrfs_dev_replace_kthread; nothing waits for it. The kthread's btrfs_scrub_dev tests only
 * btrfs_fs_closing, then sets up (scrub_workers_get allocates three workqueues), and only under scrub_lock counts itself
 * in scrubs_running. An RO remount or an umount in between runs btrfs_dev_replace_suspend_for_unmount — the replace
 * SUSPENDED — and btrfs_scrub_cancel, which finds no scrub running (-ENOTCONN) and returns; nothing in btrfs_scrub_dev
 * looks at the replace state, so the copy starts after all:
 * <ol>
 *   <li>umount: close_ctree goes on to its end and btrfs_kill_super frees fs_info; the kthread's copy walks a closed
 *       filesystem (btrfs_inc_block_group_ro joins a transaction of it) and its btrfs_dev_replace_finishing takes
 *       dev_replace.lock_finishing_cancel_unmount in the freed fs_info — a use-after-free (the port: KASAN's report from
 *       the first use of dev_replace after the free).</li>
 *   <li>umount, the copy inside close_ctree after btrfs_commit_super: btrfs_inc_block_group_ro's join starts a
 *       transaction nothing will commit — close_ctree stops the transaction kthread with it open (the leak).</li>
 *   <li>RO remount: the copy runs on the read-only filesystem and writes the target; with 5.11 as released
 *       (before the later upstream scrub-ro-mount-transaction fix) btrfs_inc_block_group_ro also starts a transaction on
 *       it.</li>
 * </ol>
 * The window is the kthread's wait for a CPU and its setup; {@code mount; umount} or {@code mount; mount -o remount,ro}
 * of a filesystem with a suspended replace is a script's everyday sequence (and the replace exists to be interrupted).
 * Mainline's btrfs_scrub_dev (2025) still tests only btrfs_fs_closing before its setup; btrfs_remount_ro and close_ctree
 * still suspend and cancel as 5.11 does. The proposed fix: btrfs_scrub_dev for a replace, under scrub_lock and
 * dev_replace.rwsem (read), returns -ECANCELED unless the replace is still STARTED — the suspend changes the state
 * before its cancel takes scrub_lock, so either the scrub sees SUSPENDED or the cancel sees it running; finishing then
 * finds the replace not STARTED and does nothing; btrfs_resume_dev_replace_async counts its kthread, and close_ctree waits
 * for the kthread's last act (its btrfs_exclop_finish). Read: dev-replace.c btrfs_resume_dev_replace_async,
 * btrfs_dev_replace_kthread, btrfs_dev_replace_suspend_for_unmount, btrfs_dev_replace_finishing; scrub.c
 * btrfs_scrub_dev, btrfs_scrub_cancel, scrub_enumerate_chunks; block-group.c btrfs_inc_block_group_ro; super.c
 * btrfs_remount; disk-io.c close_ctree, btrfs_start_pre_rw_mount (v5.11); btrfs_scrub_dev and btrfs_remount_ro in
 * mainline.
 *
 * <p>The hook: {@link Hook#SCRUB_BEFORE_RUNNING} holds the kthread's btrfs_scrub_dev past its closing test.
 */
class DevReplaceResumeSuspendRaceTest {

    /**
     * The fixture suspends a replace by an RO remount during its ioctl, which the proposed
     * {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} refuses (EBUSY): reverted in every test here — it concerns the
     * ioctl only, and the kthread under test holds no write access either way.
     */
    private static Repro repro(Crc32cImpl crc, boolean fixed, FixSwitch... alsoReverted) {
        java.util.List<FixSwitch> l = new java.util.ArrayList<>(java.util.List.of(alsoReverted));
        l.add(FixSwitch.DEV_REPLACE_START_WRITE_ACCESS);
        if (!fixed) {
            l.add(FixSwitch.DEV_REPLACE_RESUME_SUSPEND_RACE);
        }
        return new Repro(crc, l.toArray(FixSwitch[]::new));
    }

    /** A read-write mount whose resume kthread is held in btrfs_scrub_dev, past its closing test, not yet running. */
    private static Btrfs mountWithTheCopyHeld(Repro r) {
        r.mod.hooks().parkAt(Hook.SCRUB_BEFORE_RUNNING, Role.KTHREAD);
        Btrfs fs = r.mount("");
        r.mod.hooks().awaitParked(Hook.SCRUB_BEFORE_RUNNING, Repro.WAIT);
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCopyOutlivesTheUmountAndUsesTheFreedFsInfo(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            fs.umount(); // suspend: SUSPENDED; btrfs_scrub_cancel: -ENOTCONN; nothing waits for the kthread
            assertTrue(r.logged("suspending dev_replace for unmount"), r.mod.log().dmesg());
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            assertTrue(r.logged("BUG: KASAN: use-after-free in btrfs_dev_replace_finishing"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCopyInsideCloseCtreeLeaksATransaction(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Role.USER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT); // past btrfs_commit_super
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.KTHREAD);
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT); // the copy runs: counted in scrubs_running
            r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
            Waits.within(Repro.WAIT).until(() -> !fs.inspect().openTransactions().isEmpty());
            assertTrue(fs.inspect().openTransactions().stream().anyMatch(t -> t.functions().contains(
                "btrfs_inc_block_group_ro")), fs.inspect().openTransactions().toString());
            r.mod.hooks().disarm(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            org.jbtrfs.core.KernelBug bug = org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.KernelBug.class,
                umount::join, "close_ctree's end finds the copy's transaction");
            assertTrue(bug.getMessage().contains("list_empty(&fs_info->trans_list)"), bug.getMessage());
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheUmountKeepsTheReplaceSuspendedAndWaitsForTheKthread(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            BlockDevice tgt = DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Repro.awaitBlockedOn(fs, "umount", "wait for the dev-replace resume kthread");
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            umount.join();
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            assertFalse(r.logged("KASAN"), r.mod.log().dmesg());
            Btrfs again = r.mount(""); // still suspended on disk: resumed now, and to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            Btrfs moved = r.mod.mount(tgt, "");
            assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f5"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The window before btrfs_scrub_dev's closing test: a kthread that reaches it after close_ctree set
     * BTRFS_FS_CLOSING_START but before its suspend gets -EAGAIN, and btrfs_dev_replace_finishing — the replace still
     * STARTED — ends it CANCELED ("btrfs_scrub_dev(...) failed -11", its target scratched, the kthread's WARN_ON): the
     * umount that should have suspended the replace cancelled it.
     */
    private static Repro umountBeforeTheSuspendWithTheKthreadLetGo(Crc32cImpl crc, boolean fixed, TestThread<?>[] umount) {
        Repro r = repro(crc, fixed);
        DevReplaceTest.suspendedReplaceOnDisk(r);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD);
        Btrfs fs = r.mount("");
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
        r.mod.hooks().parkAt(Hook.UMOUNT_AFTER_PARK_CLEANER, Role.USER);
        umount[0] = TestThread.run("umount", fs::umount);
        r.mod.hooks().awaitParked(Hook.UMOUNT_AFTER_PARK_CLEANER, Repro.WAIT); // closing, not yet suspended
        r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
        DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
        r.mod.hooks().disarm(Hook.UMOUNT_AFTER_PARK_CLEANER);
        umount[0].join();
        return r;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAKthreadThatFindsTheFilesystemClosingCancelsTheReplace(Crc32cImpl crc) {
        TestThread<?>[] umount = new TestThread<?>[1];
        try (Repro r = umountBeforeTheSuspendWithTheKthreadLetGo(crc, false, umount)) {
            assertTrue(r.logged("btrfs_scrub_dev(sdc, 1, sdd) failed -11"), r.mod.log().dmesg());
            assertTrue(r.logged("dev-replace.c:1096"), "the kthread's WARN_ON");
            Btrfs again = r.mount("");
            assertEquals(DevReplaceStatus.State.CANCELED, again.replaceStatus().state(), "the umount cancelled it");
            assertEquals(1, r.mod.log().entries().stream().filter(e -> e.message().contains("continuing dev_replace"))
                .count(), "nothing left to resume");
            again.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAKthreadThatFindsTheFilesystemClosingLeavesTheReplaceSuspended(Crc32cImpl crc) {
        TestThread<?>[] umount = new TestThread<?>[1];
        try (Repro r = umountBeforeTheSuspendWithTheKthreadLetGo(crc, true, umount)) {
            assertFalse(r.logged("failed -11"), r.mod.log().dmesg());
            assertFalse(r.logged("WARNING"));
            Btrfs again = r.mount(""); // suspended on disk: resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCopyRunsOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            BlockDevice tgt = DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            fs.remount("ro");
            long writes = tgt.counters().writes();
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            assertTrue(tgt.counters().writes() > writes, "the copy wrote the target of the read-only filesystem");
            assertEquals(DevReplaceStatus.State.SUSPENDED, fs.replaceStatus().state());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedWithTheReleasedScrubTheCopyStartsATransactionOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = repro(crc, false, FixSwitch.SCRUB_RO_MOUNT_TRANSACTION)) {
            DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            fs.remount("ro");
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            assertTrue(fs.inspect().openTransactions().stream().anyMatch(t -> t.functions().contains(
                "btrfs_inc_block_group_ro")) || !fs.inspect().committedReadOnly().isEmpty(),
                "a transaction of the read-only filesystem: " + fs.inspect());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheCopyDoesNotStartOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = repro(crc, true, FixSwitch.SCRUB_RO_MOUNT_TRANSACTION)) {
            BlockDevice tgt = DevReplaceTest.suspendedReplaceOnDisk(r);
            Btrfs fs = mountWithTheCopyHeld(r);
            fs.remount("ro");
            long writes = tgt.counters().writes();
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_RUNNING);
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            assertEquals(writes, tgt.counters().writes(), "nothing copied while read-only");
            assertTrue(fs.inspect().openTransactions().isEmpty() && fs.inspect().committedReadOnly().isEmpty(),
                fs.inspect().toString());
            assertEquals(DevReplaceStatus.State.SUSPENDED, fs.replaceStatus().state());
            fs.remount("rw"); // resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * Stop 67 (explorer class 561fd4cd): the kthread held before its first line while an RO remount suspends the replace,
     * an RO→RW remount cannot resume it again (the kthread holds the exclusive operation: "cannot resume dev-replace,
     * other exclusive operation running") and {@code btrfs replace cancel} ends the suspended replace, clearing srcdev.
     */
    private static Btrfs cancelledUnderTheHeldKthread(Repro r) {
        DevReplaceTest.suspendedReplaceOnDisk(r);
        Btrfs fs = DevReplaceTest.mountWithTheReplaceSuspendedInMount(r);
        assertEquals(DevReplaceResult.NO_ERROR, fs.replaceCancel());
        assertEquals(DevReplaceStatus.State.CANCELED, fs.replaceStatus().state());
        r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
        DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAKthreadThatRunsAfterACancelDereferencesTheClearedSource(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            cancelledUnderTheHeldKthread(r);
            assertTrue(r.logged("BUG: kernel NULL pointer dereference") && r.logged("btrfs_dev_replace_kthread+0x2a"),
                r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAKthreadThatRunsAfterACancelLeavesTheReplaceAndReleasesTheOperation(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = cancelledUnderTheHeldKthread(r);
            assertFalse(r.logged("NULL pointer dereference"), r.mod.log().dmesg());
            assertFalse(r.logged("continuing dev_replace"), "the kthread touched nothing of the cancelled replace");
            assertEquals(DevReplaceStatus.State.CANCELED, fs.replaceStatus().state());
            BlockDevice spare = r.mod.createDevice("sde", 64L << 20);
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceStart(1, spare), "the exclusive operation is free again");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
