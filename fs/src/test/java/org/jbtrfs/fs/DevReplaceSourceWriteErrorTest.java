package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A write to a replace's source that fails while the target's copy of it succeeds (stop 73), and
 * {@link FixSwitch#DEV_REPLACE_SOURCE_WRITE_ERRORS} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision 1: <b>port bug</b>, fixed (the tests with the switch reverted, 5.11's behaviour). The port failed such a
 * bio — a tree block's write made the commit abort, a data write made the fsync fail — where the kernel's is done:
 * handle_ops_on_dev_replace adds the target's stripe to every write and raises the bio's max_errors by one, so
 * btrfs_end_bio, counting one failed stripe, ends it without an error (and counts the source's failure in its device
 * statistics). What the source missed is read from the target while the replace runs: btrfs_num_copies gives one more
 * copy during a replace, get_extra_mirror_from_replace maps that mirror to the target at the same place (5.11 does not
 * test the replace's cursor there), btree_read_extent_buffer_pages reads the next mirror when a copy fails its checks
 * and btrfs_repair_eb_io_failure writes the good copy back over the failed mirror's ("read error corrected"); a
 * replace's copy that meets the bad block on the source takes the target's copy instead (scrub_handle_errored_block:
 * "fixed up error"). Read: volumes.c btrfs_end_bio, __btrfs_map_block, handle_ops_on_dev_replace,
 * get_extra_mirror_from_replace, btrfs_num_copies; disk-io.c btree_read_extent_buffer_pages; extent_io.c
 * btrfs_repair_eb_io_failure, repair_io_failure; scrub.c scrub_block_complete, scrub_handle_errored_block (v5.11;
 * mainline keeps the extra stripe's max_errors in handle_ops_on_dev_replace).
 *
 * <p>Decision 2: <b>kernel bug</b>, 5.11 and mainline, kept with the switch reverted. The block the source missed is on
 * the target only; a cancel (or a copy that ends in an error) destroys the target, and the filesystem's one device has
 * the block's older contents under a committed tree: the next mount fails, "parent transid verify failed". Nothing
 * rewrote the block to the source (a read while the replace ran would have repaired it), and btrfs_dev_replace_cancel
 * does not look at the source's write errors. The proposed fix makes a failed write to the source the bio's error, as
 * it is without a replace: the commit aborts and nothing acknowledged is lost. Found by porting the extra mirror.
 */
class DevReplaceSourceWriteErrorTest {
    private static final byte[] LATE = new byte[16 * 1024];

    static {
        Arrays.fill(LATE, (byte) 0x5a);
    }

    /** The filesystem on sdx (whose next write fails when armed), a replace to sdy held after its copy. */
    private record Setup(Repro r, FlakeyBlockDevice src, OneBadWriteDisk srcDisk, FlakeyBlockDevice tgt, Btrfs fs,
                         TestThread<DevReplaceResult> start) { }

    /** Every fix applied but, unless {@code fixed}, the proposed one: 5.11's write that the target alone took. */
    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return Repro.withFix(FixSwitch.DEV_REPLACE_SOURCE_WRITE_ERRORS, fixed, crc);
    }

    /** 5.11's order: the proposed fix reverted and the extra mirror kept (the later upstream DEV_REPLACE_EXTRA_MIRROR reverted). */
    private static Repro repro511(Crc32cImpl crc) {
        return new Repro(crc, FixSwitch.DEV_REPLACE_SOURCE_WRITE_ERRORS, FixSwitch.DEV_REPLACE_EXTRA_MIRROR);
    }

    private static Setup replaceHeldAfterItsCopy(Repro r) { return replaceHeldAt(r, Hook.DEV_REPLACE_BEFORE_FINISHING); }

    /**
     * The same, the replace held at {@code at}: after its copy, or before its first chunk's btrfs_inc_block_group_ro
     * ({@link Hook#SCRUB_BEFORE_INC_BLOCK_GROUP_RO}: the copy counts as paused there, so commits go on, and a cancel
     * stops it once let go).
     */
    private static Setup replaceHeldAt(Repro r, Hook at) {
        OneBadWriteDisk srcDisk = new OneBadWriteDisk(r.mod.createDevice("sdx-disk", 64L << 20));
        FlakeyBlockDevice src = r.mod.createFlakeyDevice("sdx", srcDisk);
        FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
        r.mod.mkfs(src);
        Btrfs fs = r.mod.mount(src, "");
        fs.createFile("/f");
        fs.writeFile("/f", DevReplaceTest.DATA);
        fs.sync();
        r.mod.hooks().parkAt(at, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(at, Repro.WAIT);
        fs.sync(); // the item as the copy left it
        return new Setup(r, src, srcDisk, tgt, fs, start);
    }

    /**
     * A commit whose first tree block write after it unblocked fails on the source (the target takes it): /late and its
     * data, then a sync. The sync succeeds, nothing is aborted, the source's device statistics count the failure.
     */
    private static void commitWhoseTreeBlockMissedTheSource(Setup s) {
        s.fs.createFile("/late");
        s.fs.writeFile("/late", LATE);
        s.r.mod.hooks().arm(Hook.COMMIT_AFTER_UNBLOCKED, HookAction.run(() -> s.srcDisk.failNext.set(true)).onlyFor(Role.USER), 1);
        s.fs.sync(); // threw EIO (the commit aborted) before stop 73
        assertTrue(s.r.logged("bdev sdx errs: wr 1"), s.r.mod.log().dmesg());
        assertFalse(s.fs.fsState().contains(FsState.ERROR), s.r.mod.log().dmesg());
    }

    /**
     * A power cut (both disks) while the replace is held after its copy; the replace let go, ending in the cut, the
     * filesystem unmounted, the power back: the disks hold what they had at the cut.
     */
    private static void powerCutWhileHeld(Setup s) {
        s.src.dropWrites(); // the machine loses power
        s.tgt.dropWrites();
        s.r.mod.hooks().disarm(Hook.DEV_REPLACE_BEFORE_FINISHING);
        s.start.join();
        s.fs.umount();
        s.src.allowWrites();
        s.tgt.allowWrites();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAWriteThatFailsOnTheSourceAloneIsDoneAndTheReplaceFinishes(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Setup s = replaceHeldAfterItsCopy(r);
            commitWhoseTreeBlockMissedTheSource(s);
            r.mod.hooks().disarm(Hook.DEV_REPLACE_BEFORE_FINISHING);
            assertEquals(DevReplaceResult.NO_ERROR, s.start.join());
            s.fs.umount();
            Btrfs moved = r.mod.mount(s.tgt, "");
            assertArrayEquals(LATE, moved.readFile("/late"));
            assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A power cut while the replace runs; the next mount resumes it, and a read of the block the source missed fails its
     * checks on mirror 1 and takes mirror 2, the target's copy, which is written back over the source's.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedABlockTheSourceMissedIsReadFromTheTargetAndRepaired(Crc32cImpl crc) {
        try (Repro r = repro511(crc)) {
            Setup s = replaceHeldAfterItsCopy(r);
            commitWhoseTreeBlockMissedTheSource(s);
            powerCutWhileHeld(s);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD); // the replace runs, its copy not yet
            Btrfs again = r.mod.mount(s.src, "");
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
            assertArrayEquals(LATE, again.readFile("/late"));
            again.createFile("/after");
            again.sync(); // walks the trees the commit had changed
            assertTrue(r.logged("read error corrected: ino 0 off "), r.mod.log().dmesg());
            assertTrue(r.logged("(dev sdx sector "), r.mod.log().dmesg());
            r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            again.umount();
            Btrfs moved = r.mod.mount(s.tgt, "");
            assertArrayEquals(LATE, moved.readFile("/late"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The same power cut, then a read-only mount: the replace runs (its item STARTED, the target found) but is not
     * resumed, and a read takes the target's copy without repairing the source (btrfs_repair_eb_io_failure: -EROFS on a
     * read-only filesystem); the next read-write mount's read repairs it.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAReadOnlyMountReadsTheTargetsCopyWithoutRepairingTheSource(Crc32cImpl crc) {
        try (Repro r = repro511(crc)) {
            Setup s = replaceHeldAfterItsCopy(r);
            commitWhoseTreeBlockMissedTheSource(s);
            powerCutWhileHeld(s);
            Btrfs ro = r.mod.mount(s.src, "ro");
            assertArrayEquals(LATE, ro.readFile("/late"));
            assertTrue(r.logged("parent transid verify failed on "), r.mod.log().dmesg());
            assertFalse(r.logged("read error corrected"), r.mod.log().dmesg());
            ro.umount();
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD);
            Btrfs rw = r.mod.mount(s.src, "");
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
            assertArrayEquals(LATE, rw.readFile("/late"));
            assertTrue(r.logged("read error corrected: ino 0 off "), r.mod.log().dmesg());
            r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            rw.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The source misses a block before the copy reached it: the copy reads the source's older block, which fails its
     * header check against the extent item's generation, rereads the target's copy (the write had reached it) and
     * writes that (scrub_handle_errored_block, "fixed up error"); the replace finishes with every block.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheCopyTakesTheTargetsCopyOfABlockTheSourceMissed(Crc32cImpl crc) {
        try (Repro r = repro511(crc)) {
            Setup s = replaceHeldAt(r, Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            commitWhoseTreeBlockMissedTheSource(s);
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            assertEquals(DevReplaceResult.NO_ERROR, s.start.join());
            assertTrue(r.logged("fixed up error at logical "), r.mod.log().dmesg());
            assertFalse(r.logged("unable to fixup"), r.mod.log().dmesg());
            s.fs.umount();
            Btrfs moved = r.mod.mount(s.tgt, "");
            assertArrayEquals(LATE, moved.readFile("/late"));
            moved.createFile("/after");
            moved.sync();
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * Reverted (5.11, mainline): the failed write's block is on the target only; a cancelled replace destroys the target
     * and the filesystem's one device has the block's older contents under a committed tree — the next mount fails to
     * read it.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedACancelledReplaceLeavesTheSourceWithoutTheBlockOnlyTheTargetHad(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Setup s = replaceHeldAt(r, Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            commitWhoseTreeBlockMissedTheSource(s);
            TestThread<DevReplaceResult> cancel = TestThread.call("cancel", s.fs::replaceCancel);
            Repro.awaitBlockedOn(s.fs, "cancel", "btrfs_scrub_cancel");
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            assertEquals(DevReplaceResult.NO_ERROR, cancel.join());
            assertEquals(Errno.ECANCELED, org.junit.jupiter.api.Assertions.assertThrows(BtrfsException.class, s.start::join).errno());
            s.fs.umount();
            BtrfsException e = org.junit.jupiter.api.Assertions.assertThrows(BtrfsException.class, () -> {
                Btrfs again = r.mod.mount(s.src, "");
                try {
                    again.readFile("/late");
                    again.createFile("/after");
                    again.sync();
                } finally {
                    again.umount();
                }
            });
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("parent transid verify failed on "), e.getMessage());
        }
    }

    /**
     * Applied: the write the source failed is the bio's error — the commit aborts (the sync fails, -EIO), the cancelled
     * replace leaves the source with the last commit that reached it, and every acknowledged write is there.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAFailedSourceWriteFailsTheCommitAndTheCancelledReplaceLosesNothing(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Setup s = replaceHeldAt(r, Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            s.fs.createFile("/late");
            s.fs.writeFile("/late", LATE);
            r.mod.hooks().arm(Hook.COMMIT_AFTER_UNBLOCKED, HookAction.run(() -> s.srcDisk.failNext.set(true)).onlyFor(Role.USER), 1);
            assertEquals(Errno.EIO, org.junit.jupiter.api.Assertions.assertThrows(BtrfsException.class, s.fs::sync).errno());
            assertTrue(r.logged("bdev sdx errs: wr 1"), r.mod.log().dmesg());
            assertTrue(s.fs.fsState().contains(FsState.ERROR), r.mod.log().dmesg());
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            s.start.failure(); // the copy ends on the aborted filesystem
            s.fs.umount();
            Btrfs again = r.mod.mount(s.src, "");
            assertArrayEquals(DevReplaceTest.DATA, again.readFile("/f"), "every acknowledged write on the source");
            again.createFile("/after");
            again.sync();
            again.umount();
        }
    }
}
