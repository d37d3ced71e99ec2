package org.jbtrfs.fs;

import static org.jbtrfs.fs.SpaceCacheFixtures.GIB;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.FreeSpaceCache;
import org.jbtrfs.transaction.FreeSpaceTree;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * space_cache, space_cache=v1, space_cache=v2, nospace_cache and clear_cache as btrfs_parse_options (5.11)
 * takes them, with the kernel's messages; the free space tree created by a read-write mount that asks for
 * it; v1 cache inodes removed by a read-write mount that does not want them; and the bad input: an unknown
 * version, a free space tree the options would drop, an unsupported compat_ro feature — EINVAL, the module
 * still usable.
 */
class SpaceCacheOptionsTest {
    private Repro r;

    @BeforeEach
    void load() { r = new Repro(GIB, c -> c); }

    @AfterEach
    void unload() {
        r.closeCheckingNoKthreadSurvives();
    }

    private int mark;

    /** Later {@link #btrfsInfo()} calls see only what is logged from now on. */
    private void mark() { mark = r.mod.log().entries().size(); }

    private List<String> btrfsInfo() {
        List<LogEntry> all = r.mod.log().entries();
        return all.subList(mark, all.size()).stream().map(LogEntry::message)
            .filter(m -> m.startsWith("BTRFS info (device sdc)") && !m.contains("checksum algorithm")
                && !m.contains("UUID tree")) // the first RW mount creates and checks it: not this test's subject
            .map(m -> m.substring("BTRFS info (device sdc): ".length())).toList();
    }

    private void assertStillUsable(String opts) {
        Btrfs fs = r.mount(opts);
        fs.createFile("after");
        fs.umount();
    }

    private Btrfs mountV2Once() {
        Btrfs fs = r.mount("space_cache=v2");
        fs.umount();
        mark();
        return fs;
    }

    @Test
    void theDefaultIsSpaceCacheV1() {
        Btrfs fs = r.mount("");
        assertEquals(List.of("disk space caching is enabled"), btrfsInfo());
        assertTrue(fs.fsInfo().mountOpt.test(MountOpt.SPACE_CACHE));
        assertFalse(fs.fsInfo().mountOpt.test(MountOpt.FREE_SPACE_TREE));
        fs.remount("ro");
        fs.remount("rw,space_cache");
        assertTrue(r.logged("disk space caching is enabled"));
        fs.umount();
    }

