package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Autodefrag (v5.11, stop 31): {@code -o autodefrag}, the inodes small writes queue, the cleaner's pass over them,
 * and what remount and umount do about it. Kernel functions read: fs/btrfs/file.c (btrfs_add_inode_defrag,
 * __btrfs_add_inode_defrag, btrfs_requeue_inode_defrag, btrfs_pick_defrag_inode, btrfs_cleanup_defrag_inodes,
 * __btrfs_run_defrag_inode, btrfs_run_defrag_inodes), fs/btrfs/ioctl.c (btrfs_defrag_file, find_new_extents,
 * should_defrag_range, defrag_check_next_extent, cluster_pages_for_defrag), fs/btrfs/inode.c (inode_should_defrag
 * from cow_file_range and compress_file_range, insert_reserved_file_extent → btrfs_drop_extents), fs/btrfs/super.c
 * (btrfs_parse_options' Opt_defrag/Opt_nodefrag, btrfs_remount_begin, btrfs_remount_cleanup, btrfs_remount's order),
 * fs/btrfs/disk-io.c (cleaner_kthread, close_ctree's wait for defrag_running and cleanup).
 *
 * <p>No kernel bug was found here: the kernel's remount and umount wait for the defragger and write or drop what it
 * queued. These tests pin that behaviour down so the explorer's lanes can race it.
 */
class AutoDefragTest {
    private static final int BLOCK = 4096;

    /** Four small appends, each written and committed by its own sync: four extents, the inode queued. */
    static byte[] fourSmallWrites(Btrfs fs) {
        fs.createFile("f");
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int k = 0; k < 4; k++) {
            byte[] b = new byte[BLOCK];
            Arrays.fill(b, (byte) ('a' + k));
            fs.writeFile("f", b);
            all.writeBytes(b);
            fs.sync();
        }
        return all.toByteArray();
    }

    /**
     * Runs {@code setup} with the cleaner's passes held at their start ({@link Hook#CLEANER_AFTER_SET_RUNNING}, before any
     * of its work) and returns with the cleaner held there: the transaction kthread wakes the cleaner on its own, and a
     * pass of its own between two writes would defragment a half-written file. Release the hook to let the pass run.
     */
    static <T> T withCleanerHeld(Repro r, Btrfs fs, java.util.function.Supplier<T> setup) {
        Repro.awaitCleanerAsleep(fs);
        r.mod.hooks().parkAt(Hook.CLEANER_AFTER_SET_RUNNING, Role.CLEANER);
        T t = setup.get();
        fs.wakeCleaner();
        r.mod.hooks().awaitParked(Hook.CLEANER_AFTER_SET_RUNNING, Repro.WAIT);
        return t;
    }

    /** rmmod: no slab object (a btrfs_inode_defrag record among them), no state, no thread left. */
    private static void assertUnloadsClean(Repro r) {
        UnloadReport u = r.mod.unload();
        assertTrue(u.clean(), u.toString());
    }

    private static int extentsOf(Btrfs fs, String path) {
        long ino;
        try (FileHandle h = fs.open(path, OpenMode.READ_ONLY)) {
            ino = h.ino();
        }
        var info = fs.ctx().fs;
        return Trees.range(info, FsRoots.getFsRoot(info, 5, true), new Key(ino, ItemType.EXTENT_DATA, 0),
            new Key(ino, ItemType.EXTENT_DATA, -1L)).size();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void theCleanerRewritesAQueuedInodesSmallExtentsAsOne(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("autodefrag");
            assertTrue(r.logged("enabling auto defrag"), r.mod.log().dmesg());
            byte[] data = withCleanerHeld(r, fs, () -> fourSmallWrites(fs));
            assertEquals(4, extentsOf(fs, "f"));
            assertEquals(1, fs.ctx().defrag.queued(), "cow_file_range's inode_should_defrag queued the inode");
            r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
            Repro.awaitCleanerAsleep(fs); // the pass ran btrfs_run_defrag_inodes: the cluster is re-dirtied
            assertEquals(0, fs.ctx().defrag.queued());
            fs.sync(); // writeback rewrites it; btrfs_drop_extents replaces the four items
            assertEquals(1, extentsOf(fs, "f"));
            assertArrayEquals(data, fs.readFile("f"));
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc);
            assertTrue(rep.clean(), rep.toString());
            assertUnloadsClean(r);
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * Regression (stop 33's every-fix hunts, seeds 33031 and 33032, 1 in about 40,000 cycles): "kernel BUG at
     * fs/btrfs/file.c:880" in an endio-write worker — btrfs_drop_extents would split the extent at 0. Decided port, not
     * kernel. The steps: 1. a defrag pass re-dirties a file's small extents [0, 8K), the whole file; 2. an append merges
     * into that dirty range, [0, 12K); 3. writeback takes it — neither dirty nor an ordered extent yet (an async chunk's
     * locked pages with compress, the moment before cow_file_range adds the ordered extent without); 4. the next defrag
     * pass reads the items, still [0, 4K) and [4K, 8K), sees no dirty or ordered range over them and re-dirties [0, 8K);
     * 5. the first write's completion replaces them with [0, 12K); 6. the second's btrfs_drop_extents finds that item
     * crossing its end. The kernel's cluster_pages_for_defrag waits for the locked and writeback pages, and
     * btrfs_drop_extents splits whatever the rewrite overlaps (kernel functions read: cluster_pages_for_defrag and
     * defrag_lookup_extent in fs/btrfs/ioctl.c, btrfs_drop_extents in fs/btrfs/file.c, v5.11). The port rewrites whole
     * extents only: it now leaves a cluster whose items changed since it read them, or of an inode with pages under
     * writeback or locked by an async chunk, to a later pass.
     */
    @Test
    void aClusterReadBeforeItsItemsChangedOrWhilePagesAreInFlightIsLeftToALaterPass() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled(""); // no autodefrag: no pass of the cleaner's between the steps
            byte[] data = fourSmallWrites(fs);
            long ino;
            try (FileHandle h = fs.open("f", OpenMode.READ_ONLY)) {
                ino = h.ino();
            }
            org.jbtrfs.cleaner.Inode in = fs.ctx().dcache.lookup(fs.fsInfo().fsRoot(), ino);
            try {
                InodeData d = InodeData.of(fs.fsInfo(), in);
                long seen = d.extentChanges();
                fs.writeFile("f", new byte[BLOCK]);
                fs.sync(); // a fifth item: what the defragger read is stale
                assertEquals(InodeData.Redirtied.OVERLAP, d.redirtyForDefrag(0, data, seen));
                fs.writeFile("f", new byte[BLOCK]);
                r.mod.hooks().parkAt(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
                TestThread<Void> sync = TestThread.run("sync", fs::sync);
                r.mod.hooks().awaitParked(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT, Repro.WAIT);
                assertEquals(InodeData.Redirtied.OVERLAP, d.redirtyForDefrag(0, data, d.extentChanges()),
                    "pages taken for writeback, their ordered extent not added yet");
                r.mod.hooks().release(Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
                sync.join(Repro.WAIT);
                assertEquals(InodeData.Redirtied.WAS_CLEAN, d.redirtyForDefrag(0, data, d.extentChanges()));
                fs.ctx().writeback.markInodeDirty(d); // as cluster_pages_for_defrag's set_page_dirty
                fs.sync(); // the rewrite replaces the four items with one
                assertEquals(3, extentsOf(fs, "f"));
            } finally {
                fs.ctx().cleaner.inodes().iput(in);
            }
            fs.umount();
            assertUnloadsClean(r);
        }
    }

    @Test
    void withoutAutodefragNothingIsQueued() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mount("");
            fourSmallWrites(fs);
            assertEquals(0, fs.ctx().defrag.queued());
            fs.runCleanerPass(Repro.WAIT);
            fs.sync();
            assertEquals(4, extentsOf(fs, "f"));
            fs.umount();
        }
    }

    /**
     * btrfs_remount_begin: going read-only with autodefrag on, the remount waits for the defragger (the cleaner held
     * while it re-dirties a cluster) before it sets RO, and writes what it re-dirtied with a second sync_filesystem —
     * after the first one and after REMOUNTING, which the defragger's loop stops at.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anRoRemountWaitsForTheDefraggerAndWritesWhatItRedirtied(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("autodefrag");
            byte[] data = withCleanerHeld(r, fs, () -> fourSmallWrites(fs));
            r.mod.hooks().parkAt(Hook.DEFRAG_BEFORE_CLUSTER, Role.CLEANER);
            r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING); // its pass reaches the queued inode and is held there
            r.mod.hooks().awaitParked(Hook.DEFRAG_BEFORE_CLUSTER, Repro.WAIT);
            TestThread<Void> remount = TestThread.run("remount ro", () -> fs.remount("ro"));
            Waits.within().until(() -> Blocked.onStack(remount.thread(), "AutoDefrag", "waitForDefraggers"));
            assertFalse(fs.isReadOnly(), "RO is set only after the defragger stopped");
            r.mod.hooks().release(Hook.DEFRAG_BEFORE_CLUSTER);
            remount.join();
            assertTrue(fs.isReadOnly());
            assertEquals(1, extentsOf(fs, "f"), "the second sync_filesystem wrote the re-dirtied cluster");
            assertEquals(0, fs.ctx().defrag.queued(), "btrfs_remount_cleanup: read-only, the tree is emptied");
            assertArrayEquals(data, fs.readFile("f"));
            fs.umount();
            assertUnloadsClean(r);
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    @Test
    void aNoautodefragRemountEmptiesTheQueue() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mount("autodefrag");
            withCleanerHeld(r, fs, () -> fourSmallWrites(fs));
            assertEquals(1, fs.ctx().defrag.queued());
            fs.remount("noautodefrag"); // the held pass has not reached the defragger: nothing to wait for
            assertTrue(r.logged("disabling auto defrag"), r.mod.log().dmesg());
            assertEquals(0, fs.ctx().defrag.queued());
            r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
            Repro.awaitCleanerAsleep(fs);
            fs.runCleanerPass(Repro.WAIT);
            fs.sync();
            assertEquals(4, extentsOf(fs, "f"));
            fs.umount();
            assertUnloadsClean(r);
        }
    }

    /** close_ctree frees the queued records (btrfs_cleanup_defrag_inodes): no btrfs_inode_defrag object at rmmod. */
    @Test
    void anUmountWithInodesQueuedFreesTheirRecords() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mount("autodefrag");
            withCleanerHeld(r, fs, () -> fourSmallWrites(fs));
            assertEquals(1, fs.ctx().defrag.queued());
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            // close_ctree set CLOSING_START and waits for the cleaner to park: the held pass now finds the filesystem
            // closing and does nothing, so the record is still queued when close_ctree's cleanup runs
            Waits.within().until(() -> Blocked.onStack(umount.thread(), "Kthread", "park"));
            r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
            umount.join();
            assertUnloadsClean(r);
        }
    }

    /**
     * Port bug found by the explorer (stop 31, seed 31031 with {@code --faults all}, every fix applied): a transaction
     * aborted by a failed tree-block write while the cleaner's defragger was between two clusters; its next search of
     * the file's extents read a block the abort left stale ("parent transid verify failed") and the port let the EIO
     * out of the cleaner — an oops of the kthread, its record and inode leaked at rmmod. Decision: <b>port bug</b>. The
     * kernel's find_new_extents treats a failed btrfs_search_forward as "no more" and btrfs_defrag_file returns the
     * error, which __btrfs_run_defrag_inode only uses to choose between requeueing and freeing the record (fs/btrfs/
     * ioctl.c and file.c of 5.11 read). Fixed: the error ends the run, not the cleaner.
     */
    @Test
    void aReadErrorEndsTheDefragRunNotTheCleaner() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mount("autodefrag");
            for (int k = 0; k < 300; k++) {
                fs.createFile("g" + k); // enough items that the subvolume's tree has a node above its leaves
            }
            withCleanerHeld(r, fs, () -> fourSmallWrites(fs));
            r.mod.hooks().parkAt(Hook.DEFRAG_BEFORE_CLUSTER, Role.CLEANER);
            r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
            r.mod.hooks().awaitParked(Hook.DEFRAG_BEFORE_CLUSTER, Repro.WAIT);
            // an fsync commits without writing the btree first (no sync_filesystem): the file's leaf, COWed for its new
            // extent, is still dirty when the commit's tree-block writes fail, and the abort drops it from the cache
            try (FileHandle h = fs.open("f")) {
                h.write(new byte[BLOCK]);
                r.mod.faults().armOnce(org.jbtrfs.core.Fault.COMMIT_TRANSACTION_EIO);
                assertThrows(BtrfsException.class, h::fsync);
            }
            assertTrue(r.logged("Transaction aborted"), r.mod.log().dmesg());
            r.mod.hooks().release(Hook.DEFRAG_BEFORE_CLUSTER);
            Repro.awaitCleanerAsleep(fs);
            assertFalse(r.logged("unexpected exception in kthread btrfs-cleaner"), r.mod.log().dmesg());
            fs.umount();
            assertUnloadsClean(r);
        }
    }

    @Test
    void autodefragTakesNoValue() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount("autodefrag=1"));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(r.logged("unrecognized mount option 'autodefrag=1'"), r.mod.log().dmesg());
            r.mount("autodefrag").umount(); // the module stays usable
        }
    }
}
