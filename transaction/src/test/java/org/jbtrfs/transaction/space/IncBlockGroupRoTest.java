package org.jbtrfs.transaction.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * inc_block_group_ro(cache, 0)'s space test (fs/btrfs/block-group.c, v5.11): data within the space_info's total, metadata
 * by btrfs_can_overcommit — {@code used + bytes < total + avail}, strict (space-info.c). The port has no avail for it
 * (its tree block allocation allocates no chunk), so a metadata group whose read-only bytes would take the space_info
 * to exactly its total is refused: not one byte would be left for a tree block. Stop 60 (read while triaging the open
 * class 8b955327, an ENOSPC abort with a scrub running): the port allowed equality.
 */
class IncBlockGroupRoTest {
    private static final long MIB = 1L << 20;

    @Test
    void aMetadataGroupWhoseFreeBytesAreTheLastIsNotMadeReadOnly() {
        SpaceManager sm = new SpaceManager(64 * MIB, MIB, 8 * MIB);
        BlockGroup meta = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.METADATA, MIB);
        // used 1 MiB, nothing else: the group's 7 free MiB read-only would make used + readonly = total, exactly
        assertFalse(sm.incBlockGroupRo(meta), "-ENOSPC: btrfs_can_overcommit's < is not met");
        assertEquals(0, meta.ro);
    }

    @Test
    void aDataGroupMayTakeTheSpaceInfoToItsTotal() {
        SpaceManager sm = new SpaceManager(64 * MIB, MIB, 8 * MIB);
        BlockGroup data = sm.addBlockGroup(MIB, 8 * MIB, BlockGroupType.DATA, MIB);
        assertTrue(sm.incBlockGroupRo(data), "data: sinfo_used + num_bytes <= total_bytes");
        sm.decBlockGroupRo(data);
    }
}
