package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.kernel.WaitGraph;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Who the transaction's waits name for the deadlock oracle ({@link TransWaits}): a commit in COMMIT_START waits for
 * each external writer's task, a TRANS_START behind it for the committer or any writer (which may abort it) — and for
 * nobody once the filesystem is in error state, when anyone may clean the transaction up. A writer that merely runs
 * (here: waits on a latch, no kernel sleep) keeps everything free: no deadlock.
 */
class TransWaitsTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    @Test
    void aCommitNamesItsWritersAndAStartBehindItTheCommitterOrAWriter() throws Exception {
        FsInfo fs = t.open();
        CountDownLatch end = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        TestThread<Void> writer = TestThread.run("writer", () -> {
            TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test_writer");
            started.countDown();
            end.await();
            Transactions.end(h);
        });
        started.await();
        TestThread<Void> committer = TestThread.run("committer",
            () -> Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_committer")));
        Waits.within().until(() -> "commit: wait for external writers".equals(t.kernel.sched().blocked().get("committer")));
        TestThread<Void> starter = TestThread.run("starter",
            () -> Transactions.end(Transactions.start(fs, fs.treeRoot(), 1, "test_starter")));
        Waits.within().until(() -> "wait_current_trans".equals(t.kernel.sched().blocked().get("starter")));

        String sleeps = WaitGraph.describeSleeps(t.kernel.sched());
        assertTrue(sleeps.contains("committer: commit: wait for external writers -> each of writer"), sleeps);
        assertTrue(sleeps.contains("starter: wait_current_trans -> any of committer, writer"), sleeps);
        assertTrue(WaitGraph.find(t.kernel.sched(), 0).isEmpty(), "the writer runs: nobody is stuck");

        fs.fsState.set(FsState.ERROR);
        sleeps = WaitGraph.describeSleeps(t.kernel.sched());
        assertTrue(sleeps.contains("starter: wait_current_trans -> nobody known"), sleeps);
        fs.fsState.clear(FsState.ERROR);

        end.countDown();
        writer.join();
        committer.join();
        starter.join();
        assertEquals(0, t.kernel.sched().sleepers());
    }
}
