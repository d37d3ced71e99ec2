package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#RECLAIM_IPUTS_AT_UMOUNT} (later upstream: Filipe Manana, "btrfs: fix race between async reclaim worker
 * and close_ctree()", 6.16-rc), both directions, both crc32c modes.
 *
 * <p>Found by the explorer with every fix applied (stop 61, {@code --faults all --swarm 1 --filesystems 4}, slabDebug,
 * seed 61005, 200 s: one cycle of 18,582, {@code assert:list_empty(&fs_info->delayed_iputs)@driver}, "delayed iputs still
 * queued: inodes [262]", a btrfs_inode left at rmmod; replay 0/10). Its timeline: a commit failed with the injected EIO
 * (forced read-only) while 5.12's preemptive reclaim work was in a FLUSH_DELALLOC round it had started 4 ms before; the
 * umount's close_ctree ran its delayed iputs at 17.351 ms, a kworker queued one at 17.358 ms, the kthreads were stopped
 * at 17.368 ms.
 *
 * <p><b>Kernel or port: kernel, fixed upstream later.</b> Read: disk-io.c close_ctree (v5.11: the cancels of the reclaim
 * works come before btrfs_error_commit_super, whose own btrfs_run_delayed_iputs follows them; mainline since a362bb864b8d
 * and df94a342efb4 — the port's {@link FixSwitch#ENDIO_WRITE_FLUSH_AT_UMOUNT} and
 * {@link FixSwitch#ERROR_COMMIT_SUPER_EARLY} — runs the delayed iputs in the flush block, before the cancels, and
 * btrfs_error_commit_super runs none), btrfs_commit_super (runs the delayed iputs first: a read-write filesystem's umount
 * takes the late iput there), space-info.c shrink_delalloc, btrfs_preempt_reclaim_metadata_space and
 * need_preemptive_reclaim (the closing test is the loop's, not the round's), inode.c btrfs_start_delalloc_roots and
 * start_delalloc_inodes (in reclaim context: igrab, filemap_fdatawrite_wbc, then btrfs_add_delayed_iput), and the
 * upstream fix and its syzbot report (4 June 2025): upstream met the same window on a read-write filesystem through the
 * WARN of 19e60b2a95f5 (BTRFS_FS_STATE_NO_DELAYED_IPUT, not modelled) and writes that before it the window was harmless
 * because btrfs_commit_super runs the iputs again — true on a read-write filesystem
 * ({@link #revertedAReadWriteFilesystemsCommitSuperTakesTheLateIput}); after an abort nothing runs them, which the
 * explorer met. The fix runs them again after the cancels.
 *
 * <p>The setup: a file with dirty pages and reservations standing for other tasks' (bytes_may_use outside any block
 * reserve, which the preemptive work counts as delalloc) until preempt_reclaim_work is queued; its FLUSH_DELALLOC round
 * wrote the file and is held before it hands its igrab reference to btrfs_add_delayed_iput (hook
 * {@link Hook#SHRINK_DELALLOC_BEFORE_DELAYED_IPUT}). The file is closed: that reference is the inode's last.
 */
class ReclaimIputsAtUmountTest {
    private static final long ITEM = 256L << 10;

    /** The preemptive work's delalloc round held after writing "f", the test's reservations given back; f's inode number. */
    private static long aDelallocRoundHeldBeforeItsIput(Repro r, Btrfs fs) {
        FsInfo info = fs.fsInfo();
        assertTrue(info.preemptReclaim() != null, "5.12's code paths");
        fs.createFile("f");
        FileHandle h = fs.open("f");
        h.write(new byte[64 << 10]); // dirty pages: delalloc
        long ino = h.ino();
        h.close();
        r.mod.hooks().parkAt(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT, Role.WORKER);
        long held = 0;
        while (!info.preemptReclaim().busy()) {
            assertTrue(info.space.reservations.room(Flush.NO_FLUSH) > ITEM, "the preemptive work is queued before the space is full");
            info.space.reservations.reserve(ITEM, Flush.NO_FLUSH); // another task's delalloc reservation (fits: null)
            held += ITEM;
        }
        r.mod.hooks().awaitParked(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT, Repro.WAIT);
        info.space.rsvs.releaseExcess(held);
        return ino;
    }

    /** The umount, held where close_ctree's cancel_work_sync waits for the preemptive work (the delayed iputs ran). */
    private static TestThread<Void> umountWaitingForTheRound(Btrfs fs) {
        TestThread<Void> umount = TestThread.run("umount", fs::umount);
        Repro.awaitBlockedOn(fs, "umount", "cancel_delayed_work_sync(preempt_reclaim_work)");
        assertEquals(List.of(), fs.inspect().delayedIputs());
        return umount;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheRoundsIputOnAnAbortedFilesystemOutlivesClose_ctree(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.RECLAIM_IPUTS_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            long ino = aDelallocRoundHeldBeforeItsIput(r, fs);
            r.abortByACommitEio(fs);
            r.mod.hooks().parkAt(Hook.UMOUNT_BEFORE_STOP_KTHREADS);
            TestThread<Void> umount = umountWaitingForTheRound(fs);
            r.mod.hooks().release(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT);
            r.mod.hooks().awaitParked(Hook.UMOUNT_BEFORE_STOP_KTHREADS, Repro.WAIT);
            assertEquals(List.of(ino), fs.inspect().delayedIputs()); // queued after the last run: nothing runs it now
            r.releaseIntoTheDelayedIputsAssertion(umount);
            // the debug line the explorer's evidence quotes names the queueing path
            assertTrue(r.mod.log().entries().stream().anyMatch(e -> e.message().startsWith("close_ctree: delayed iputs at the assertion")
                && e.message().contains("ShrinkDelalloc.startDelallocInodes")), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedClose_ctreeRunsTheIputsAgainAfterTheCancels(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            long ino = aDelallocRoundHeldBeforeItsIput(r, fs);
            r.abortByACommitEio(fs);
            TestThread<Void> umount = umountWaitingForTheRound(fs);
            r.mod.hooks().release(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT);
            r.joinIntoACleanUnload(umount, "inode " + ino);
        }
    }

    /**
     * Upstream's "harmless before 19e60b2a95f5", reverted: on a read-write filesystem the round's iput after the flush
     * block's run is taken by btrfs_commit_super, which runs the delayed iputs before its commit. Nothing is left.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAReadWriteFilesystemsCommitSuperTakesTheLateIput(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.RECLAIM_IPUTS_AT_UMOUNT)) {
            Btrfs fs = r.mountSettled("");
            long ino = aDelallocRoundHeldBeforeItsIput(r, fs);
            TestThread<Void> umount = umountWaitingForTheRound(fs);
            r.mod.hooks().release(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT);
            r.joinIntoACleanUnload(umount, "inode " + ino);
        }
    }
}
