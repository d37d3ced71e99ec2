package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.BlockRsvs;
import org.jbtrfs.transaction.space.Flush;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DELAYED_REFS_REFILL_RACE} (later upstream, 2ed45c0f1879, v6.6), both directions, both crc32c modes.
 *
 * <p>Found by the explorer with every fix applied (stop 56, seed 56005, cycle 3224: class {@code 6b963799}, unexplained:
 * WARNING at block-rsv.c:458 btrfs_release_global_block_rsv and btrfs_free_block_groups' WARNING at the umount after
 * an injected commit EIO; the dump showed {@code delayed_refs_rsv: size 0 reserved 262144}, one refill's item, and the
 * file lane's fsync had ended with EROFS after 28 ms on a ticket).
 *
 * <p>Kernel or port: kernel. Read (v5.11): transaction.c start_transaction (num_items 0 with FLUSH_ALL and the
 * reserve not full: btrfs_delayed_refs_rsv_refill before join_transaction; join_fail releases trans_block_rsv's
 * num_bytes only, 0 here), join_transaction (-EROFS once BTRFS_FS_STATE_ERROR is set); delayed-ref.c
 * btrfs_delayed_refs_rsv_refill (computes the lack, reserves with btrfs_reserve_metadata_bytes — a ticket when it does
 * not fit — then btrfs_block_rsv_add_bytes(block_rsv, num_bytes, 0): reserved grows, size not), btrfs_delayed_refs_rsv_release
 * (the only trim, run per delayed ref head), btrfs_migrate_to_delayed_refs_rsv (the items path: it frees what the
 * reserve does not lack, so it has no such leak); disk-io.c btrfs_destroy_delayed_refs → btrfs_cleanup_ref_head_accounting
 * (the abort's cleanup, the last release on an aborted filesystem), close_ctree → btrfs_free_block_groups →
 * block-rsv.c btrfs_release_global_block_rsv (WARN_ON(delayed_refs_rsv.reserved &gt; 0)). Mainline: Filipe Manana's
 * 2ed45c0f1879 (v6.6) re-reads the reserve after the reservation and frees what it no longer lacks — for two racing
 * refills, the message says; the abort is the case where nothing trims the excess before the umount. start_transaction's
 * refill and join_fail are unchanged in mainline.
 *
 * <p>The filesystem: delayed refs queued by an unlink (btrfs_start_transaction_fallback_global_rsv: no
 * doubling for them, the reserve lacks bytes), a written file, the metadata
 * room held by the test (a reservation standing for other tasks'), the async reclaim work held before its flush, an
 * fsync on a refill ticket; a commit fails (EIO: the abort's cleanup empties the reserve); the test gives its bytes
 * back, which grants the ticket. Reverted: the refill's item lands in a reserve of size 0, the fsync fails with EROFS,
 * and the umount WARNs. Applied: the refill frees its bytes; the umount is quiet.
 */
class DelayedRefsRefillRaceTest {
    /** Runs the fsync onto its ticket, aborts the filesystem under it, grants the ticket; returns the fsync's error. */
    private static BtrfsException anFsyncRefillGrantedAfterTheAbort(Repro r, Btrfs fs) {
        FsInfo info = fs.fsInfo();
        BlockRsvs rsvs = info.space.rsvs;
        // 5.12's preemptive work held before it runs a round: its delayed-refs flush would run the heads the test needs
        r.mod.hooks().parkAt(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        fs.createFile("f");
        fs.createFile("g");
        fs.writeFile("g", new byte[4096]);
        fs.writeFile("f", new byte[8192]);
        r.mod.hooks().parkAt(Hook.FSYNC_BEFORE_START_TRANSACTION, Role.USER);
        TestThread<Void> fsync = TestThread.run("fsync", () -> {
            try (FileHandle h = fs.open("f")) {
                h.fsync();
            }
        });
        r.mod.hooks().awaitParked(Hook.FSYNC_BEFORE_START_TRANSACTION, Repro.WAIT); // past its writeback and its test
        fs.sync(); // a new transaction: the unlink's COW queues delayed ref heads
        // g's ordered extent may still hold the inode (its last put a delayed iput the cleaner would run later, its
        // eviction's handle then refilling the reserve): let go of it first, so the unlink's iput is the last
        Repro.awaitOrderedExtentsReleased(fs);
        Repro.awaitCleanerAsleep(fs);
        fs.unlink("g"); // btrfs_unlink's FLUSH_ALL_STEAL start does not reserve for the delayed refs it queues
        assertTrue(rsvs.delayedRefsRefillBytes() > 0, "the unlink's delayed refs: the reserve lacks bytes");
        // the reclaim work held first: the held bytes may queue it at once (need_do_async_reclaim), and nothing it does
        // may grant the ticket before the abort
        r.mod.hooks().parkAt(Hook.ASYNC_RECLAIM_BEFORE_FLUSH, Role.WORKER);
        long held = info.space.reservations.room(Flush.FLUSH_ALL) - 4096;
        assertNull(info.space.reservations.reserve(held, Flush.NO_FLUSH));
        rsvs.addBytes(rsvs.chunk, held, true);
        r.mod.hooks().release(Hook.FSYNC_BEFORE_START_TRANSACTION);
        Repro.awaitBlockedOn(fs, "fsync", "wait_reserve_ticket");
        r.mod.hooks().awaitParked(Hook.ASYNC_RECLAIM_BEFORE_FLUSH, Repro.WAIT);
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
        assertThrows(BtrfsException.class, fs::sync);
        assertTrue(info.fsState.test(FsState.ERROR), "the transaction aborted");
        assertEquals(0, rsvs.delayedRefsSize(), "the abort's cleanup destroyed every delayed ref head");
        rsvs.release(rsvs.chunk, held); // another task's reservation back: the refill's ticket is granted
        BtrfsException e = assertThrows(BtrfsException.class, fsync::join);
        r.mod.hooks().release(Hook.ASYNC_RECLAIM_BEFORE_FLUSH);
        r.mod.hooks().release(Hook.PREEMPT_RECLAIM_BEFORE_FLUSH);
        return e;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheRefillLeavesAnItemInAnEmptyReserveForTheUmount(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DELAYED_REFS_REFILL_RACE)) {
            Btrfs fs = r.mountSettled("");
            BtrfsException e = anFsyncRefillGrantedAfterTheAbort(r, fs);
            assertEquals(Errno.EROFS, e.errno(), e.toString());
            BlockRsvs.Counters c = fs.fsInfo().space.rsvs.counters(fs.fsInfo().space.rsvs.delayedRefs);
            assertEquals(0, c.size());
            assertEquals(BlockRsvs.METADATA_ITEM_SIZE, c.reserved(), "one refill's item, beyond the size");
            fs.umount();
            assertTrue(r.logged("at fs/btrfs/block-rsv.c:458 btrfs_release_global_block_rsv"), r.mod.log().dmesg());
            assertTrue(r.logged("btrfs_free_block_groups"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheRefillFreesWhatTheReserveNoLongerLacks(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            BtrfsException e = anFsyncRefillGrantedAfterTheAbort(r, fs);
            assertEquals(Errno.EROFS, e.errno(), e.toString());
            BlockRsvs.Counters c = fs.fsInfo().space.rsvs.counters(fs.fsInfo().space.rsvs.delayedRefs);
            assertEquals(0, c.reserved());
            fs.umount();
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }
}
