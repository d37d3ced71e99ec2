package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_EXTRA_MIRROR} (later upstream: 5f50fa918f0c, v6.4, "btrfs: do not use replace target
 * device as an extra mirror"), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 (fixed in v6.4). Found by the explorer with the {@code bio-read-eio} fault site
 * (stop 73, seed 73004, class {@code 6e009eda}: "read error corrected: ino 0 off 2228224" during a replace, then
 * "parent transid verify failed on 2228224 wanted 55 found 46" — the source's good block overwritten with an older life
 * from the target, which had held the filesystem before; {@code aa075bd2}, {@code 1ab034e4}: "bad fsid on block"
 * reading garbage from the target).
 * <ol>
 *   <li>A replace runs; its copy has not reached a place yet (the cursor is left of it).</li>
 *   <li>A read there fails on the source (an I/O error). btrfs_num_copies counts the target as one more copy, and
 *       get_extra_mirror_from_replace maps mirror 2 to the target at the same place without testing the cursor.</li>
 *   <li>The target's bytes there are not the filesystem's: a tree block read fails its checks ("bad fsid", "bad tree
 *       block start") — or, an older life of the block on a disk that held the filesystem before, passes those a read
 *       without a parent transid makes —; a file's data fails its checksums (check_data_csum: -EIO), unless the file is
 *       NODATASUM, whose data is taken as it is. A copy that passed is written over the source's good one by the read
 *       repair ("read error corrected").</li>
 * </ol>
 * The fix removes the extra mirror: the read fails with the source's error and nothing is rewritten. Read: volumes.c
 * btrfs_num_copies, get_extra_mirror_from_replace, __btrfs_map_block, handle_ops_on_dev_replace; extent_io.c
 * btrfs_submit_read_repair, repair_io_failure; disk-io.c btree_read_extent_buffer_pages (v5.11; the v6.4 patch).
 *
 * <p>Stop 76: the port keeps data checksums now, so the data path shows the extra mirror read and failing its sums, not
 * the harm; the stop-73 finds were tree blocks, whose older life passing a read without a parent transid has no
 * deterministic test yet.
 */
class DevReplaceExtraMirrorTest {

    /**
     * A filesystem on sdx with files, a replace to sdy held before its copy's first chunk (nothing copied), a power cut,
     * and the next mount: the replace resumed, its kthread held before its copy. The page cache is the new mount's.
     */
    private static Btrfs mountedWithAnUncopiedReplace(Repro r) {
        FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
        FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
        Btrfs fs = DevReplaceTest.withFilesOn(r, src);
        r.mod.hooks().parkAt(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Repro.WAIT);
        src.dropWrites(); // the machine loses power
        tgt.dropWrites();
        r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
        assertEquals(DevReplaceResult.NO_ERROR, start.join()); // finished inside the cut: none of it reached a disk
        fs.umount();
        src.allowWrites();
        tgt.allowWrites();
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Role.KTHREAD);
        Btrfs again = r.mod.mount(src, "");
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB, Repro.WAIT);
        assertEquals(DevReplaceStatus.State.STARTED, again.replaceStatus().state()); // its target mapped, nothing copied
        assertEquals(0, again.replaceStatus().progress1000());
        return again;
    }

    /**
     * Reverted: the failed read goes on to mirror 2, the uncopied target. With data checksums (stop 76) its bytes fail
     * check_data_csum — "csum failed … mirror 2", a corruption error on the target — and the read fails -EIO with the
     * source's copy untouched; before the port kept sums, this read returned the target's bytes and the repair wrote them
     * over the source (what a NODATASUM file still meets in the kernel; the port does not model NODATASUM). The harm left
     * on the port's paths is a tree block's: see the class comment.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAFailedReadTakesTheUncopiedTargetAsAMirror(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_EXTRA_MIRROR)) {
            Btrfs fs = mountedWithAnUncopiedReplace(r);
            r.mod.faults().armOnce(Fault.BIO_READ_EIO); // the source's read of /f4's data
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.readFile("/f4"));
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertTrue(r.logged(" mirror 2"), r.mod.log().dmesg());
            assertTrue(r.logged("bdev sdy errs: wr 0, rd 0, flush 0, corrupt 1"), r.mod.log().dmesg());
            assertFalse(r.logged("read error corrected"), r.mod.log().dmesg());
            assertArrayEquals(DevReplaceTest.DATA, fs.readFile("/f4"), "read again: the source's copy");
            r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAFailedReadFailsAndTheSourceKeepsItsCopy(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = mountedWithAnUncopiedReplace(r);
            r.mod.faults().armOnce(Fault.BIO_READ_EIO);
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.readFile("/f4"));
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
            assertFalse(r.logged("read error corrected"), r.mod.log().dmesg());
            assertFalse(r.logged(" mirror 2"), "no second mirror: " + r.mod.log().dmesg());
            assertArrayEquals(DevReplaceTest.DATA, fs.readFile("/f4"), "read again: the source's copy");
            r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
