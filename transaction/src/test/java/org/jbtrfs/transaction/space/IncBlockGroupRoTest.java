package org.jbtrfs.transaction.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.junit.jupiter.api.Test;

/**
 * inc_block_group_ro(cache, 0)'s space test (fs/btrfs/block-group.c, v5.11): data within the space_info's total, metadata
 * by btrfs_can_overcommit with BTRFS_RESERVE_NO_FLUSH — {@code used + bytes < total + avail}, strict, avail half the
 * unallocated device space (space-info.c: calc_available_free_space) — and the allocation that makes the overcommit
 * good: find_free_extent's LOOP_ALLOC_CHUNK (extent-tree.c, find_free_extent_update_loop) forcing a metadata chunk when
 * no group has a free block.
 *
 * <p>Stop 61, port bug (class efa4e4dc, an ENOSPC abort in the suite's {@code LanesTest} with a scrub running, and
 * 8b955327): the port's tree block allocation allocated no chunk, so a metadata reservation that overcommitted (as the
 * kernel's do) found no block once the groups were full or read-only, and the transaction aborted with "no free METADATA
 * space" on a device with unallocated space. The kernel allocates the chunk; so does the port now.
 */
class IncBlockGroupRoTest {
    private static final long MIB = 1L << 20;

    @Test
    void aMetadataGroupMayBeMadeReadOnlyOnTheUnallocatedSpacesShare() {
        SpaceManager sm = new SpaceManager(64 * MIB, MIB, 8 * MIB, 8 * MIB);
        BlockGroup meta = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.METADATA, MIB);
        // used 1 MiB + 7 MiB read-only = the total; 55 MiB unallocated, half of it the leeway
        assertTrue(sm.incBlockGroupRo(meta), "btrfs_can_overcommit(NO_FLUSH): 8 MiB < 8 MiB + 27.5 MiB");
        sm.decBlockGroupRo(meta);
    }

    @Test
    void aMetadataGroupWhoseFreeBytesAreTheLastOfAFullDeviceIsNotMadeReadOnly() {
        // the device holds the one group: no unallocated space, so no leeway, and the strict < refuses the last byte
        SpaceManager sm = new SpaceManager(9 * MIB, MIB, 8 * MIB, 8 * MIB);
        BlockGroup meta = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.METADATA, MIB);
        assertFalse(sm.incBlockGroupRo(meta), "-ENOSPC: btrfs_can_overcommit's < is not met");
        assertEquals(0, meta.ro);
    }

    @Test
    void aDataGroupMayTakeTheSpaceInfoToItsTotal() {
        SpaceManager sm = new SpaceManager(64 * MIB, MIB, 8 * MIB, 8 * MIB);
        BlockGroup data = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.DATA, MIB);
        assertTrue(sm.incBlockGroupRo(data), "data: sinfo_used + num_bytes <= total_bytes");
        sm.decBlockGroupRo(data);
    }

    /** Fails before stop 61: "no free METADATA space for 16384 bytes" with 55 MiB unallocated. */
    @Test
    void aTreeBlockWithTheOnlyMetadataGroupReadOnlyGetsANewChunk() {
        SpaceManager sm = new SpaceManager(64 * MIB, MIB, 8 * MIB, 4 * MIB);
        BlockGroup meta = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.METADATA, MIB);
        assertTrue(sm.incBlockGroupRo(meta));
        List<BlockGroup> added = new ArrayList<>();
        long bytenr = sm.reserveTreeBlock(added);
        assertEquals(2, sm.blockGroupCount(BlockGroupType.METADATA), "LOOP_ALLOC_CHUNK: btrfs_chunk_alloc(CHUNK_ALLOC_FORCE)");
        assertEquals(1, added.size(), "the new group's item is pending for btrfs_create_pending_block_groups");
        BlockGroup bg = added.get(0);
        assertEquals(4 * MIB, bg.length(), "the metadata chunk size");
        assertTrue(bytenr >= bg.start() && bytenr < bg.end(), "the block is in the new group");
    }

    @Test
    void aTreeBlockOnAFullDeviceIsEnospc() {
        SpaceManager sm = new SpaceManager(9 * MIB + 512 * 1024, MIB, 8 * MIB, 8 * MIB);
        BlockGroup meta = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.METADATA, 8 * MIB);
        sm.markAllocated(MIB, 8 * MIB); // the extent items' ranges, as caching the group finds them
        BtrfsException e = assertThrows(BtrfsException.class, () -> sm.reserveTreeBlock(new ArrayList<>()));
        assertEquals(Errno.ENOSPC, e.errno());
        assertEquals(1, sm.blockGroupCount(BlockGroupType.METADATA), "a hole under 1 MiB holds no chunk");
        assertThrows(BtrfsException.class, () -> sm.reserveTreeBlock(new ArrayList<>()), "space_info->full: no chunk either");
        assertEquals(0, meta.ro);
    }

    /** btrfs_remove_chunk gives back device extents; the allocator sees one gap where two removed chunks lay side by side. */
    @Test
    void twoAdjacentReleasedChunksHoldAChunkSpanningBoth() {
        SpaceManager sm = new SpaceManager(17 * MIB, MIB, 8 * MIB, 16 * MIB);
        BlockGroup a = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.DATA, 0);
        BlockGroup b = sm.addBlockGroup(9 * MIB, 8 * MIB, BlockGroupType.DATA, 0);
        for (BlockGroup bg : new BlockGroup[] {b, a}) {
            sm.removeBlockGroup(bg);
            sm.releaseChunk(bg);
        }
        List<BlockGroup> added = new ArrayList<>();
        assertTrue(sm.allocMetadataChunk(true, added));
        assertEquals(16 * MIB, added.get(0).length(), "one 16 MiB hole, not two of 8");
    }
}
