package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DATA_RECLAIM_ABORTED_LOOP} (later upstream, 0e24f6d84b4c, v5.16), both directions, both crc32c modes.
 *
 * <p>Kernel or port: kernel — the upstream commit's own soft lockup ("Workqueue: events_unbound
 * btrfs_async_reclaim_data_space ... RIP: btrfs_join_transaction"). Read (v5.11): space-info.c
 * btrfs_async_reclaim_data_space (its first loop runs while !space_info->full, its second starts over while not full),
 * flush_space (ALLOC_CHUNK_FORCE: btrfs_join_transaction, whose -EROFS on an aborted filesystem skips the allocation),
 * block-group.c btrfs_chunk_alloc (the only setter of full), maybe_fail_all_tickets; transaction.c start_transaction
 * (BTRFS_FS_STATE_ERROR: -EROFS). The port met it as soon as the data reservations were ported (stop 56).
 *
 * <p>The filesystem: the data space's room held by the test, a writer whose write does not fit on a ticket, the data work
 * held before its first forced chunk, and a commit that fails (EIO: the transaction aborted). Reverted: the work loops
 * — join refused, no chunk, not full — hundreds of rounds while the writer waits, until the test gives back its bytes
 * (nothing on an aborted filesystem would). Applied: the work sees the error after its first round, fails the ticket
 * with EIO and returns; the writer gets EIO and the umount goes through.
 */
class DataReclaimAbortedLoopTest {
    /** The writer on a ticket, the filesystem aborted, the work released: returns the writer; {@code held} the bytes held. */
    private static TestThread<Void> aWriterOnATicketWhenTheFilesystemAborts(Repro r, Btrfs fs, long[] held) {
        FsInfo info = fs.fsInfo();
        fs.createFile("f");
        held[0] = DataReservationTest.holdDataRoom(info);
        r.mod.hooks().parkAt(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        TestThread<Void> writer = TestThread.run("writer", () -> fs.writeFile("f", new byte[4096]));
        r.mod.hooks().awaitParked(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Repro.WAIT);
        Repro.awaitBlockedOn(fs, "writer", "wait_reserve_ticket");
        abortWithACommitEio(r, fs);
        r.mod.hooks().release(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH);
        return writer;
    }

    /** A commit that fails with EIO: the transaction aborts, the filesystem is in error. */
    private static void abortWithACommitEio(Repro r, Btrfs fs) {
        fs.createFile("g"); // something for the commit to write
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
        assertThrows(BtrfsException.class, fs::sync);
        assertTrue(fs.fsInfo().fsState.test(FsState.ERROR), "the transaction aborted");
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheDataWorkLoopsForEverOnAnAbortedFilesystem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DATA_RECLAIM_ABORTED_LOOP)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> writer = aWriterOnATicketWhenTheFilesystemAborts(r, fs, held);
            try {
                long from = r.mod.hooks().arrivals(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH);
                Waits.within(Repro.WAIT).until(() -> r.mod.hooks().arrivals(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH) > from + 500);
                assertTrue(info.asyncDataReclaim().busy(), "still running: a kworker spinning in flush_space");
                assertFalse(info.space.reservations.dataFull(), "no chunk allocated, so never full");
                assertEquals(1, info.space.reservations.dataTicketsWaiting());
                assertFalse(writer.done());
            } finally {
                info.space.reservations.freeDataBytesMayUse(held[0]); // bytes back: the ticket is granted, the loop ends
            }
            writer.join();
            Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheDataWorkFailsTheTicketsWithEio(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            long[] held = new long[1];
            TestThread<Void> writer = aWriterOnATicketWhenTheFilesystemAborts(r, fs, held);
            BtrfsException e = assertThrows(BtrfsException.class, writer::join);
            assertEquals(Errno.EIO, e.errno(), e.toString());
            Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
            assertEquals(0, info.space.reservations.dataTicketsWaiting());
            assertTrue(r.mod.hooks().arrivals(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH) < 5, "one round, then the bail-out");
            info.space.reservations.freeDataBytesMayUse(held[0]);
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }

    /**
     * Regression (stop 58, found by the explorer: class {@code dbad4537}, seed 58001, every fix applied — a buffered write
     * hung on a data ticket with {@code space_info->flush} clear and the work idle, and the RO remount waiting for the
     * write). Port or kernel: the port's — its maybe_fail_all_tickets kept 5.11's first_ticket_bytes rule (a smaller
     * ticket behind the first sends the flusher round again) under the later upstream fix, whose aborted_fs label
     * ignores the answer and clears the flag. Upstream's fix never met that rule: the maybe_fail_all_tickets it patched
     * (v5.16, the patch's own context) had lost it already, and its message says "simply fail everything". So with the
     * fix applied every ticket fails with EIO once aborted, a smaller one behind a larger one too. Read: 5.12.9's
     * space-info.c maybe_fail_all_tickets (first_ticket_bytes), Josef Bacik's patch (its hunks), mainline's
     * maybe_fail_all_tickets.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedASmallerTicketBehindALargerOneFailsToo(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            fs.createFile("f");
            fs.createFile("h");
            long held = DataReservationTest.holdDataRoom(info);
            r.mod.hooks().parkAt(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Role.WORKER);
            TestThread<Void> larger = TestThread.run("larger", () -> fs.writeFile("f", new byte[8192]));
            r.mod.hooks().awaitParked(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Repro.WAIT);
            Repro.awaitBlockedOn(fs, "larger", "wait_reserve_ticket");
            TestThread<Void> smaller = TestThread.run("smaller", () -> fs.writeFile("h", new byte[4096]));
            Repro.awaitBlockedOn(fs, "smaller", "wait_reserve_ticket");
            assertEquals(2, info.space.reservations.dataTicketsWaiting());
            abortWithACommitEio(r, fs);
            r.mod.hooks().release(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH);
            try {
                Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
                assertEquals(0, info.space.reservations.dataTicketsWaiting(), "no ticket left behind the failed ones");
                for (TestThread<Void> w : java.util.List.of(larger, smaller)) {
                    BtrfsException e = assertThrows(BtrfsException.class, w::join);
                    assertEquals(Errno.EIO, e.errno(), e.toString());
                }
            } finally {
                info.space.reservations.freeDataBytesMayUse(held); // on failure: bytes back, a stranded ticket is granted
            }
            fs.umount();
        }
    }
}
