package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.transaction.Transactions;
import org.junit.jupiter.api.Test;

/**
 * Port bug (stop 62): an abort's btrfs_destroy_delalloc_inodes takes each inode off its root's delalloc list
 * (__btrfs_del_delalloc_inode clears BTRFS_INODE_IN_DELALLOC_LIST) and then tries to drop its pages; the dirty ones
 * stay (invalidate_inode_pages2 cannot drop them: no launder_page), and with them the inode's delalloc bytes. The port
 * derived the list from the bytes, so every later splice — a reclaim work's FLUSH_DELALLOC, above all — still found the
 * inode on an aborted filesystem, where the kernel's finds it only once new delalloc is set (btrfs_set_delalloc_extent →
 * btrfs_add_delalloc_inodes). fs_info->delalloc_bytes counts the bytes either way. Read: disk-io.c
 * btrfs_destroy_delalloc_inodes, btrfs_destroy_all_delalloc_inodes; inode.c __btrfs_del_delalloc_inode,
 * btrfs_set_delalloc_extent, btrfs_clear_delalloc_extent, btrfs_releasepage (a dirty page is not released);
 * mm/truncate.c invalidate_inode_pages2_range (v5.11). The list tests fail on the old code (the inode stayed listed).
 */
class DelallocListTest {

    private static List<InodeData> listed(Btrfs fs) { return DelallocInodes.list(fs.ctx().cleaner.inodes()); }

    /** A closed file with {@code bytes} of dirty pages. */
    private static void dirtyFile(Btrfs fs, String name, int bytes) {
        fs.createFile(name);
        try (FileHandle h = fs.open(name)) {
            h.write(new byte[bytes]);
        }
    }

    @Test
    void anAbortsCleanupTakesADirtyInodeOffTheListAndKeepsItsBytes() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            dirtyFile(fs, "f", 8192);
            assertEquals(1, listed(fs).size());
            r.abortByACommitEio(fs);
            Transactions.cleanupTransaction(fs.fsInfo()); // as the transaction kthread does on an aborted filesystem
            assertEquals(List.of(), listed(fs));
            assertEquals(8192, fs.fsInfo().delallocShrinker().delallocBytes(), "fs_info->delalloc_bytes still counts them");
        }
    }

    /**
     * Port bug (stop 62): btrfs_start_delalloc_roots returns -EROFS at once on a filesystem in error (5.11, 5.12,
     * mainline; shrink_delalloc ignores it): a reclaim work's FLUSH_DELALLOC round that starts after the error writes
     * nothing and hands no inode to the delayed iputs — only a round already past that test goes on (the window of
     * {@code RECLAIM_IPUTS_AT_UMOUNT}). The port flushed every listed inode. Here before any cleanup has taken the inode
     * off the list (the transaction kthread asleep: nothing wakes it).
     */
    @Test
    void aReclaimRoundOnAFilesystemInErrorWritesNothing() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            dirtyFile(fs, "f", 8192);
            org.jbtrfs.testsupport.Waits.within(Repro.WAIT).until(() -> "schedule_timeout() in INTERRUPTIBLE".equals(
                r.sleepingOn("btrfs-transaction")) && !fs.fsInfo().transactionKthreadMutex.isLocked());
            Transactions.handleFsError(fs.fsInfo(), "test", org.jbtrfs.core.Errno.EIO);
            assertEquals(1, listed(fs).size(), "no cleanup ran");
            fs.fsInfo().delallocShrinker().shrink(256L << 10, false, false);
            assertEquals(8192, listed(fs).get(0).delallocBytes(), "nothing written");
            assertEquals(List.of(), fs.inspect().delayedIputs());
        }
    }

    @Test
    void newDelallocPutsAnInodeTheCleanupTookOffBackOnTheList() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            dirtyFile(fs, "f", 4096);
            new DelallocInodes(fs.ctx()).destroyAll();
            assertEquals(List.of(), listed(fs));
            try (FileHandle h = fs.open("f")) {
                h.write(new byte[4096]); // btrfs_set_delalloc_extent: btrfs_add_delalloc_inodes
            }
            assertEquals(1, listed(fs).size());
            assertTrue(listed(fs).get(0).delallocBytes() > 0);
        }
    }
}
