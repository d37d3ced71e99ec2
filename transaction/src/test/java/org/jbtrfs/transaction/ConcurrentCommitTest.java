package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;

/**
 * Writers (START handles, a few items each, then end) racing with a committer (join + commit in a
 * loop) on real threads: commits overlap with writers entering, waiting in COMMIT_START and joining
 * the next transaction while the previous one still writes its blocks (UNBLOCKED). In the end every
 * item is on the device, the trees are well formed and nothing is left reserved or allocated.
 */
class ConcurrentCommitTest {
    private static final int WRITERS = 3;
    private static final int PER_WRITER = 3000;
    private static final int PER_HANDLE = 25;

    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @RepeatedTest(3)
    void writersAndACommitterRacingLoseNothing() throws Exception {
        FsInfo fs = t.open();
        AtomicBoolean writing = new AtomicBoolean(true);
        CountDownLatch committing = new CountDownLatch(1);
        // the committer runs first and keeps committing until the writers are done, so the writers
        // always meet commits in every state; how they interleave beyond that is up to the scheduler
        TestThread<Integer> committer = TestThread.call("committer", () -> {
            int commits = 0;
            do {
                Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_committer"));
                commits++;
                committing.countDown();
            } while (writing.get());
            return commits;
        });
        assertTrue(committing.await(Waits.BOUND.toMillis(), TimeUnit.MILLISECONDS));
        List<TestThread<Void>> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int base = w * PER_WRITER;
            writers.add(TestThread.run("writer-" + w, () -> {
                for (int i = 0; i < PER_WRITER; i += PER_HANDLE) {
                    TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_writer");
                    for (int j = i; j < i + PER_HANDLE; j++) {
                        Trees.insert(h, fs.fsRoot(), key(base + j), data(base + j, "c"));
                    }
                    // and some churn in the shared extent tree through the data allocator
                    long bytenr = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, 4096);
                    Extents.freeDataExtent(h, ItemType.FS_TREE_OBJECTID, bytenr, 4096);
                    Transactions.end(h);
                }
            }));
        }
        for (TestThread<Void> w : writers) {
            w.join();
        }
        writing.set(false);
        assertTrue(committer.join() >= 1);
        // the writers' reservations may have queued the reclaim works (5.12's preemptive one above all), whose flush
        // states join a transaction of their own: one joined after the last commit was left RUNNING (CI once, stop 59)
        Waits.within().until(() -> !fs.preemptReclaim().busy() && !fs.asyncReclaim().busy() && !fs.asyncDataReclaim().busy());
        TransHandle last = Transactions.attach(fs, fs.treeRoot(), "test_last");
        if (last != null) {
            Transactions.commit(last);
        }
        assertEquals(List.of(), fs.transList());
        assertEquals(0, fs.space.counters(BlockGroupType.METADATA).reserved());
        assertEquals(0, fs.space.counters(BlockGroupType.DATA).reserved());
        assertEquals(0, fs.space.rsvs.delayedRefsSize());
        assertEquals(0, t.kernel.slabs().cache("btrfs_delayed_ref_head").inUse());
        assertEquals(0, t.kernel.slabs().cache("extent_state").inUse());
        t.closeClean(fs);

        FsInfo again = t.open();
        TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        TreeChecker.check(again.btreeInode::readTreeBlock, again.extentRoot().node());
        List<TreeItem> items = Trees.range(again, again.fsRoot(), key(0), key(WRITERS * PER_WRITER - 1));
        assertEquals(WRITERS * PER_WRITER, items.size());
        for (int i = 0; i < items.size(); i++) {
            assertEquals(key(i), items.get(i).key());
            assertArrayEquals(data(i, "c"), items.get(i).data());
        }
        long metadataItems = Trees.range(again, again.extentRoot(), Key.MIN, Key.MAX).stream()
            .filter(it -> it.key().type() == ItemType.METADATA_ITEM).count();
        assertEquals(again.space.counters(BlockGroupType.METADATA).used(), metadataItems * 16384);
        assertEquals(0, again.space.counters(BlockGroupType.DATA).used(), "every data extent was freed again");
        t.closeClean(again);
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload());
    }
}
