package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug found by the explorer in stop 25 (all fixes, `--filesystems 4 --faults all`, seeds 54054 and 55055: an
 * umount EBUSY for a handle whose close-from-worker never closed it — its writeback found the inode I_FREEING — and
 * "BUG: iput of a freed inode" from an open refused with EROFS). A lookup that read the inode into memory added its
 * dentry (which holds one reference) and only then took the caller's reference; a remount's shrink_dcache_sb in
 * between dropped the dentry, its iput was the last and freed the inode, and the caller's igrab failed unnoticed: the
 * open handed out a freed inode. Reachable since stop 24, when opens began to run beside remounts.
 *
 * <p>Decision: <b>port bug</b>, fixed. The kernel's caller holds the dentry it looked up (the path walk's reference,
 * d_lockref), and shrink_dcache_sb frees only unused dentries, so the inode cannot go (fs/dcache.c d_add,
 * shrink_dcache_sb → shrink_dentry_list; fs/namei.c lookup_open). The port's dentries are pruned whoever uses them, so
 * its lookup now takes the caller's reference first, then the dentry's. Fails on the old order with the hook at the
 * same place (the opener's handle is a freed inode; its close is the BUG).
 */
class DcacheShrinkRaceTest {

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aRemountsShrinkBetweenALookupsDentryAndItsReturnLeavesTheOpenerALiveInode(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[] {1, 2, 3});
            fs.sync();
            fs.remount("commit=5"); // shrink_dcache_sb: the next open reads the inode into memory and adds a dentry
            r.mod.hooks().parkAt(Hook.DENTRY_ADDED);
            TestThread<FileHandle> opener = TestThread.call("open", () -> fs.open("f", OpenMode.READ_ONLY));
            r.mod.hooks().awaitParked(Hook.DENTRY_ADDED, Repro.WAIT);
            fs.remount("commit=5"); // drops the opener's new dentry and the dentry's reference
            r.mod.hooks().release(Hook.DENTRY_ADDED);
            FileHandle h = opener.join();
            h.fsync();
            assertArrayEquals(new byte[] {1, 2, 3}, fs.readFile("f"));
            h.close();
            assertEquals(0, r.count(LogEntry.Kind.BUG), r.mod.log().dmesg());
            fs.umount();
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }
}
