package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL} (proposed, stop 54), both directions, both crc32c modes.
 *
 * <p>Kernel or port: kernel. Read (v5.11): space-info.c __reserve_bytes (a FLUSH_ALL_STEAL ticket queues
 * fs_info->async_reclaim_work whatever the filesystem's state), btrfs_async_reclaim_metadata_space (after
 * maybe_fail_all_tickets made progress — a steal — it resets flush_state and runs flush_space again before it looks at
 * the tickets), maybe_fail_all_tickets, steal_from_global_rsv, flush_space (FLUSH_DELAYED_ITEMS_NR joins a
 * transaction); block-group.c btrfs_delete_unused_bgs → btrfs_start_trans_remove_block_group →
 * transaction.c btrfs_start_transaction_fallback_global_rsv; disk-io.c close_ctree (cancel_work_sync before
 * btrfs_delete_unused_bgs and btrfs_commit_super, nothing after). Mainline keeps the order and the loop, but its
 * flush_space joins for delayed items and refs without starting a transaction (btrfs_join_transaction_nostart; read in
 * stop 55): there the work finds none after btrfs_commit_super, and the symptom is gone.
 *
 * <p>The filesystem: metadata full (a reservation stands for what a full filesystem holds — the steps the work can run
 * give none of it back) and no device space for a metadata chunk, one unused block group left for close_ctree to delete.
 * close_ctree's deletion queues a steal ticket after its cancel_work_sync; the work steals from the global reserve for
 * it after three rounds, close_ctree goes on, and the work — held at its next flush state — joins a transaction:
 * reverted after btrfs_commit_super (patch 4/5's assertion); applied, close_ctree cancels the work again before the
 * commit, which then commits what the work joined.
 */
class AsyncReclaimRequeuedAfterCancelTest {
    private static final long MIB = 1L << 20;

    /** A 64 MiB device whose unallocated space is below the 16 MiB of a metadata chunk, with one unused data chunk. */
    static Btrfs fullDevice(Repro r) {
        Btrfs fs = r.mountSettled("");
        fs.createFile("big");
        for (int i = 0; i < 20; i++) {
            fs.writeFile("big", new byte[(int) MIB]);
        }
        fs.sync();
        Repro.awaitOrderedExtentsReleased(fs);
        CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
        return fs;
    }

    /** At close_ctree's start, reserve what the metadata space has left but 4 KiB: the steal ticket will not fit. */
    private static AtomicLong holdMetadataAtUmount(Repro r, FsInfo info) { return holdMetadataAt(r, info, Hook.UMOUNT_AFTER_PARK_CLEANER); }

    /** The same at {@code hook}, reached before the umount's or remount's own btrfs_delete_unused_bgs. */
    static AtomicLong holdMetadataAt(Repro r, FsInfo info, Hook hook) {
        AtomicLong held = new AtomicLong();
        r.mod.hooks().arm(hook, HookAction.run(() -> {
            assertEquals(1, info.space.unusedCount(), "the unused group is left for the umount's or remount's own deletion");
            long bytes = info.space.reservations.room(Flush.FLUSH_ALL_STEAL) - 4096;
            assertNull(info.space.reservations.reserve(bytes, Flush.NO_FLUSH));
            info.space.rsvs.addBytes(info.space.rsvs.chunk, bytes, true);
            held.set(bytes);
        }));
        return held;
    }

    /** trans_list holds one transaction, whose handles were all opened by {@code function}. */
    static void assertOneTransactionOpenedBy(Btrfs fs, String function) {
        List<Inspection.TransactionInfo> open = fs.inspect().openTransactions();
        assertEquals(1, open.size(), open.toString());
        assertEquals(List.of(function), open.get(0).functions());
    }

    /** Nothing left on trans_list; the umount asserts nothing and rmmod finds nothing left. */
    static void assertNothingLeftAndACleanUmount(Repro r, Btrfs fs) {
        assertTrue(fs.inspect().openTransactions().isEmpty(), fs.inspect().openTransactions().toString());
        fs.umount();
        assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
        UnloadReport rep = r.mod.unload();
        assertTrue(rep.clean(), rep.toString());
    }

    /** The umount meets what is left on trans_list: patch 4/5's assertion. */
    static void assertUmountHitsTheTransListAssertion(Repro r, Btrfs fs) {
        assertThrows(KernelBug.class, fs::umount);
        assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"), r.mod.log().dmesg());
    }

    /** Holds the reclaim work at the first flush state it starts with no ticket left (after its steal). */
    private static CountDownLatch[] holdWorkAfterTheSteal(Repro r, FsInfo info) {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean once = new AtomicBoolean();
        r.mod.hooks().arm(Hook.ASYNC_RECLAIM_BEFORE_FLUSH, HookAction.run(() -> {
            if (info.space.reservations.ticketsWaiting() == 0 && info.space.rsvs.counters(info.space.rsvs.chunk).reserved() > 0
                && once.compareAndSet(false, true)) {
                held.countDown();
                TestThread.await(release);
            }
        }).onlyFor(Role.WORKER), -1);
        return new CountDownLatch[] {held, release};
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheWorkJoinsATransactionAfterCommitSuper(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL)) {
            Btrfs fs = fullDevice(r);
            FsInfo info = fs.fsInfo();
            AtomicLong held = holdMetadataAtUmount(r, info);
            CountDownLatch[] work = holdWorkAfterTheSteal(r, info);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Role.USER);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            TestThread.await(work[0]);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT); // past btrfs_commit_super
            info.space.rsvs.release(info.space.rsvs.chunk, held.get());
            work[1].countDown();
            Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
            assertOneTransactionOpenedBy(fs, "flush_space");
            r.mod.hooks().disarm(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            assertThrows(KernelBug.class, umount::join);
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedCloseCtreeWaitsForTheWorkBeforeItsCommit(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = fullDevice(r);
            FsInfo info = fs.fsInfo();
            AtomicLong held = holdMetadataAtUmount(r, info);
            CountDownLatch[] work = holdWorkAfterTheSteal(r, info);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            TestThread.await(work[0]);
            Repro.awaitBlockedOn(fs, "umount", "cancel_delayed_work_sync(async_reclaim_work)");
            info.space.rsvs.release(info.space.rsvs.chunk, held.get());
            work[1].countDown();
            umount.join();
            assertFalse(r.logged("assertion failed"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * The RO remount: its btrfs_delete_unused_bgs runs after SB_RDONLY is set and after its cancel_work_sync. Reverted,
     * the work joins after the remount's btrfs_commit_super — a transaction running on the read-only filesystem, which
     * the umount (RO: close_ctree commits nothing) meets at patch 4/5's assertion. Applied, the remount waits for the work
     * before its commit.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAnRoRemountLeavesTheWorksTransactionOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ASYNC_RECLAIM_REQUEUED_AFTER_CANCEL)) {
            Btrfs fs = fullDevice(r);
            FsInfo info = fs.fsInfo();
            AtomicLong held = holdMetadataAt(r, info, Hook.REMOUNT_AFTER_SET_RO);
            CountDownLatch[] work = holdWorkAfterTheSteal(r, info);
            r.mod.hooks().parkAt(Hook.REMOUNT_AFTER_COMMIT_SUPER, Role.USER);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            TestThread.await(work[0]);
            r.mod.hooks().awaitParked(Hook.REMOUNT_AFTER_COMMIT_SUPER, Repro.WAIT);
            info.space.rsvs.release(info.space.rsvs.chunk, held.get());
            work[1].countDown();
            Waits.within(Repro.WAIT).until(() -> !info.asyncReclaim().busy());
            r.mod.hooks().disarm(Hook.REMOUNT_AFTER_COMMIT_SUPER);
            remount.join();
            assertOneTransactionOpenedBy(fs, "flush_space");
            assertUmountHitsTheTransListAssertion(r, fs);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRoRemountWaitsForTheWorkBeforeItsCommit(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = fullDevice(r);
            FsInfo info = fs.fsInfo();
            AtomicLong held = holdMetadataAt(r, info, Hook.REMOUNT_AFTER_SET_RO);
            CountDownLatch[] work = holdWorkAfterTheSteal(r, info);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            TestThread.await(work[0]);
            Repro.awaitBlockedOn(fs, "remount", "cancel_delayed_work_sync(async_reclaim_work)");
            info.space.rsvs.release(info.space.rsvs.chunk, held.get());
            work[1].countDown();
            remount.join();
            assertNothingLeftAndACleanUmount(r, fs);
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
