package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#PREEMPT_RECLAIM_RO_REMOUNT} (proposed, stop 57), both directions, both crc32c modes; 5.12's code
 * paths (the default profile's), where fs_info->preempt_reclaim_work exists.
 *
 * <p>Kernel or port: kernel. Read (v5.12.9): space-info.c btrfs_preempt_reclaim_metadata_space (its loop tests
 * need_preemptive_reclaim, then runs flush_space outside any lock), need_preemptive_reclaim (false while REMOUNTING or
 * closing), __reserve_bytes (queues the work when a reservation fits and need_preemptive_reclaim holds), flush_space
 * (FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_REFS_NR and FORCE_COMMIT_TRANS: btrfs_join_transaction);
 * super.c btrfs_remount (cancel_work_sync of async_reclaim_work and async_data_reclaim_work only, then SB_RDONLY, the
 * cleaner's wait, btrfs_commit_super); disk-io.c close_ctree (cancels all three; does not commit a read-only
 * filesystem; the trans_list assertion); transaction.c join_transaction (no read-only test). Mainline's
 * btrfs_remount_ro cancels the same two works; its flush_space no longer starts a transaction there.
 *
 * <p>The filesystem: a file with dirty pages (delalloc outweighs the ordered extents, so need_preemptive_reclaim
 * counts bytes_may_use), then reservations standing for other tasks' until the preemptive work is queued; its round is
 * held after its test, before flush_space (its handle allocation sleeping in reclaim). Reverted: the RO remount runs
 * past it to the end; the round then joins — a new transaction on the read-only filesystem, which the umount finds
 * (patch 4/5's assertion). Applied: the remount waits for the round in cancel_work_sync, and its btrfs_commit_super
 * commits what the round joined.
 */
class PreemptReclaimRoRemountTest {
    private static final long ITEM = 256L << 10;

    /** The preemptive work's round held after its test; returns the bytes held by the test's reservations. */
    private static long aPreemptRoundHeldBeforeItsFlush(Repro r, Btrfs fs) {
        FsInfo info = fs.fsInfo();
        assertTrue(info.preemptReclaim() != null, "5.12's code paths");
        fs.createFile("f");
        fs.writeFile("f", new byte[64 << 10]); // delalloc: need_preemptive_reclaim weighs bytes_may_use
        r.mod.hooks().parkAt(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        long held = 0;
        while (!info.preemptReclaim().busy()) {
            assertTrue(info.space.reservations.room(Flush.NO_FLUSH) > ITEM, "the preemptive work is queued before the space is full");
            info.space.reservations.reserve(ITEM, Flush.NO_FLUSH); // another task's reservation (fits: null)
            info.space.rsvs.addBytes(info.space.rsvs.trans, ITEM, true);
            held += ITEM;
        }
        r.mod.hooks().awaitParked(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Repro.WAIT);
        return held;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheRoundJoinsATransactionAfterTheRemountsCommit(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.PREEMPT_RECLAIM_RO_REMOUNT)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long held = aPreemptRoundHeldBeforeItsFlush(r, fs);
            fs.remount("ro"); // does not wait for the held round
            info.space.rsvs.releaseMetadata(held);
            r.mod.hooks().release(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
            Waits.within(Repro.WAIT).until(() -> !info.preemptReclaim().busy());
            AsyncReclaimRequeuedAfterCancelTest.assertOneTransactionOpenedBy(fs, "flush_space");
            AsyncReclaimRequeuedAfterCancelTest.assertUmountHitsTheTransListAssertion(r, fs);
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRemountWaitsForTheRoundBeforeItsCommit(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long held = aPreemptRoundHeldBeforeItsFlush(r, fs);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            Repro.awaitBlockedOn(fs, "remount", "cancel_delayed_work_sync(preempt_reclaim_work)");
            info.space.rsvs.releaseMetadata(held);
            r.mod.hooks().release(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
            remount.join();
            AsyncReclaimRequeuedAfterCancelTest.assertNothingLeftAndACleanUmount(r, fs);
        }
    }
}
