package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Errno;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.WbSyncMode;
import org.junit.jupiter.api.Test;

/**
 * Port bug (stop 47), found by the explorer: {@code error:BTRFS error (device D): parent transid verify failed on logical
 * N mirror N wanted N found N@btrfs-uuid} (seed 47002, every fix applied, {@code --filesystems 4 --faults all --swarm
 * 0.5}: 1 of 43,925 cycles, token 47002:3835:3, a cycle with injected commit errors) — a mount's UUID rescan read the
 * UUID tree's committed root (generation 25) and found a block of generation 78 at its address. After an abort, the
 * port's btrfs_destroy_pinned_extent gave the blocks the aborted transaction freed back to the free space (a second port
 * bug, stop 75: 5.11's does not — {@code AbortedTransactionSpaceTest}), and a task still holding a handle of that
 * transaction allocated one of them — a block the committed trees still use — and dirtied it. The kernel does not
 * submit the last bio of a btree writeback in the error state: btree_write_cache_pages (extent_io.c, v5.11) ends it
 * with -EROFS instead while BTRFS_FS_STATE_ERROR is set ("Allowing existing tree block to be allocated for other trees", its
 * comment says). The port submitted it: the umount's writeback wrote it over the committed UUID root. Decision: the
 * port's — read btree_write_cache_pages, btrfs_write_marked_extents, btrfs_destroy_pinned_extent,
 * btrfs_cleanup_one_transaction (5.11); ported in {@code BtreeInode.flushWriteBio}.
 */
class BtreeWriteInErrorTest {

    @Test
    void aFilesystemInErrorSubmitsNoMetadataWrite() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f"); // tree blocks dirtied in the running transaction, not committed yet
            FsInfo fi = fs.fsInfo();
            assertTrue(fi.btreeInode.dirtyMetadataBytes() > 0, "dirty tree blocks to write");
            Transactions.handleFsError(fi, "test", Errno.EIO);
            long writes = fs.device().counters().writes();
            fi.btreeInode.writepages(WbSyncMode.ALL); // sync_inodes_sb's writeback of the btree inode
            fi.btreeInode.waitWriteback();
            assertEquals(writes, fs.device().counters().writes(), "no metadata bio reached the disk");
            assertEquals(0, fi.btreeInode.dirtyMetadataBytes(), "the blocks were claimed, their writeback ended (-EROFS)");
            fs.umount();
        }
    }
}
