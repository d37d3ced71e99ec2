package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.ctree.TreeChecker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A tree block freed by one transaction is unpinned at the end of its commit
 * (btrfs_finish_extent_commit), while the next transaction already runs and allocates (the commit is
 * UNBLOCKED). The block's old extent buffer must leave the btree inode's page cache before its space
 * becomes allocatable again: otherwise the next transaction can allocate that bytenr, install its new
 * buffer, and have it dropped from the cache and from the dirty set by the late "forget" of the old
 * one. The new block is then never written; the parent points at it with the new generation and the
 * device holds the old block ("parent transid verify failed").
 *
 * <p>This test cannot stop a thread between the unpin and the forget (there is no hook there), so it
 * provokes the race: a committer repeatedly commits transactions that free dozens of leaves while a
 * writer allocates in the next transaction; the allocator is first-fit, so it hands out the lowest
 * free block — the ones just unpinned. Before the fix this lost a block in most runs of a few hundred
 * commits; with it, the tree read back from the device is always complete.
 */
class FreedBlockReuseTest {
    private static final int ITEMS = 3000;
    private static final int ROUNDS = 300;

    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void aBlockFreedByACommitIsNeverLostToTheNextTransaction() throws Exception {
        FsInfo fs = t.open();
        Map<Key, byte[]> expected = new ConcurrentHashMap<>();
        TransHandle populate = Transactions.start(fs, fs.fsRoot(), 1, "test_populate");
        for (int i = 0; i < ITEMS; i++) {
            byte[] v = value(i, 0, 600);
            Trees.insert(populate, fs.fsRoot(), key(i), v);
            expected.put(key(i), v);
        }
        Transactions.commit(populate);

        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch writing = new CountDownLatch(1);
        // the writer owns the odd items and new keys from ITEMS * 2 on
        TestThread<Integer> writer = TestThread.call("writer", () -> {
            SplittableRandom rnd = new SplittableRandom(1);
            int n = 0;
            while (!stop.get()) {
                TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_writer");
                int i = rnd.nextInt(ITEMS / 2) * 2 + 1;
                byte[] v = value(i, ++n, 600);
                Trees.update(h, fs.fsRoot(), key(i), v);
                expected.put(key(i), v);
                byte[] nv = value(ITEMS * 2 + n, n, 40);
                Trees.insert(h, fs.fsRoot(), key(ITEMS * 2 + n), nv);
                expected.put(key(ITEMS * 2 + n), nv);
                Transactions.end(h);
                writing.countDown();
            }
            return n;
        });
        writing.await(Waits.BOUND.toMillis(), TimeUnit.MILLISECONDS);
        // the committer owns the even items: each round COWs ~40 leaves, freed (pinned) by its commit
        SplittableRandom rnd = new SplittableRandom(2);
        for (int round = 1; round <= ROUNDS; round++) {
            TransHandle h = Transactions.join(fs, fs.fsRoot(), "test_committer");
            for (int j = 0; j < 40; j++) {
                int i = rnd.nextInt(ITEMS / 2) * 2;
                byte[] v = value(i, round, 600);
                Trees.update(h, fs.fsRoot(), key(i), v);
                expected.put(key(i), v);
            }
            Transactions.commit(h);
        }
        stop.set(true);
        writer.join();
        t.closeClean(fs);

        FsInfo again = t.open();
        TreeChecker.check(again.btreeInode::readTreeBlock, again.fsRoot().node());
        TreeChecker.check(again.btreeInode::readTreeBlock, again.extentRoot().node());
        List<TreeItem> items = Trees.range(again, again.fsRoot(), key(0), Key.MAX);
        assertEquals(expected.size(), items.size());
        for (TreeItem it : items) {
            assertArrayEquals(expected.get(it.key()), it.data(), it.key().toString());
        }
        t.closeClean(again);
        assertEquals(0, t.kernel.log().count(LogEntry.Kind.WARNING), t.kernel.log().dmesg());
    }

    private static byte[] value(long i, int round, int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) (i * 31 + round));
        b[0] = (byte) round;
        b[1] = (byte) (round >>> 8);
        return b;
    }
}
