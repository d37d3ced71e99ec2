package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#ADD_INODE_DEFRAG_CLOSING_RACE} (proposed, not upstream), both directions, both crc32c modes: an
 * autodefrag record inserted after close_ctree's btrfs_cleanup_defrag_inodes, by a reclaim work's writeback that tested
 * __need_auto_defrag before the umount set CLOSING_START.
 *
 * <p>Found by the explorer with every fix applied (stop 68): seed 68005 ({@code --lanes lifecycle,file,file2 --faults all
 * --swarm 1 --filesystems 4}, 300 s, 28,984 cycles) ended with a final rmmod that was not clean — one
 * {@code btrfs_inode_defrag} object, "Allocated in AutoDefrag.addInodeDefrag ← inodeShouldDefrag ← Writeback.cowFileRange
 * ← ShrinkDelalloc … ← PreemptReclaim.reclaim" — and seed 68004's only failing cycle (every lane, accelerated crc32c)
 * carried the same leak in its evidence.
 *
 * <p><b>Kernel or port: kernel (5.11, 5.12 and mainline alike), a proposed fix.</b> Read: 5.11 file.c
 * btrfs_add_inode_defrag (__need_auto_defrag — autodefrag on and !btrfs_fs_closing — then kmem_cache_zalloc(GFP_NOFS),
 * then defrag_inodes_lock and __btrfs_add_inode_defrag, no second test), btrfs_cleanup_defrag_inodes (under the lock, all
 * records freed), inode.c inode_should_defrag (cow_file_range: a range under 64 KiB that is not the whole file),
 * disk-io.c close_ctree (CLOSING_START first; the cleaner parked; the defraggers waited for; btrfs_cleanup_defrag_inodes;
 * then cancel_work_sync of the reclaim works — which waits for a round still writing), fs/super.c
 * generic_shutdown_super (sync_filesystem, then evict_inodes, which skips an inode the round holds); mainline defrag.c
 * and close_ctree keep the order and the single test. A writeback whose test passed before close_ctree began inserts
 * after the cleanup: the record outlives its filesystem, and rmmod's kmem_cache_destroy reports it. The setup is
 * {@link ReclaimWritebackAtUmountTest}'s: the umount held in sync_filesystem's commit, the cleaner's autodefrag
 * re-dirtying f (a cluster of four small extents before a large one, so the cluster is not the whole file), 5.12's
 * preemptive work flushing it; the round is held at {@link Hook#ADD_INODE_DEFRAG_BEFORE_INSERT} — past the test, before
 * the lock — until the umount waits in the work's cancel.
 */
class AddInodeDefragClosingRaceTest {
    /**
     * f: four small extents (a record queued by their writeback), then a 512 KiB one (no defrag target: the cluster of
     * the first four is not the whole file); the umount held in sync_filesystem's commit while the cleaner's pass
     * re-dirties the cluster; the preemptive reclaim work's round writing it, held past btrfs_add_inode_defrag's test
     * (not closing yet); then the umount let go into close_ctree, past btrfs_cleanup_defrag_inodes, until it waits for
     * the round in the work's cancel ({@link ReclaimWritebackAtUmountTest#aPreemptiveRoundHeldAt}). Returns the umount.
     */
    private static TestThread<Void> aRoundPastItsTestWhileCloseCtreeCleansUp(Repro r, Btrfs fs) {
        TestThread<Void> umount = ReclaimWritebackAtUmountTest.aPreemptiveRoundHeldAt(r, fs, () -> {
            AutoDefragTest.fourSmallWrites(fs);
            fs.writeFile("f", new byte[512 << 10]);
            fs.sync();
        }, Hook.ADD_INODE_DEFRAG_BEFORE_INSERT);
        assertEquals(0, fs.ctx().defrag.queued(), "btrfs_cleanup_defrag_inodes ran");
        return umount;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheRecordInsertedAfterTheCleanupOutlivesTheFilesystem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.ADD_INODE_DEFRAG_CLOSING_RACE)) {
            Btrfs fs = r.mountSettled("autodefrag");
            TestThread<Void> umount = aRoundPastItsTestWhileCloseCtreeCleansUp(r, fs);
            r.mod.hooks().release(Hook.ADD_INODE_DEFRAG_BEFORE_INSERT);
            umount.join();
            assertTrue(Check.check(r.dev, crc).clean());
            assertEquals(1, r.mod.unload().remaining("btrfs_inode_defrag"), "kmem_cache_destroy: Slab cache still has objects");
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheInsertTestsClosingAgainUnderTheLock(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("autodefrag");
            TestThread<Void> umount = aRoundPastItsTestWhileCloseCtreeCleansUp(r, fs);
            r.mod.hooks().release(Hook.ADD_INODE_DEFRAG_BEFORE_INSERT);
            umount.join();
            assertTrue(Check.check(r.dev, crc).clean());
            var u = r.mod.unload();
            assertTrue(u.clean(), u.toString());
        }
    }
}
