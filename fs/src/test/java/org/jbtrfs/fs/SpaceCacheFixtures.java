package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.FreeSpaceHeader;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FreeSpaceCache;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;

/**
 * Devices and layouts for the v1 free space cache: on a 1 GiB device mkfs makes an 8 MiB data group and
 * the kernel's allocator makes 112 MiB data chunks (10% of the device rounded up to 16 MiB), big enough
 * for a cache inode (cache_save_setup caches groups of at least 100 MiB).
 */
final class SpaceCacheFixtures {
    static final long GIB = 1L << 30;
    static final int MIB = 1 << 20;

    private SpaceCacheFixtures() { }

    /** The data block groups of at least 100 MiB, in address order. */
    static List<BlockGroup> bigDataGroups(Btrfs fs) {
        return fs.fsInfo().space.blockGroups().stream()
            .filter(b -> b.type() == BlockGroupType.DATA && b.length() >= FreeSpaceCache.MIN_CACHED_GROUP).toList();
    }

    /**
     * Fills mkfs's 8 MiB data group but its last MiB (seven 1 MiB files), then writes {@code path} (2 MiB),
     * which does not fit there: the allocator makes a 112 MiB chunk for it. Committed: the new group is the
     * only one whose cache inode exists, and its cache file (64 KiB, first fit) sits in the small group's
     * last MiB, so freeing {@code path} leaves the big group empty. Returns the big group.
     */
    static BlockGroup ownBigGroup(Btrfs fs, String path) {
        assertEquals(0, bigDataGroups(fs).size(), "only mkfs's small data group so far");
        // The cleaner held at its passes' start until the writeback has put the fills in mkfs's group: the writes'
        // data reservation (9 MiB against 8) allocates the 112 MiB chunk before any writeback (btrfs_reserve_data_bytes,
        // flush_space's ALLOC_CHUNK), so mkfs's group is empty on unused_bgs beside another data group for a while, and
        // a pass then — the transaction kthread wakes the cleaner on its own — removes it, as 5.11's
        // btrfs_delete_unused_bgs does: every extent lands in the new group, the only data group, which no pass removes
        // (list_is_singular) — the big group "that did not go" of SpaceCacheOptionsTest in stops 62 and 63 (forced:
        // FreeSpaceCacheTest#aPassBeforeTheWritebackRemovesMkfsGroupAndTheLastDataGroupStays).
        Hooks hooks = fs.fsInfo().kernel.hooks();
        Repro.awaitCleanerAsleep(fs);
        hooks.parkAt(Hook.CLEANER_AFTER_SET_RUNNING, Role.CLEANER);
        writeFillsAnd(fs, path);
        fs.sync(); // writeback allocates the extents (cow_file_range): the 2 MiB one needs the new chunk
        // the ordered extents' workers may still hold the files (their last put comes after the sync's wait)
        Repro.awaitOrderedExtentsReleased(fs);
        hooks.disarm(Hook.CLEANER_AFTER_SET_RUNNING); // a pass parked meanwhile goes on; none parks later
        // the mount put mkfs's then empty data group on unused_bgs and the allocations since left it there,
        // as the kernel does: a cleaner pass pops it and skips it (in use now)
        fs.runCleanerPass(Repro.WAIT);
        List<BlockGroup> big = bigDataGroups(fs);
        assertEquals(1, big.size(), "the 2 MiB file needed a new chunk");
        return big.get(0);
    }

    /** Seven 1 MiB files "fill0".."fill6", then {@code path} of 2 MiB: 9 MiB of delalloc against mkfs's 8 MiB group. */
    static void writeFillsAnd(Btrfs fs, String path) {
        for (int i = 0; i < 7; i++) {
            fs.createFile("fill" + i);
            fs.writeFile("fill" + i, new byte[MIB]);
        }
        fs.createFile(path);
        fs.writeFile(path, new byte[2 * MIB]);
    }

    /** Leaves exactly the big group on unused_bgs, its cache inode written (twice) and committed. */
    static BlockGroup emptyBigGroup(Btrfs fs) {
        BlockGroup bg = ownBigGroup(fs, "victim");
        fs.unlink("victim");
        fs.sync();
        assertEquals(1, fs.fsInfo().space.unusedCount(), "exactly the big group is unused");
        assertEquals(0L, fs.fsInfo().space.used(bg));
        assertNotNull(FreeSpaceCache.lookupInodeKey(fs.fsInfo(), bg), "its cache inode exists");
        return bg;
    }

    /** The free space header of {@code bg}'s cache, or null. */
    static FreeSpaceHeader header(Btrfs fs, BlockGroup bg) {
        byte[] b = Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(), FreeSpaceHeader.key(bg.start()));
        return b == null ? null : FreeSpaceHeader.decode(b);
    }

    /** The cache inode's item, or null. */
    static InodeItem cacheInode(Btrfs fs, Key location) {
        byte[] b = Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(), location);
        return b == null ? null : InodeItem.decode(b);
    }
}
