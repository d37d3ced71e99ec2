package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@code bio-read-eio} fault site (stop 73, {@link Fault#BIO_READ_EIO}): a read bio of the filesystem's device that
 * fail_make_request fails, as a disk with a sector it cannot read gives it. Kernel behaviour, ported: btrfs_end_bio
 * counts the read error in the device's statistics ("bdev … errs: wr 0, rd 1"); read_tree_block's
 * btree_read_extent_buffer_pages tries the next mirror (btrfs_num_copies: one more during a replace, the target) and
 * fails -EIO when none is left, and a copy read from another mirror is written back over the failed one
 * (btrfs_repair_eb_io_failure); a file read returns -EIO; scrub rereads a failed bio's blocks one by one
 * (scrub_handle_errored_block → scrub_recheck_block: a block that reads well alone is an unverified error). Read:
 * volumes.c btrfs_end_bio; disk-io.c btree_read_extent_buffer_pages; extent_io.c btrfs_repair_eb_io_failure; scrub.c
 * scrub_handle_errored_block, scrub_recheck_block (v5.11).
 */
class BioReadErrorTest {

    /** The filesystem with files, written and unmounted, mounted again: its tree blocks come from the disk. */
    private static Btrfs coldMount(Repro r) {
        Btrfs fs = DevReplaceTest.withFiles(r);
        fs.umount();
        return r.mount("");
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aTreeBlockThatCannotBeReadFailsTheReadWithEioAndTheFilesystemStaysUsable(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = coldMount(r);
            r.mod.faults().arm(Fault.BIO_READ_EIO, 1 << 20); // every read bio fails
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.readFile("/f3"));
            r.mod.faults().disarm(Fault.BIO_READ_EIO);
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertTrue(r.logged("bdev sdc errs: wr 0, rd 1, flush 0, corrupt 0, gen 0"), r.mod.log().dmesg());
            assertFalse(fs.fsState().contains(FsState.ERROR), "a failed read aborts nothing");
            assertArrayEquals(DevReplaceTest.DATA, fs.readFile("/f3"), "read again once the disk reads");
            fs.createFile("/after");
            fs.sync();
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * 5.11 ({@link FixSwitch#DEV_REPLACE_EXTRA_MIRROR} reverted): during a replace the block is read from the target
     * (mirror 2) when the source's read fails, and the source's copy is rewritten from it.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void duringAReplaceAFailedReadTakesTheTargetsCopyAndRepairsTheSource(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_EXTRA_MIRROR)) { // 5.11's extra mirror
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            Btrfs fs = DevReplaceTest.withFilesOn(r, src);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_BEFORE_FINISHING, Role.USER);
            TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_BEFORE_FINISHING, Repro.WAIT); // copied: the target has every block
            fs.sync(); // the item as the copy left it
            src.dropWrites(); // the machine loses power
            tgt.dropWrites();
            r.mod.hooks().disarm(Hook.DEV_REPLACE_BEFORE_FINISHING);
            start.join();
            fs.umount();
            src.allowWrites();
            tgt.allowWrites();
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD); // resumed, not copying
            Btrfs again = r.mod.mount(src, "");
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
            r.mod.faults().armOnce(Fault.BIO_READ_EIO); // the next read bio: the source's copy of /f5's data
            assertArrayEquals(DevReplaceTest.DATA, again.readFile("/f5"));
            assertEquals(1, r.mod.faults().fired(Fault.BIO_READ_EIO));
            assertTrue(r.logged("bdev sdx errs: wr 0, rd 1, flush 0, corrupt 0, gen 0"), r.mod.log().dmesg());
            assertTrue(r.logged("read error corrected: ino 26"), r.mod.log().dmesg()); // the file's inode, offset 0
            r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A scrub's read bio that fails once: each of its blocks read alone reads well — unverified errors, nothing lost,
     * and nothing in the device statistics: scrub submits its bios itself (btrfsic_submit_bio), no btrfs_end_bio counts
     * them, and scrub_handle_errored_block counts a block only when its reread fails too (stop 78: the port counted a read
     * error per failed bio and per reread).
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aScrubRereadsTheBlocksOfAFailedBioOneByOne(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            // past the superblock's bio (a failed one is a super error only: ScrubErrorStatsTest), the first stripe's
            r.mod.hooks().arm(Hook.SCRUB_STRIPE, org.jbtrfs.core.HookAction.run(() -> r.mod.faults().armOnce(Fault.BIO_READ_EIO))
                .onlyFor(Role.USER), 1);
            ScrubProgress p = fs.scrub(false);
            assertEquals(1, r.mod.faults().fired(Fault.BIO_READ_EIO));
            assertTrue(p.unverifiedErrors() > 0, p.toString());
            assertEquals(0, p.uncorrectableErrors(), p.toString());
            assertEquals(0, p.readErrors(), p.toString());
            assertFalse(r.logged(" errs: wr "), r.mod.log().dmesg());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
