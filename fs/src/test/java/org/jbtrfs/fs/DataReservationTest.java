package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The data space reservations of a buffered write and the async data reclaim work (stop 56), as 5.11 has them:
 * delalloc-space.c btrfs_check_data_free_space → btrfs_alloc_data_chunk_ondemand → space-info.c btrfs_reserve_data_bytes
 * (BTRFS_RESERVE_FLUSH_DATA: __reserve_bytes, no overcommit for data, a ticket and async_data_reclaim_work when the bytes
 * do not fit), btrfs_async_reclaim_data_space (forced chunks while not full, then data_flush_states), file.c
 * btrfs_buffered_write (data before metadata; btrfs_dirty_pages clears EXTENT_DELALLOC | EXTENT_DO_ACCOUNTING over
 * the range first, so a sector written twice holds one reservation), inode.c cow_file_range → extent-tree.c
 * btrfs_reserve_extent → btrfs_add_reserved_bytes (bytes_may_use → bytes_reserved), btrfs_invalidatepage and
 * btrfs_clear_delalloc_extent (EXTENT_CLEAR_DATA_RESV: a truncated or evicted page's reservation back). Port checks, no
 * switch: what the kernel accounts, the port accounts.
 */
class DataReservationTest {
    private static final int SECTOR = 4096;

    private static long mayUse(Btrfs fs) { return fs.fsInfo().space.reservations.dataMayUse(); }

    /** What a data reservation may still take without a ticket: total_bytes less every byte counted. */
    static long dataRoom(FsInfo info) {
        var c = info.space.counters(BlockGroupType.DATA);
        return c.total() - c.used() - c.reserved() - c.pinned() - c.mayUse();
    }

    /**
     * Reserves all of {@link #dataRoom} (granted at once: no ticket), standing for writers' reservations; returns the
     * bytes held, for {@code freeDataBytesMayUse} at the end.
     */
    static long holdDataRoom(FsInfo info) {
        long held = dataRoom(info);
        if (held > 0) {
            assertNull(info.space.reservations.reserveData(held));
        }
        return held;
    }

    @Test
    void aWriteReservesItsSectorsOnceAndWritebackMovesThemToTheExtent() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[10_000]);
            assertEquals(3L * SECTOR, mayUse(fs), "three sectors for 10,000 bytes");
            try (FileHandle h = fs.open("f")) {
                h.pwrite(100, new byte[200]); // sector 0 again: reserved, then its old reservation given back
                h.pwrite(9_000, new byte[4_000]); // sectors 2 and 3: one new
            }
            assertEquals(4L * SECTOR, mayUse(fs));
            long usedBefore = fs.fsInfo().space.counters(BlockGroupType.DATA).used();
            fs.sync();
            Repro.awaitOrderedExtentsReleased(fs);
            assertEquals(0, mayUse(fs), "cow_file_range made them the extent's");
            assertEquals(usedBefore + 4L * SECTOR, fs.fsInfo().space.counters(BlockGroupType.DATA).used());
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }

    @Test
    void truncatedAndEvictedDirtyPagesGiveTheirReservationBack() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[5 * SECTOR]);
            fs.truncate("f", SECTOR + 1);
            // the pages beyond the new size gave theirs back; btrfs_truncate's btrfs_wait_ordered_range wrote back the one
            // holding it (its reservation is its extent's now); the first page is still dirty
            assertEquals(SECTOR, mayUse(fs));
            fs.unlink("f");
            Waits.within(Repro.WAIT).until(() -> mayUse(fs) == 0); // evicted: truncate_inode_pages_final
            fs.umount();
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aWriteBeyondTheDataSpaceWaitsForTheWorkWhichForcesAChunk(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            int chunks = info.space.blockGroupCount(BlockGroupType.DATA);
            long room = dataRoom(info);
            fs.createFile("f");
            r.mod.hooks().parkAt(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Role.WORKER);
            TestThread<Void> writer = TestThread.run("writer", () -> fs.writeFile("f", new byte[(int) room + SECTOR]));
            r.mod.hooks().awaitParked(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Repro.WAIT);
            Repro.awaitBlockedOn(fs, "writer", "wait_reserve_ticket");
            assertEquals(1, info.space.reservations.dataTicketsWaiting());
            r.mod.hooks().release(Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH);
            writer.join();
            assertEquals(chunks + 1, info.space.blockGroupCount(BlockGroupType.DATA), "ALLOC_CHUNK_FORCE");
            Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
            assertEquals(0, info.space.reservations.dataTicketsWaiting());
            fs.sync();
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }

    /**
     * Regression test (stop 56, a port bug the data reservations exposed — met as a flaky SpaceCacheOptionsTest in a
     * clean-clone run): btrfs_delete_unused_bgs marks an empty data group read-only with inc_block_group_ro(cache, 0),
     * which refuses (-ENOSPC) when the space_info's used, reserved, pinned, read-only and bytes_may_use bytes plus the
     * group's would exceed the total — the buffered writes' reservations need it. The port's check had only "not the
     * last group of its type": the cleaner removed a group the reservations needed. Read: block-group.c
     * btrfs_delete_unused_bgs, inc_block_group_ro (5.11).
     */
    @Test
    void theCleanerKeepsAnEmptyDataGroupTheReservationsNeed() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
            int groups = info.space.blockGroupCount(BlockGroupType.DATA);
            long held = holdDataRoom(info);
            assertTrue(held > 0);
            fs.runCleanerPass(Repro.WAIT);
            assertEquals(groups, info.space.blockGroupCount(BlockGroupType.DATA), "kept: the reservations need its bytes");
            info.space.reservations.freeDataBytesMayUse(held);
            fs.umount();
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
        }
    }

    /**
     * A full device: the work forces chunks until none fits, then flushes delalloc, runs the delayed iputs and the
     * delayed refs, may commit; nothing frees enough and the space_info is full, so maybe_fail_all_tickets fails the
     * ticket: ENOSPC out of the write, nothing reserved left behind, and the filesystem takes a write that fits.
     */
    @Test
    void aWriteNoChunkCanHoldFailsWithEnospcAndLeavesNothingReserved() {
        try (Repro r = new Repro(32L << 20, c -> c)) {
            Btrfs fs = r.mountSettled("");
            FsInfo info = fs.fsInfo();
            fs.createFile("f");
            BtrfsException e = assertThrows(BtrfsException.class, () -> {
                for (int i = 0; i < 64; i++) {
                    fs.writeFile("f", new byte[1 << 20]);
                }
            });
            assertEquals(Errno.ENOSPC, e.errno(), e.toString());
            assertTrue(info.space.reservations.dataFull(), "no device space for a data chunk");
            Waits.within(Repro.WAIT).until(() -> !info.asyncDataReclaim().busy());
            assertEquals(0, info.space.reservations.dataTicketsWaiting());
            fs.sync();
            Repro.awaitOrderedExtentsReleased(fs);
            assertEquals(0, mayUse(fs), "the failed write gave back what it had");
            fs.unlink("f");
            fs.sync();
            fs.createFile("g");
            fs.writeFile("g", new byte[SECTOR]); // the space the unlink freed takes it
            fs.umount();
            assertFalse(r.logged("WARNING"), r.mod.log().dmesg());
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }
}