    @Test
    void spaceCacheV2CreatesTheFreeSpaceTreeAndCleansV1() {
        Btrfs fs = r.mount("space_cache=v2");
        assertEquals(List.of("enabling free space tree", "using free space tree", "creating free space tree",
            "setting compat-ro feature flag for FREE_SPACE_TREE (0x1)",
            "setting compat-ro feature flag for FREE_SPACE_TREE_VALID (0x2)", "cleaning free space cache v1"), btrfsInfo());
        var fsi = fs.fsInfo();
        assertTrue(fsi.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE) && fsi.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE_VALID));
        assertEquals(0, fsi.superCacheGeneration(), "v1 not in use");
        assertEquals(fsi.space.blockGroups().size(), FreeSpaceTree.infoCount(fsi), "one info item per block group");
        var big = SpaceCacheFixtures.ownBigGroup(fs, "a");
        // the new group has its info item too (the fixture kept mkfs's group from a pass until the fills were in it)
        assertEquals(fsi.space.blockGroups().size(), FreeSpaceTree.infoCount(fsi), "a new group gets its info item");
        assertTrue(fsi.space.blockGroups().contains(big));
        assertEquals(0, FreeSpaceCache.headerCount(fsi), "no v1 cache inode under space_cache=v2 (5.11)");
        // the cleaner held at its pass's start until the unlink's commit is over: a pass the commit's wake-ups started
        // while the group was still pinned would take it off unused_bgs and skip it, as 5.11's btrfs_delete_unused_bgs
        // does, and nothing puts it back (CI met it once in stop 59: "the pass removed the group" false)
        // And the writeback's finishers done first: one whose last put came after the unlink would make the eviction
        // (the extents' free) a delayed iput the pass runs itself, in a transaction its delete_unused_bgs does not see
        // committed (LanesTest#theFileLanesFillLeavesASecondDataBlockGroupTheCleanerRemoves has the same two orders; 1 of
        // 3 suite runs once the kworker pool grew, stop 60, where finishers run side by side).
        fsi.workqueues().endioWriteWorkers.flush();
        AutoDefragTest.withCleanerHeld(r, fs, () -> {
            fs.unlink("a");
            fs.sync();
            return null;
        });
        r.mod.hooks().release(Hook.CLEANER_AFTER_SET_RUNNING);
        Repro.awaitCleanerAsleep(fs);
        // (stop 60 once saw the group keep 7 MiB after that pass — the seven fills: mkfs's group had gone in the fixture,
        // SpaceCacheFixtures#ownBigGroup says how, and the big group was the last data group)
        assertTrue(SpaceCacheFixtures.bigDataGroups(fs).isEmpty(), "the pass removed the emptied group");
        assertEquals(fsi.space.blockGroups().size(), FreeSpaceTree.infoCount(fsi), "and it goes with the group");
        assertTrue(fs.inspect().delayedIputs().isEmpty(), "no cache inode, no delayed iput");
        fs.umount();
        mark();
        Btrfs again = r.mount("");
        assertEquals(List.of("using free space tree"), btrfsInfo(), "the tree on disk keeps v2");
        again.umount();
        assertTrue(r.mod.unload().clean());
    }

    @Test
    void nospaceCacheRemovesTheV1CacheInodes() {
        Btrfs fs = r.mount("");
        org.jbtrfs.transaction.space.BlockGroup big = SpaceCacheFixtures.ownBigGroup(fs, "a");
        assertEquals(2, FreeSpaceCache.headerCount(fs.fsInfo()));
        org.jbtrfs.core.disk.Key cacheInode = SpaceCacheFixtures.header(fs, big).location();
        fs.umount();
        mark();
        Btrfs nov1 = r.mount("nospace_cache");
        assertEquals(List.of("disabling disk space caching", "cleaning free space cache v1"), btrfsInfo());
        assertEquals(0, FreeSpaceCache.headerCount(nov1.fsInfo()));
        assertEquals(0, nov1.fsInfo().superCacheGeneration());
        // each removed cache inode got an orphan item and a delayed iput (run by the next cleaner pass or,
        // at the latest, by btrfs_commit_super at umount)
        nov1.umount();
        mark();
        Btrfs plain = r.mount("");
        assertEquals(List.of(), btrfsInfo(), "cache_generation 0: no space cache by default any more");
        assertTrue(plain.inspect().rootOrphans().isEmpty());
        assertEquals(null, SpaceCacheFixtures.cacheInode(plain, cacheInode), "evicted");
        plain.createFile("b");
        plain.writeFile("b", new byte[2 << 20]);
        plain.sync();
        assertEquals(0, FreeSpaceCache.headerCount(plain.fsInfo()));
        plain.umount();
        assertTrue(r.mod.unload().clean());
    }

    @Test
    void lastOptionWins() {
        Btrfs fs = r.mount("space_cache=v2,space_cache=v1");
        assertEquals(List.of("enabling free space tree", "enabling disk space caching", "disk space caching is enabled"),
            btrfsInfo());
        assertFalse(fs.fsInfo().compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE));
        fs.umount();
        mark();
        fs = r.mount("ro,nospace_cache,space_cache");
        assertEquals(List.of("disabling disk space caching", "enabling disk space caching", "disk space caching is enabled"),
            btrfsInfo());
        fs.umount();
    }

    // ---- bad input ----------------------------------------------------------------------------------------

    @Test
    void unknownSpaceCacheVersionIsEinvalWithoutAMessage() {
        int before = r.mod.log().entries().size();
        var e = assertThrows(BtrfsException.class, () -> r.mount("space_cache=v3"));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals(before, r.mod.log().entries().size(), "btrfs_parse_options returns -EINVAL and prints nothing");
        assertThrows(BtrfsException.class, () -> r.mount("space_cache="));
        Btrfs fs = r.mount("");
        var re = assertThrows(BtrfsException.class, () -> fs.remount("space_cache=v3"));
        assertEquals(Errno.EINVAL, re.errno());
        assertTrue(fs.fsInfo().mountOpt.test(MountOpt.SPACE_CACHE), "the options are restored");
        fs.createFile("still");
        fs.umount();
        assertStillUsable("");
    }

    @Test
    void aFreeSpaceTreeCannotBeDisabled() {
        mountV2Once();
        for (String opts : List.of("space_cache=v1", "nospace_cache", "space_cache", "ro,nospace_cache")) {
            var e = assertThrows(BtrfsException.class, () -> r.mount(opts), opts);
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(r.logged("BTRFS error (device sdc): cannot disable free space tree"));
        }
        Btrfs fs = r.mount("");
        var e = assertThrows(BtrfsException.class, () -> fs.remount("nospace_cache"));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(fs.fsInfo().mountOpt.test(MountOpt.FREE_SPACE_TREE), "restored");
        assertFalse(fs.isReadOnly());
        fs.createFile("still");
        fs.umount();
        assertStillUsable("");
    }

    @Test
    void clearCacheDropsTheFreeSpaceTree() {
        mountV2Once();
        Btrfs fs = r.mount("clear_cache,space_cache=v1");
        assertTrue(r.logged("force clearing of disk cache"));
        assertTrue(r.logged("clearing free space tree"));
        assertTrue(r.logged("clearing compat-ro feature flag for FREE_SPACE_TREE (0x1)"));
        assertFalse(fs.fsInfo().compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE));
        assertFalse(fs.fsInfo().mountOpt.test(MountOpt.CLEAR_CACHE), "a one-shot option");
        assertTrue(fs.fsInfo().mountOpt.test(MountOpt.SPACE_CACHE));
        fs.umount();
        mark();
        Btrfs again = r.mount("");
        assertEquals(List.of("disk space caching is enabled"), btrfsInfo());
        again.umount();
        assertTrue(r.mod.unload().clean());
    }

    @Test
    void remountChangesTheFreeSpaceTreeOnlyFromRoToRw() {
        Btrfs fs = r.mount("");
        fs.remount("space_cache=v2");
        assertTrue(r.logged("remount supports changing free space tree only from ro to rw"));
        assertTrue(fs.fsInfo().mountOpt.test(MountOpt.SPACE_CACHE), "put back to what is on disk");
        assertFalse(fs.fsInfo().mountOpt.test(MountOpt.FREE_SPACE_TREE));
        fs.remount("ro");
        fs.remount("rw,space_cache=v2");
        assertTrue(r.logged("creating free space tree"), "an RO→RW remount creates it (5.11 btrfs_start_pre_rw_mount)");
        assertTrue(fs.fsInfo().compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE));
        fs.umount();
    }

    @Test
    void anUnsupportedCompatRoFeatureRefusesReadWrite() {
        SuperBlock sb = org.jbtrfs.transaction.DiskIo.readSuper(r.dev, r.mod.kernel().crc32c());
        sb.compatRoFlags |= 1L << 7;
        byte[] b = sb.encode(r.mod.kernel().crc32c());
        r.dev.write(SuperBlock.OFFSET, b, 0, b.length);
        var e = assertThrows(BtrfsException.class, () -> r.mount(""));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(r.logged("cannot mount read-write because of unsupported optional features (80)"));
        Btrfs ro = r.mount("ro");
        ro.umount();
    }

    @Test
    void chunkSizesFollowTheKernelFromOneGib() {
        assertEquals(16L << 20, org.jbtrfs.transaction.Mkfs.dataChunkSize(64L << 20) * 2, "small devices keep the port's sizes");
        assertEquals(112L << 20, org.jbtrfs.transaction.Mkfs.dataChunkSize(GIB));
        assertEquals(832L << 20, org.jbtrfs.transaction.Mkfs.dataChunkSize(8 * GIB));
        assertEquals(GIB, org.jbtrfs.transaction.Mkfs.dataChunkSize(10 * GIB));
        assertEquals(GIB, org.jbtrfs.transaction.Mkfs.dataChunkSize(100 * GIB));
        assertEquals(8L << 20, org.jbtrfs.transaction.Mkfs.initialDataSize(10 * GIB), "mkfs: Data single 8.00MiB");
        Btrfs fs = r.mount("");
        assertEquals(1, fs.fsInfo().space.blockGroupCount(BlockGroupType.DATA));
        fs.umount();
    }
}
