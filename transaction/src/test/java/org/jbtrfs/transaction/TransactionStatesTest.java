package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Transaction states and who may enter them (the btrfs_blocked_trans_types table), driven by held
 * handles: a commit waits in COMMIT_START for the external writers (START / ATTACH handles) and in
 * COMMIT_DOING for every other writer, so holding one of each keeps it in the state under test.
 */
class TransactionStatesTest {
    private final TestFs t = new TestFs();
    private FsInfo fs;

    @BeforeEach
    void mount() { fs = t.open(); }

    /** What {@code thread} sleeps on in the module's kernel, as Sched names it ("wait_current_trans", ...). */
    private String sleepingOn(String thread) { return t.kernel.sched().blocked().get(thread); }

    @AfterEach
    void unload() { t.close(); }

    /**
     * start_transaction() reads root->fs_info first: a NULL root (the qgroup rescan worker's quota_root after quota
     * disable, {@code FixSwitch.QUOTA_RESCAN_DISABLE_NULL_DEREF}) is an oops there, before any reservation, lock or
     * handle. The port once let it through, and its caller died later holding a handle: every later commit waited
     * for it (the explorer's seed-8008 hang, a port bug).
     */
    /**
     * A search of a NULL root through a live handle (the rescan worker's update_qgroup_status_item after quota disable
     * cleared quota_root, stop 53) is the kernel's NULL-pointer oops in btrfs_search_slot, not a Java exception.
     */
    @Test
    void aSearchOfANullRootIsAnOopsInBtrfsSearchSlot() {
        TransHandle h = Transactions.join(fs, fs.treeRoot(), "test_search");
        org.jbtrfs.core.KernelOops oops = org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.KernelOops.class,
            () -> Trees.update(h, null, new org.jbtrfs.core.disk.Key(1, org.jbtrfs.core.disk.ItemType.ROOT_ITEM, 0), new byte[0]));
        assertEquals("BUG: kernel NULL pointer dereference, address: 0000000000000000", oops.getMessage());
        assertTrue(t.kernel.log().contains("RIP: 0010:btrfs_search_slot"), t.kernel.log().dmesg());
        Transactions.commit(h);
    }

    @Test
    void aNullRootOopsBeforeAnyHandleOrTransaction() {
        Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_settle"));
        long mark = t.kernel.log().mark();
        org.jbtrfs.core.KernelOops oops = org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.KernelOops.class,
            () -> Transactions.start(fs, null, 1, "btrfs_qgroup_rescan_worker"));
        assertEquals("BUG: kernel NULL pointer dereference, address: 0000000000000000", oops.getMessage());
        assertEquals(1, t.kernel.log().since(mark).stream().filter(e -> e.kind() == org.jbtrfs.core.LogEntry.Kind.OOPS).count());
        synchronized (fs.transLock) {
            assertEquals(null, fs.runningTransaction, "nothing joined, nothing created");
        }
        Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_after")); // no handle left behind to wait for
    }

    @Test
    void commitStartBlocksStartAndAttachAdmitsJoinThenCommitDoingBlocksJoinToo() throws Exception {
        // 1. An external writer (TRANS_START) holds the running transaction.
        TransHandle external = Transactions.start(fs, fs.fsRoot(), 1, "test_external_writer");
        Transaction cur = external.transaction();
        Trees.insert(external, fs.fsRoot(), key(1), data(1, "a"));

        // 2. A committer joins and commits: COMMIT_START, waiting for the external writer.
        TestThread<Void> committer = TestThread.run("committer", () -> Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_commit"))).describedBy(this::sleepingOn);
        Waits.within().until(() -> cur.state() == TransState.COMMIT_START);
        committer.awaitBlockedOn("commit: wait for external writers");

        // 3. In COMMIT_START, JOIN joins the committing transaction; START and ATTACH wait.
        TransHandle joined = Transactions.join(fs, fs.fsRoot(), "test_join_in_commit_start");
        assertSame(cur, joined.transaction());
        TestThread<TransHandle> starter = TestThread.call("starter", () -> Transactions.start(fs, fs.fsRoot(), 1, "test_start")).describedBy(this::sleepingOn);
        TestThread<TransHandle> attacher = TestThread.call("attacher", () -> Transactions.attach(fs, fs.fsRoot(), "test_attach")).describedBy(this::sleepingOn);
        starter.awaitBlockedOn("wait_current_trans");
        attacher.awaitBlockedOn("wait_current_trans");
        assertEquals(TransState.COMMIT_START, cur.state());

        // 4. The external writer ends: COMMIT_DOING, the commit now waits for the joined handle.
        Transactions.end(external);
        Waits.within().until(() -> cur.state() == TransState.COMMIT_DOING);
        committer.awaitBlockedOn("commit: wait for writers");

        // 5. In COMMIT_DOING, JOIN and JOIN_NOSTART wait too; START and ATTACH still do.
        TestThread<TransHandle> joiner = TestThread.call("joiner", () -> Transactions.join(fs, fs.fsRoot(), "test_join_in_commit_doing")).describedBy(this::sleepingOn);
        TestThread<TransHandle> nostart = TestThread.call("nostart", () -> Transactions.joinNostart(fs, fs.fsRoot(), "test_join_nostart")).describedBy(this::sleepingOn);
        joiner.awaitBlockedOn("wait_current_trans");
        nostart.awaitBlockedOn("wait_current_trans");
        // still waiting (awaited, not sampled: a notifyAll on trans_lock wakes them to re-check for a moment)
        starter.awaitBlockedOn("wait_current_trans");
        attacher.awaitBlockedOn("wait_current_trans");
        assertEquals(List.of(cur), fs.transList());

        // 6. The last other writer ends: the commit passes and lets everyone through.
        Transactions.end(joined);
        committer.join();
        assertEquals(TransState.COMPLETED, cur.state());
        assertEquals(cur.transid, fs.lastTransCommitted());
        assertEquals(cur.transid, t.onDiskGeneration());

        // START and JOIN enter the next transaction; ATTACH and JOIN_NOSTART, having waited, report
        // -ENOENT (null) as start_transaction does after wait_current_trans.
        TransHandle started = starter.join();
        TransHandle joinedLater = joiner.join();
        assertEquals(cur.transid + 1, started.transid());
        assertSame(started.transaction(), joinedLater.transaction());
        assertNull(attacher.join());
        assertNull(nostart.join());
        Transactions.end(joinedLater);
        Transactions.commit(started);
        assertEquals(List.of(), fs.transList());
        t.closeClean(fs);
        assertEquals(List.of(), t.unload());
    }

    @Test
    void aSecondCommitterOfTheSameTransactionWaitsForTheFirst() throws Exception {
        TransHandle external = Transactions.start(fs, fs.fsRoot(), 1, "test_external_writer");
        Transaction cur = external.transaction();
        Trees.insert(external, fs.fsRoot(), key(1), data(1, "a"));
        TestThread<Void> first = TestThread.run("first-committer", () -> Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_commit"))).describedBy(this::sleepingOn);
        Waits.within().until(() -> cur.state() == TransState.COMMIT_START);
        first.awaitBlockedOn("commit: wait for external writers");

        // the external writer commits too: the transaction is already committing, so its commit
        // drops the handle (which lets the first one go on) and waits for that commit to complete
        Transactions.commit(external);
        first.join();
        assertEquals(TransState.COMPLETED, cur.state());
        assertEquals(cur.transid, t.onDiskGeneration());
        t.closeClean(fs);
        assertEquals(List.of(), t.unload());
    }

    @Test
    void attachAndJoinNostartWithNothingRunningReturnNull() {
        assertNull(fs.runningTransaction());
        assertNull(Transactions.attach(fs, fs.treeRoot(), "test_attach"));
        assertNull(Transactions.joinNostart(fs, fs.treeRoot(), "test_join_nostart"));
        assertNull(fs.runningTransaction(), "neither created a transaction");
        assertEquals(List.of(), fs.transList());

        TransHandle joined = Transactions.join(fs, fs.treeRoot(), "test_join");
        TransHandle attached = Transactions.attach(fs, fs.treeRoot(), "test_attach");
        TransHandle nostart = Transactions.joinNostart(fs, fs.treeRoot(), "test_join_nostart");
        assertNotNull(attached);
        assertSame(joined.transaction(), attached.transaction());
        assertSame(joined.transaction(), nostart.transaction());
        assertEquals(List.of("test_join [JOIN] in main", "test_attach [ATTACH] in main", "test_join_nostart [JOIN_NOSTART] in main"),
            joined.transaction().handles().stream().map(Object::toString).toList(), "handles record who opened them");
        Transactions.end(attached);
        Transactions.end(nostart);
        Transactions.commit(joined);
        t.closeClean(fs);
    }

    @Test
    void endNeverCommits() {
        long genOnDisk = t.onDiskGeneration();
        long committed = fs.lastTransCommitted();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_end");
        Transaction cur = h.transaction();
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        Transactions.end(h);

        assertEquals(TransState.RUNNING, cur.state());
        assertSame(cur, fs.runningTransaction());
        assertEquals(List.of(cur), fs.transList(), "trans_list still holds it");
        assertEquals(genOnDisk, t.onDiskGeneration(), "no superblock was written");
        assertEquals(committed, fs.lastTransCommitted());
        assertEquals(committed, fs.superCopy().generation);
        synchronized (fs.transLock) {
            assertEquals(0, cur.numWriters);
            assertEquals(0, cur.numExtwriters);
        }
        // a later handle joins the same transaction, and ending it again commits nothing either
        TransHandle again = Transactions.start(fs, fs.fsRoot(), 1, "test_end_again");
        assertSame(cur, again.transaction());
        Transactions.endThrottle(again);
        assertEquals(genOnDisk, t.onDiskGeneration());
        assertThrows(IllegalStateException.class, () -> Transactions.end(again), "a handle ends once");
        assertThrows(IllegalStateException.class, () -> Trees.insert(again, fs.fsRoot(), key(2), data(2, "a")),
            "no tree change through an ended handle");

        // only a commit writes it
        Transactions.commit(Transactions.attach(fs, fs.treeRoot(), "test_commit"));
        assertEquals(cur.transid, t.onDiskGeneration());
        assertEquals(List.of(), fs.transList());
        t.closeClean(fs);
    }

    @Test
    void noReadOnlyCheckButAnErrorStateRefusesNewHandles() {
        fs.setSbRdonly();
        TransHandle h = Transactions.join(fs, fs.fsRoot(), "test_join_on_ro");
        assertNotNull(h, "the transaction layer has no RO check: kernel threads open transactions on an RO fs");
        Transactions.commit(h);

        fs.fsState.set(FsState.ERROR);
        BtrfsException e = assertThrows(BtrfsException.class, () -> Transactions.start(fs, fs.fsRoot(), 1, "test_start"));
        assertEquals(Errno.EROFS, e.errno());
        assertFalse(fs.transList().iterator().hasNext());
        fs.fsState.clear(FsState.ERROR);
        t.closeClean(fs);
    }

    /**
     * The failed commit tears its own transaction down (cleanup_transaction, v5.11 transaction.c: off trans_list,
     * btrfs_cleanup_one_transaction, running_transaction cleared) — close_ctree's btrfs_error_commit_super then finds
     * nothing. Port bug found in stop 22: the port's commit left the aborted transaction on trans_list for
     * btrfs_error_commit_super, so once that ran early (df94a342efb4, ERROR_COMMIT_SUPER_EARLY) a commit failing in
     * close_ctree's own btrfs_commit_super left it to patch 4/5's assertion (the explorer, seed 39039, at f233a22:
     * {@code leak:btrfs_commit_super@dev2}).
     */
    @Test
    void aFailedCommitAbortsReleasesTheWaitersWithErofsAndTearsItselfDown() throws Exception {
        long gen = t.onDiskGeneration();
        TransHandle external = writerWithTheCommitFaultArmed("test_external_writer", Fault.COMMIT_TRANSACTION_EIO);
        Transaction cur = external.transaction();

        TestThread<Void> committer = TestThread.run("committer", () -> Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_commit"))).describedBy(this::sleepingOn);
        Waits.within().until(() -> cur.state() == TransState.COMMIT_START);
        TestThread<TransHandle> starter = TestThread.call("starter", () -> Transactions.start(fs, fs.fsRoot(), 1, "test_start")).describedBy(this::sleepingOn);
        starter.awaitBlockedOn("wait_current_trans");
        Transactions.end(external);

        // the commit fails writing: the transaction is aborted, the filesystem goes into error state
        BtrfsException e = assertThrows(BtrfsException.class, committer::join);
        assertEquals(Errno.EIO, e.errno());
        assertTrue(cur.aborted && fs.fsState.test(FsState.ERROR) && fs.fsState.test(FsState.TRANS_ABORTED));
        assertTrue(t.kernel.log().contains("BTRFS critical (device sdc): Transaction aborted"), t.kernel.log().dmesg());
        // the START waiting for that commit is let go with -EROFS, and so is every later handle
        assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, starter::join).errno());
        assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> Transactions.join(fs, fs.treeRoot(), "x")).errno());
        assertEquals(gen, t.onDiskGeneration(), "nothing of it was written");
        // cleanup_transaction: off trans_list, torn down, no running transaction
        assertEquals(List.of(), fs.transList());
        assertNull(fs.runningTransaction());
        assertEquals(TransState.COMPLETED, cur.state());
        for (String cache : List.of("btrfs_delayed_ref_head", "btrfs_delayed_tree_ref", "btrfs_delayed_extent_op",
            "extent_state", "btrfs_trans_handle")) {
            assertEquals(0, t.kernel.slabs().cache(cache).inUse(), cache);
        }

        // close_ctree in error state: btrfs_error_commit_super → btrfs_cleanup_transaction, nothing left to do
        DiskIo.errorCommitSuper(fs);
        assertEquals(List.of(), fs.transList());
        t.closeTail(fs);
        assertEquals(0, t.kernel.log().count(org.jbtrfs.core.LogEntry.Kind.WARNING), t.kernel.log().dmesg());
        assertEquals(List.of(), t.unload());
    }

    /**
     * {@link Fault#WRITE_AND_WAIT_TRANSACTION_EIO} (stop 66): the tree block writes fail where the kernel writes them —
     * btrfs_write_and_wait_transaction, after switch_commit_roots and with the transaction UNBLOCKED, so a new transaction
     * has started meanwhile; btrfs_handle_fs_error ("errno=-5"), then cleanup_transaction's abort. The commit roots are
     * the failed transaction's, nothing of it reached the disk, the new transaction is refused its commit (the
     * filesystem is in error), and the teardown leaves nothing behind. Read: btrfs_commit_transaction, cleanup_transaction
     * (transaction.c v5.11), btrfs_write_and_wait_transaction.
     */
    @Test
    void aCommitWhoseBlockWritesFailHasSwitchedItsRootsAndLetTheNextTransactionStart() throws Exception {
        long gen = t.onDiskGeneration();
        TransHandle h = writerWithTheCommitFaultArmed("test_writer", Fault.WRITE_AND_WAIT_TRANSACTION_EIO);
        Transaction cur = h.transaction();
        t.kernel.hooks().parkAt(Hook.COMMIT_AFTER_UNBLOCKED);
        TestThread<Void> committer = TestThread.run("committer", () -> Transactions.commit(h)).describedBy(this::sleepingOn);
        t.kernel.hooks().awaitParked(Hook.COMMIT_AFTER_UNBLOCKED, Waits.BOUND);
        assertEquals(fs.fsRoot().node(), fs.fsRoot().commitRoot(), "switch_commit_roots ran");
        TransHandle next = Transactions.start(fs, fs.fsRoot(), 1, "test_next"); // UNBLOCKED: a new transaction starts
        assertEquals(cur.transid + 1, next.transaction().transid);
        t.kernel.hooks().disarm(Hook.COMMIT_AFTER_UNBLOCKED);

        BtrfsException e = assertThrows(BtrfsException.class, committer::join);
        assertEquals(Errno.EIO, e.errno());
        assertTrue(t.kernel.log().contains("in btrfs_commit_transaction: errno=-5 EIO"), t.kernel.log().dmesg());
        assertTrue(t.kernel.log().contains("Transaction aborted (error EIO: error while writing out transaction"));
        assertTrue(cur.aborted && fs.fsState.test(FsState.ERROR));
        assertEquals(gen, t.onDiskGeneration(), "nothing of it was written");
        assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> Transactions.commit(next)).errno(),
            "the transaction started meanwhile is refused its commit");
        DiskIo.errorCommitSuper(fs);
        assertEquals(List.of(), fs.transList());
        t.closeTail(fs);
        assertEquals(List.of(), t.unload());
    }

    /**
     * A second handle's commit of a transaction another task is already committing ends its handle and waits for that
     * commit (wait_for_commit: COMPLETED, which an aborted commit's cleanup reaches too), then returns
     * {@code cur_trans->aborted} when it failed — the failed write's -EIO. Stop 68, port bug: the port returned normally
     * (its wait ended on COMPLETED or aborted and looked no further). Read: btrfs_commit_transaction (v5.11
     * transaction.c:2102–2116), wait_for_commit, cleanup_transaction.
     */
    @Test
    void aCommitWaitingForAnotherTasksFailedCommitReturnsItsError() throws Exception {
        TransHandle second = Transactions.start(fs, fs.fsRoot(), 1, "test_second");
        TransHandle h = writerWithTheCommitFaultArmed("test_writer", Fault.WRITE_AND_WAIT_TRANSACTION_EIO);
        assertSame(h.transaction(), second.transaction());
        TestThread<Void> committer = TestThread.run("committer", () -> Transactions.commit(h)).describedBy(this::sleepingOn);
        committer.awaitBlockedOn("commit: wait for external writers"); // the second handle is one
        TestThread<Void> waiter = TestThread.run("waiter", () -> Transactions.commit(second));
        BtrfsException failed = assertThrows(BtrfsException.class, committer::join);
        assertEquals(Errno.EIO, failed.errno());
        BtrfsException e = assertInstanceOf(BtrfsException.class, waiter.failure(), "the commit it waited for failed");
        assertEquals(Errno.EIO, e.errno(), "cur_trans->aborted");
        DiskIo.errorCommitSuper(fs);
        t.closeTail(fs);
        assertEquals(List.of(), t.unload());
    }

    /**
     * A transaction aborted by another of its handles while the commit waits in COMMIT_DOING for the writers: the commit
     * stops there ({@code if (TRANS_ABORTED(cur_trans)) { ret = cur_trans->aborted; goto scrub_continue; }}) and returns the
     * abort's errno — no delayed ref is run, no root switched, the transaction never UNBLOCKED. Stop 68, port bug: the
     * port had no such test and committed on to the write, which refused it (-EROFS). Read: btrfs_commit_transaction
     * (v5.11 transaction.c:2179–2194, 2280–2287), cleanup_transaction.
     */
    @Test
    void aCommitWhoseTransactionAnotherHandleAbortsWhileItWaitsForTheWritersStopsThere() throws Exception {
        TransHandle joiner = Transactions.join(fs, fs.fsRoot(), "test_joiner"); // a writer, not an external one
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_writer");
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        Transaction cur = h.transaction();
        long gen = t.onDiskGeneration();
        TestThread<Void> committer = TestThread.run("committer", () -> Transactions.commit(h)).describedBy(this::sleepingOn);
        committer.awaitBlockedOn("commit: wait for writers");
        t.kernel.hooks().arm(Hook.COMMIT_AFTER_UNBLOCKED, org.jbtrfs.core.HookAction.count());
        Transactions.abort(fs, cur, new BtrfsException(Errno.ENOSPC, "the joiner's error"));
        Transactions.end(joiner);
        BtrfsException e = assertThrows(BtrfsException.class, committer::join);
        assertEquals(Errno.ENOSPC, e.errno(), "cur_trans->aborted");
        assertEquals(0, t.kernel.hooks().hits(Hook.COMMIT_AFTER_UNBLOCKED), "the aborted commit went on");
        assertEquals(gen, t.onDiskGeneration());
        DiskIo.errorCommitSuper(fs);
        assertEquals(List.of(), fs.transList());
        t.closeTail(fs);
        assertEquals(List.of(), t.unload());
    }

    /** A handle of a transaction with one item inserted, {@code fault} armed once for its commit. */
    private TransHandle writerWithTheCommitFaultArmed(String name, Fault fault) {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, name);
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        t.kernel.faults().armOnce(fault);
        return h;
    }

    /**
     * btrfs_cleanup_transaction runs under transaction_kthread_mutex, so close_ctree's btrfs_error_commit_super waits
     * for a cleanup the transaction kthread started (after an abort, its loop calls btrfs_cleanup_transaction too) to
     * end — its wait for the ordered extents and its last puts of them — before it runs the delayed iputs. Port bug
     * found by the explorer's error paths ({@code --faults all --filesystems 4}, seed 34034, class {@code
     * assert:list_empty(&fs_info->delayed_iputs)@lifecycle}: the transaction kthread, still in its cleanup's wait,
     * dropped an ordered extent's last reference after close_ctree had run the delayed iputs). Decision: port bug.
     * Kernel functions read (v5.11 disk-io.c): btrfs_cleanup_transaction takes transaction_kthread_mutex first and
     * releases it after btrfs_destroy_all_ordered_extents; transaction_kthread calls it when BTRFS_FS_STATE_ERROR
     * is set; btrfs_error_commit_super calls it before btrfs_run_delayed_iputs.
     */
    @Test
    void theCleanupWaitsForTheTransactionKthreadMutex() throws Exception {
        fs.transactionKthreadMutex.lock(); // the transaction kthread inside its own cleanup
        TestThread<Void> errorCommit = TestThread.run("umount", () -> DiskIo.errorCommitSuper(fs));
        try {
            Waits.within().until(() -> fs.transactionKthreadMutex.hasQueuedThread(errorCommit.thread()));
            assertFalse(errorCommit.done(), "close_ctree's cleanup waits for the kthread's");
        } finally {
            fs.transactionKthreadMutex.unlock();
        }
        errorCommit.join();
        t.closeTail(fs);
        assertEquals(List.of(), t.unload());
    }
}
