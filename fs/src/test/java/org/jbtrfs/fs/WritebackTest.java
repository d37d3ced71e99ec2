package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.BtreeInode;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Writeback as the VFS drives it: sync_filesystem (syncfs, RW umount, remount of an RW superblock) writes
 * dirty data through ordered extents and the btree inode with WB_SYNC_ALL; data bios go through
 * btrfs_wq_submit_bio unless fsync raised sync_writers; metadata only without a fast crc32c; an ordered
 * extent holds its inode until its completion on an endio-write worker, whose last reference goes to
 * btrfs_add_delayed_iput.
 */
class WritebackTest {

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private static BtreeInode.WriteStats meta(Btrfs fs) { return fs.fsInfo().btreeInode.writeStats(); }

    private static Writeback.DataWriteStats data(Btrfs fs) { return fs.ctx().writeback.writeStats(); }

    /** A sync writes the running transaction's tree blocks with WB_SYNC_ALL: async high priority only without a fast crc32c. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aSyncSendsTheBtreeThroughTheAsyncPathOnlyWithGenericCrc32c(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a"); // tree blocks dirty in the running transaction, no data
            r.mod.hooks().arm(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, HookAction.count(), -1);
            BtreeInode.WriteStats before = meta(fs);
            fs.sync();
            BtreeInode.WriteStats st = meta(fs);
            long async = st.async() - before.async();
            long asyncHigh = st.asyncHigh() - before.asyncHigh();
            assertEquals(0, async, "WB_SYNC_NONE (writeback_inodes_sb, btrfs_sync_fs(0)) stays below the threshold");
            if (crc == Crc32cImpl.GENERIC) {
                assertTrue(asyncHigh > 0, "sync_inodes_sb: btrfs_wq_submit_bio, REQ_SYNC so high priority: " + st);
                assertEquals(asyncHigh, r.mod.hooks().arrivals(Hook.ASYNC_SUBMIT_BEFORE_QUEUE));
            } else {
                assertEquals(0, asyncHigh, "CSUM_IMPL_FAST: check_async_write says synchronous");
                assertEquals(0, r.mod.hooks().arrivals(Hook.ASYNC_SUBMIT_BEFORE_QUEUE));
                assertTrue(st.sync() > before.sync());
            }
            assertEquals(0, fs.fsInfo().btreeInode.writebackCount(), "syncfs waited for the writes");
            assertTrue(fs.inspect().openTransactions().isEmpty(), "and committed");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** Checksummed data writes go through btrfs_wq_submit_bio whatever the crc32c driver; fsync's do not. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void dataGoesThroughBtrfsWqSubmitBioExceptUnderFsync(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", random(1, 10_000));
            fs.sync(); // writeback_inodes_sb takes the dirty data: WB_SYNC_NONE
            assertEquals(new Writeback.DataWriteStats(0, 1, 0), data(fs));
            try (FileHandle h = fs.open("a")) {
                h.write(random(2, 5000));
                h.syncFileRange(); // WB_SYNC_NONE
                assertEquals(new Writeback.DataWriteStats(0, 2, 0), data(fs));
                r.mod.hooks().arm(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, HookAction.count(), -1);
                long committed = fs.fsInfo().lastTransCommitted();
                h.write(random(3, 3000));
                h.fsync(); // sync_writers: checksummed inline
                assertEquals(new Writeback.DataWriteStats(1, 2, 0), data(fs));
                if (crc == Crc32cImpl.ACCELERATED) {
                    assertEquals(0, r.mod.hooks().arrivals(Hook.ASYNC_SUBMIT_BEFORE_QUEUE), "fsync's data and commit: no async bio");
                }
                assertTrue(fs.fsInfo().lastTransCommitted() > committed, "fsync without a tree log commits");
                assertEquals(18_000, fs.fileSize("a"));
            }
            // WB_SYNC_ALL data without sync_writers (sync_inodes_sb finds data writeback_inodes_sb missed only
            // when it was dirtied in between): driven directly, REQ_SYNC makes it high priority
            fs.writeFile("a", random(4, 100));
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
            }
            org.jbtrfs.cleaner.Inode in = fs.ctx().dcache.lookup(fs.fsInfo().fsRoot(), ino);
            try {
                fs.ctx().writeback.writeInode(InodeData.of(fs.fsInfo(), in), org.jbtrfs.transaction.WbSyncMode.ALL, null);
            } finally {
                fs.ctx().cleaner.inodes().iput(in);
            }
            assertEquals(new Writeback.DataWriteStats(1, 2, 1), data(fs));
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /**
     * The real "worker drops the last reference": an unlinked file is written, its writeback started, and
     * closed while the ordered extent is in flight; the extent's completion on an endio-write worker drops
     * the last reference, btrfs_add_delayed_iput queues the inode and wakes the cleaner, which evicts it.
     */
    @Test
    void anOrderedExtentsCompletionQueuesADelayedIputWhenItHoldsTheLastReference() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("u");
            FileHandle h = fs.open("u");
            fs.unlink("u"); // d_delete: only the handle holds the inode
            h.write(random(5, 8192));
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            h.syncFileRange();
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
            AtomicReference<String> addedBy = new AtomicReference<>();
            r.mod.hooks().arm(Hook.DELAYED_IPUT_ADDED, HookAction.run(() -> addedBy.set(Thread.currentThread().getName())));
            h.close(); // not the last reference: the ordered extent holds one
            assertEquals(1, fs.ctx().cleaner.inodes().removeCount(), "the unlinked inode lives on");
            assertNull(addedBy.get());
            r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            Waits.within(Repro.WAIT).until(() -> addedBy.get() != null);
            assertTrue(addedBy.get().contains("kworker"), "queued by the endio-write worker: " + addedBy.get());
            // btrfs_add_delayed_iput woke the idle cleaner, which evicted the inode
            Waits.within(Repro.WAIT).until(() -> fs.ctx().cleaner.inodes().removeCount() == 0 && fs.inspect().delayedIputs().isEmpty());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** With the file still open the ordered extent's last put only drops its reference: no delayed iput. */
    @Test
    void anOrderedExtentThatIsNotTheLastReferenceJustDropsIt() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            r.mod.hooks().arm(Hook.DELAYED_IPUT_ADDED, HookAction.count(), -1);
            try (FileHandle h = fs.open("f")) {
                h.write(random(6, 4096));
                h.fsync();
                Repro.awaitOrderedExtentsReleased(fs);
                assertEquals(2, fs.ctx().cleaner.inodes().cached(fs.fsInfo().fsRoot(), h.ino()).count(),
                    "dentry + handle: the ordered extent dropped its own");
            }
            assertEquals(0, r.mod.hooks().arrivals(Hook.DELAYED_IPUT_ADDED));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** closeFromWorker: the same mechanism for a linked file (its dentry pruned): one delayed iput, queued by a worker. */
    @Test
    void closeFromWorkerLeavesTheLastReferenceToTheEndioWriteWorker() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("w");
            List<String> addedBy = Collections.synchronizedList(new ArrayList<>());
            r.mod.hooks().arm(Hook.DELAYED_IPUT_ADDED, HookAction.run(() -> addedBy.add(Thread.currentThread().getName())), -1);
            r.mod.hooks().parkAt(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            fs.open("w").closeFromWorker();
            assertEquals(1, addedBy.size());
            assertTrue(addedBy.get(0).contains("kworker"), addedBy.toString());
            r.mod.hooks().awaitParked(Hook.CLEANER_BEFORE_DELAYED_IPUT, Repro.WAIT); // woken, about to iput
            r.mod.hooks().release(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            Repro.awaitCleanerAsleep(fs);
            assertEquals(4096, fs.fileSize("w"));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * Remount of an RW superblock and RW umount run sync_filesystem first: the data is written and its
     * ordered extents finished before REMOUNTING is set and before close_ctree; the data survives.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void remountAndUmountRunSyncFilesystemBeforeTheirCommits(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            r.mod.hooks().arm(Hook.ORDERED_EXTENT_BEFORE_FINISH, HookAction.run(() -> order.add("finish ordered extent")), -1);
            r.mod.hooks().arm(Hook.REMOUNT_AFTER_SET_RO, HookAction.run(() -> order.add("remount: set RO")), -1);
            r.mod.hooks().arm(Hook.UMOUNT_START, HookAction.run(() -> order.add("close_ctree")), -1);
            byte[] a = random(7, 70_000);
            fs.createFile("a");
            fs.writeFile("a", a);
            fs.remount("ro");
            assertEquals(List.of("finish ordered extent", "remount: set RO"), order);
            assertTrue(fs.inspect().openTransactions().isEmpty());
            assertArrayEquals(a, fs.readFile("a"));
            fs.remount("rw");
            byte[] b = random(8, 5000);
            fs.writeFile("a", b);
            fs.umount();
            assertEquals(List.of("finish ordered extent", "remount: set RO", "finish ordered extent", "close_ctree"), order);
            Btrfs again = r.mount("ro");
            byte[] ab = new byte[a.length + b.length];
            System.arraycopy(a, 0, ab, 0, a.length);
            System.arraycopy(b, 0, ab, a.length, b.length);
            assertArrayEquals(ab, again.readFile("a"), "written back by umount's sync_filesystem");
            assertEquals(ab.length, again.fileSize("a"));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** A remount that stays read-write syncs too (sync_filesystem runs for every remount of an RW superblock). */
    @Test
    void aRwToRwRemountWritesBackToo() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", random(11, 3000));
            long committed = fs.fsInfo().lastTransCommitted();
            fs.remount("commit=10");
            assertEquals(new Writeback.DataWriteStats(0, 1, 0), data(fs));
            assertEquals(0, fs.ctx().ordered.pending());
            assertTrue(fs.fsInfo().lastTransCommitted() > committed, "btrfs_sync_fs(1) committed the ordered extent's transaction");
            assertTrue(fs.inspect().openTransactions().isEmpty());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * Deleting a subvolume lets go of its cached inodes (d_invalidate, btrfs_prune_dentries): a dirty file's
     * pages are dropped unwritten, and the root goes on dead_roots exactly once — by inode_tree_del when its
     * last inode leaves (a stress run found it queued twice, then dropped twice, when the port also queued it
     * by hand).
     */
    @Test
    void deletingASubvolumeDropsItsCachedInodesAndQueuesTheRootOnce() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            long id = fs.createSubvolume("sv");
            fs.createFile("sv/a");
            fs.writeFile("sv/a", random(12, 9000));
            fs.sync();
            fs.createFile("sv/b");
            fs.writeFile("sv/b", random(13, 7000)); // dirty when the subvolume goes
            Repro.awaitOrderedExtentsReleased(fs);
            long writesBefore = data(fs).async();
            fs.deleteSubvolume("sv");
            assertEquals(List.of(id), fs.inspect().deadRoots());
            assertEquals(0, fs.fsInfo().fsRootsRadix.get(id).openInodes.get(), "no inode of the dead root is left");
            fs.runCleanerPass(Repro.WAIT);
            assertTrue(fs.inspect().deadRoots().isEmpty());
            assertFalse(fs.inspect().rootItems().containsKey(id), "dropped");
            fs.sync();
            assertEquals(writesBefore, data(fs).async(), "sv/b's dirty pages were never written");
            fs.umount();
            assertFalse(r.logged("Oops"), r.mod.log().dmesg());
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /** An ordered extent in flight when an RO remount starts: btrfs_sync_fs waits for it before the remount goes on. */
    @Test
    void anOrderedExtentInFlightAcrossAnRoRemountIsWaitedFor() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.writeFile("a", random(9, 20_000));
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            AtomicInteger pendingAtSetRo = new AtomicInteger(-1);
            r.mod.hooks().arm(Hook.REMOUNT_AFTER_SET_RO, HookAction.run(() -> pendingAtSetRo.set(fs.ctx().ordered.pending())));
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            r.mod.hooks().awaitParked(Hook.ORDERED_EXTENT_BEFORE_FINISH, Repro.WAIT);
            assertEquals(1, fs.ctx().ordered.pending());
            // sync_filesystem waits in btrfs_wait_ordered_roots for the flush work that waits for the parked ordered
            // extent (read from its stack)
            remount.awaitBlockedIn("OrderedExtent", "waitForCompletion");
            assertFalse(remount.done(), "sync_filesystem cannot return while the ordered extent is in flight");
            r.mod.hooks().release(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            remount.join();
            assertEquals(0, pendingAtSetRo.get(), "every ordered extent completed before the RO flag was set");
            assertTrue(fs.inspect().openTransactions().isEmpty(), "btrfs_finish_ordered_io's transaction committed by the sync");
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    /** Reads see dirty data (i_size at write time); the inode item follows once the ordered extent completes. */
    @Test
    void readsSeeThePageCacheAndTheInodeItemFollowsTheOrderedExtent() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            byte[] a = random(10, 12_345);
            fs.writeFile("a", a);
            assertEquals(a.length, fs.fileSize("a"));
            assertArrayEquals(a, fs.readFile("a"));
            long ino;
            try (FileHandle h = fs.open("a")) {
                ino = h.ino();
            }
            Key item = new Key(ino, ItemType.INODE_ITEM, 0);
            assertEquals(0, InodeItem.decode(Trees.lookup(fs.fsInfo(), fs.fsInfo().fsRoot(), item)).size(), "disk_i_size: nothing written yet");
            assertNull(Trees.lookup(fs.fsInfo(), fs.fsInfo().fsRoot(), new Key(ino, ItemType.EXTENT_DATA, 0)));
            fs.sync();
            assertEquals(a.length, InodeItem.decode(Trees.lookup(fs.fsInfo(), fs.fsInfo().fsRoot(), item)).size());
            assertNotNull(Trees.lookup(fs.fsInfo(), fs.fsInfo().fsRoot(), new Key(ino, ItemType.EXTENT_DATA, 0)));
            assertArrayEquals(a, fs.readFile("a"));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** Appends, some synced, some started, some dirty at umount: every byte is there after the next mount. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void dataSurvivesUmountAndMount(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv");
            java.io.ByteArrayOutputStream expect = new java.io.ByteArrayOutputStream();
            fs.createFile("sv/f");
            try (FileHandle h = fs.open("sv/f")) {
                for (int i = 0; i < 12; i++) {
                    byte[] chunk = random(100 + i, 1 + i * 1_000);
                    h.write(chunk);
                    expect.writeBytes(chunk);
                    switch (i % 4) {
                        case 0 -> fs.sync();
                        case 1 -> h.syncFileRange();
                        case 2 -> h.fsync();
                        default -> { }
                    }
                }
            }
            fs.createFile("gone");
            fs.writeFile("gone", random(99, 5000)); // dirty at unlink: thrown away by the eviction
            fs.unlink("gone");
            fs.umount();
            org.jbtrfs.fs.tools.Check.Report check = org.jbtrfs.fs.tools.Check.check(r.dev);
            assertTrue(check.clean(), check.text()); // extent items match the file extents, usage adds up
            Btrfs again = r.mount("");
            assertArrayEquals(expect.toByteArray(), again.readFile("sv/f"));
            assertEquals(expect.size(), again.fileSize("sv/f"));
            again.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
