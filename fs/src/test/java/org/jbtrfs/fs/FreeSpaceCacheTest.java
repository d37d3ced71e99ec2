package org.jbtrfs.fs;

import static org.jbtrfs.fs.SpaceCacheFixtures.GIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.FreeSpaceHeader;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FreeSpaceCache;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * The v1 free space cache (space_cache, the default of 5.10/5.11 on a filesystem mkfs.btrfs made): a cache
 * inode per block group of at least 100 MiB, created and written by the commit that dirtied the group, its
 * header and inode in the root tree, checked when the filesystem is mounted again.
 */
class FreeSpaceCacheTest {

    /**
     * The order {@link SpaceCacheFixtures#ownBigGroup} holds the cleaner against, forced: nine MiB of writes reserve more
     * data space than mkfs's 8 MiB group has, and the reservation allocates a 112 MiB chunk before any writeback
     * (btrfs_reserve_data_bytes, flush_space's ALLOC_CHUNK); mkfs's group, empty and on unused_bgs since the mount, is
     * then not the last data group, and a cleaner pass removes it (btrfs_delete_unused_bgs: nothing reserved, pinned,
     * used or read-only, the list not singular). The writeback puts every extent in the new group, which no pass
     * removes while it is the only data group, even emptied (list_is_singular). Decided kernel, not port: 5.11's
     * btrfs_delete_unused_bgs and flush_space read (fs/btrfs/block-group.c, space-info.c). It was
     * SpaceCacheOptionsTest's flake in stops 62 and 63 (a pass of the transaction kthread's wake-up in that window).
     */
    @Test
    void aPassBeforeTheWritebackRemovesMkfsGroupAndTheLastDataGroupStays() {
        try (Repro r = new Repro(GIB, c -> c)) {
            // space_cache=v2: under v1 the commits write the 112 MiB metadata group's cache file into mkfs's data group
            Btrfs fs = r.mountSettled("space_cache=v2");
            // mkfs's group on unused_bgs for certain: it had a file, and the file went (btrfs_update_block_group marks
            // a group unused when its used bytes reach 0); the cleaner held from before the unlink to after the writes
            fs.createFile("s");
            fs.writeFile("s", new byte[4096]);
            fs.sync();
            Repro.awaitOrderedExtentsReleased(fs);
            AutoDefragTest.withCleanerHeld(r, fs, () -> {
                fs.unlink("s");
                fs.sync();
                SpaceCacheFixtures.writeFillsAnd(fs, "a");
                return null;
            });
            assertEquals(2, dataGroups(fs), "the reservation allocated the new chunk; nothing is written yet");
            assertEquals(1, fs.fsInfo().space.unusedCount(), "mkfs's group, emptied, on unused_bgs");
            r.mod.hooks().release(org.jbtrfs.core.Hook.CLEANER_AFTER_SET_RUNNING);
            Repro.awaitCleanerAsleep(fs);
            assertEquals(1, dataGroups(fs), "the pass removed mkfs's empty group");
            fs.sync();
            Repro.awaitOrderedExtentsReleased(fs);
            BlockGroup big = SpaceCacheFixtures.bigDataGroups(fs).get(0);
            assertEquals(9L << 20, fs.fsInfo().space.used(big), "every extent in the new group");
            // the cleaner held until the unlinks' commit has unpinned the extents: its pass then finds the group empty,
            // unpinned, writable and on unused_bgs — nothing but the singular list to stop its removal
            AutoDefragTest.withCleanerHeld(r, fs, () -> {
                for (int i = 0; i < 7; i++) {
                    fs.unlink("fill" + i);
                }
                fs.unlink("a");
                fs.sync();
                return null;
            });
            assertEquals(0L, fs.fsInfo().space.used(big));
            assertEquals(1, fs.fsInfo().space.unusedCount(), "the emptied group is on unused_bgs");
            r.mod.hooks().release(org.jbtrfs.core.Hook.CLEANER_AFTER_SET_RUNNING);
            Repro.awaitCleanerAsleep(fs);
            assertEquals(0, fs.fsInfo().space.unusedCount(), "the pass took it off the list");
            assertEquals(java.util.List.of(big), SpaceCacheFixtures.bigDataGroups(fs), "the only data group stays");
            assertEquals(1, dataGroups(fs));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    private static long dataGroups(Btrfs fs) {
        return fs.fsInfo().space.blockGroups().stream()
            .filter(b -> b.type() == org.jbtrfs.transaction.space.BlockGroupType.DATA).count();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aCommitThatDirtiesABigGroupCreatesAndWritesItsCache(Crc32cImpl crc) {
        try (Repro r = new Repro(GIB, c -> c.crc32c(crc))) {
            Btrfs fs = r.mountSettled("");
            assertTrue(r.logged("disk space caching is enabled"), "mkfs's cache_generation (u64)-1 means space_cache");
            assertTrue(fs.fsInfo().mountOpt.test(MountOpt.SPACE_CACHE));
            assertEquals(1, FreeSpaceCache.headerCount(fs.fsInfo()),
                "no data group of 100 MiB yet; the 112 MiB metadata group got its cache when the mount committed the new UUID tree");
            BlockGroup bg = SpaceCacheFixtures.ownBigGroup(fs, "a");
            assertEquals(112L << 20, bg.length(), "10% of 1 GiB rounded up to 16 MiB");
            FreeSpaceHeader hdr = SpaceCacheFixtures.header(fs, bg);
            assertNotNull(hdr);
            assertEquals(2, FreeSpaceCache.headerCount(fs.fsInfo()),
                "the new data group and the 112 MiB metadata group (dirty in every commit); the 8 MiB group has none");
            InodeItem inode = SpaceCacheFixtures.cacheInode(fs, hdr.location());
            assertEquals(1, inode.nlink());
            assertEquals(16 * 4096, inode.size(), "16 pages per 256 MiB, at least 16");
            long committed = fs.fsInfo().lastTransCommitted();
            assertEquals(hdr.generation(), inode.generation(), "the header and the inode agree: the cache is valid");
            assertEquals(committed, fs.fsInfo().superCopy().cacheGeneration, "update_super_roots records it");
            assertEquals(1, hdr.numEntries(), "the group is free but for the 2 MiB file");
            FileExtentItem fe = FileExtentItem.decode(Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(),
                new Key(hdr.location().objectid(), ItemType.EXTENT_DATA, 0)));
            assertFalse(fe.diskBytenr() >= bg.start() && fe.diskBytenr() < bg.start() + bg.length(),
                "the cache file lives in the small data group");
            assertTrue(hdr.location().objectid() >= ItemType.FIRST_FREE_OBJECTID, "a root tree objectid, like subvolume ids");
            long sv = fs.createSubvolume("sv");
            assertTrue(sv > hdr.location().objectid(), "subvolume ids and cache inodes share the root tree's counter");
            fs.umount();
            // mounted again: the cache is loaded and matches the group (load_free_space_cache says nothing)
            Btrfs again = r.mount("");
            BlockGroup same = SpaceCacheFixtures.bigDataGroups(again).get(0);
            assertEquals(BlockGroup.DiskCacheState.WRITTEN, again.fsInfo().space.diskCacheState(same));
            assertTrue(FreeSpaceCache.loadFreeSpaceCache(again.fsInfo(), same));
            assertFalse(r.logged("free space cache"), r.mod.log().dmesg());
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** After files come and go over many commits, every cache still matches its group when mounted again. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void cachesMatchTheirGroupsAfterChurn(Crc32cImpl crc) {
        try (Repro r = new Repro(GIB, c -> c.crc32c(crc))) {
            Btrfs fs = r.mountSettled("");
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
            java.util.List<String> live = new java.util.ArrayList<>();
            for (int i = 0; i < 120; i++) {
                fs.createFile("f" + i);
                fs.writeFile("f" + i, new byte[4096 * (1 + rnd.nextInt(300))]);
                live.add("f" + i);
                if (live.size() > 3 && rnd.nextInt(3) == 0) {
                    fs.unlink(live.remove(rnd.nextInt(live.size())));
                }
                if (rnd.nextInt(5) == 0) {
                    fs.sync();
                }
                if (i % 40 == 39) {
                    fs.createSubvolume("sv" + i);
                }
            }
            fs.umount();
            Btrfs again = r.mount("ro");
            assertTrue(FreeSpaceCache.headerCount(again.fsInfo()) >= 2, "the metadata group and at least one data group");
            assertFalse(r.logged("wrong amount of free space"), r.mod.log().dmesg());
            assertFalse(r.logged("free space cache"), r.mod.log().dmesg());
            for (BlockGroup bg : again.fsInfo().space.blockGroups()) {
                if (bg.length() >= FreeSpaceCache.MIN_CACHED_GROUP) {
                    assertTrue(FreeSpaceCache.loadFreeSpaceCache(again.fsInfo(), bg), bg.toString());
                }
            }
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void aCorruptCacheIsRebuilt() {
        try (Repro r = new Repro(GIB, c -> c)) {
            Btrfs fs = r.mountSettled("");
            BlockGroup bg = SpaceCacheFixtures.ownBigGroup(fs, "a");
            FreeSpaceHeader hdr = SpaceCacheFixtures.header(fs, bg);
            FileExtentItem fe = FileExtentItem.decode(Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(),
                new Key(hdr.location().objectid(), ItemType.EXTENT_DATA, 0)));
            fs.umount();
            byte[] page = new byte[4096];
            r.dev.read(fe.diskBytenr(), page, 0, page.length);
            page[100] ^= 0x5a;
            r.dev.write(fe.diskBytenr(), page, 0, page.length);
            Btrfs again = r.mount("");
            assertTrue(r.logged("csum mismatch on free space cache"));
            assertTrue(r.logged("failed to load free space cache for block group " + bg.start() + ", rebuilding it now"));
            BlockGroup same = SpaceCacheFixtures.bigDataGroups(again).get(0);
            assertEquals(BlockGroup.DiskCacheState.CLEAR, again.fsInfo().space.diskCacheState(same));
            // the next commit that dirties the group writes it anew
            again.createFile("b");
            again.writeFile("b", new byte[2 << 20]);
            again.sync();
            assertEquals(BlockGroup.DiskCacheState.WRITTEN, again.fsInfo().space.diskCacheState(same));
            assertTrue(FreeSpaceCache.loadFreeSpaceCache(again.fsInfo(), same));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A device big enough for 1 GiB data groups costs its chunk table and what was written: the sparse memory
     * device keeps written zeros as holes, a block group's free-space map is a bit per 4 KiB.
     */
    @Test
    void aTenGibDeviceWithOneGibGroupsStaysCheap() {
        try (Repro r = new Repro(10 * GIB, c -> c)) {
            Btrfs fs = r.mountSettled("");
            BlockGroup bg = SpaceCacheFixtures.ownBigGroup(fs, "a");
            assertEquals(GIB, bg.length());
            FreeSpaceHeader hdr = SpaceCacheFixtures.header(fs, bg);
            assertEquals(4 * 16 * 4096, SpaceCacheFixtures.cacheInode(fs, hdr.location()).size(), "16 pages per 256 MiB");
            fs.umount();
            long held = ((org.jbtrfs.core.MemoryBlockDevice) r.dev).allocatedBytes();
            assertTrue(held < (4L << 20), "a few MiB of metadata and cache pages, not the 15 MiB of file data: " + held);
            Btrfs again = r.mount("");
            assertTrue(FreeSpaceCache.loadFreeSpaceCache(again.fsInfo(), SpaceCacheFixtures.bigDataGroups(again).get(0)));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The on-disk state a committed btrfs_remove_block_group leaves when the cache inode's eviction never ran
     * (a crash, or the delayed iput the leak above never runs): an orphan item in the root tree for the cache
     * inode, whose inode item still says nlink 1 — clear_nlink only changed the in-memory inode. Returns the
     * cache inode's key; the filesystem is unmounted.
     */
    private static Key orphanedCacheInodeOnDisk(Repro r) {
        Btrfs fs = r.mountSettled("");
        BlockGroup bg = SpaceCacheFixtures.ownBigGroup(fs, "a");
        Key location = SpaceCacheFixtures.header(fs, bg).location();
        var fsi = fs.fsInfo();
        var h = org.jbtrfs.transaction.Transactions.start(fsi, fsi.treeRoot(), 2, "test: committed removal");
        fs.ctx().cleaner.inodes().orphanAdd(h, fsi.treeRoot(), location.objectid());
        Trees.delete(h, fsi.treeRoot(), FreeSpaceHeader.key(bg.start()));
        org.jbtrfs.transaction.Transactions.commit(h);
        assertEquals(java.util.List.of(location.objectid()), fs.inspect().rootOrphans());
        fs.umount();
        return location;
    }

    /**
     * Such an orphan names no root, so the read-write mount's btrfs_find_orphan_roots (first, with the March
     * 2021 fix) deletes it as a stray root orphan, silently; with that fix reverted btrfs_orphan_cleanup of
     * the root tree gets there first, iget()s it (5.11), finds it linked and deletes just the orphan item
     * ("auto deleting"). Either way the inode item and its preallocated extent stay, reachable from nothing.
     */
    @ParameterizedTest(name = "dead-roots-before-orphan-cleanup applied={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void anOrphanedCacheInodeLinkedOnDiskLosesOnlyItsOrphanItem(boolean marchFix) {
        try (Repro r = new Repro(GIB, c -> marchFix ? c : c.revert(org.jbtrfs.core.FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP))) {
            Key location = orphanedCacheInodeOnDisk(r);
            Btrfs again = r.mount("");
            assertEquals(!marchFix, r.logged("auto deleting " + location.objectid()), r.mod.log().dmesg());
            assertTrue(again.inspect().rootOrphans().isEmpty());
            assertEquals(1, SpaceCacheFixtures.cacheInode(again, location).nlink(), "the inode item stays");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * And with patch 2/5 reverted (5.10: btrfs_find_orphan_roots on every mount) that orphan is a real-world
     * trigger of its leak: the read-only mount joins a transaction to delete it, which nobody commits.
     */
    @Test
    void anOrphanedCacheInodeIsAStrayRootOrphanForPatch2() {
        try (Repro r = new Repro(GIB, c -> c.revert(org.jbtrfs.core.FixSwitch.ORPHAN_ROOTS_RO_MOUNT))) {
            orphanedCacheInodeOnDisk(r);
            Btrfs ro = r.mount("ro");
            assertEquals(java.util.List.of("btrfs_find_orphan_roots"), ro.inspect().openTransactions().get(0).functions());
            org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.KernelBug.class, ro::umount);
            assertTrue(r.logged("assertion failed: list_empty(&fs_info->trans_list)"));
        }
    }

    @Test
    void smallDevicesHaveNoCacheInodes() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            CleanerRoRemountRaceTest.makeOneUnusedBlockGroup(fs);
            assertEquals(0, FreeSpaceCache.headerCount(fs.fsInfo()), "no group reaches 100 MiB on 64 MiB");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void theCleanerRemovesAnEmptiedGroupWithItsCacheInode() {
        try (Repro r = new Repro(GIB, c -> c)) {
            Btrfs fs = r.mountSettled("");
            BlockGroup bg = SpaceCacheFixtures.emptyBigGroup(fs);
            Key location = SpaceCacheFixtures.header(fs, bg).location();
            // 1. the cleaner removes the group: orphan item, clear_nlink, delayed iput — and, being the running
            //    cleaner, no wake-up: the inode waits for the next pass
            fs.runCleanerPass(Repro.WAIT);
            assertTrue(SpaceCacheFixtures.bigDataGroups(fs).isEmpty(), "the pass removed the group");
            assertEquals(java.util.List.of(location.objectid()), fs.inspect().delayedIputs());
            assertTrue(fs.inspect().rootOrphans().contains(location.objectid()));
            assertNull(SpaceCacheFixtures.header(fs, bg), "the free space header went with the group");
            // 2. the VFS counts the cleared inode in s_remove_count: no read-only remount while it lives
            var busy = org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.BtrfsException.class, () -> fs.remount("ro"));
            assertEquals(org.jbtrfs.core.Errno.EBUSY, busy.errno());
            assertFalse(fs.isReadOnly());
            // 3. the next pass evicts it: truncate, inode and orphan items deleted, in a transaction
            fs.runCleanerPass(Repro.WAIT);
            assertTrue(fs.inspect().delayedIputs().isEmpty(), "the pass ran the delayed iput");
            fs.sync();
            assertNull(SpaceCacheFixtures.cacheInode(fs, location));
            assertFalse(fs.inspect().rootOrphans().contains(location.objectid()));
            fs.remount("ro");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
