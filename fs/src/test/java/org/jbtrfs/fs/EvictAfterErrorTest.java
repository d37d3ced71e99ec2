package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.DumpTree;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The final iput of an unlinked file on a filesystem in error: btrfs_evict_inode cannot join a transaction
 * (evict_refill_and_join fails: -EROFS) and goes to free_rsv — the inode is freed, its inode and orphan items
 * stay for the next mount's orphan cleanup, and neither close(2) nor umount(2) reports anything. Port bug
 * found by the explorer (`replay-rehit.sh`, orphan-roots-inodes-in-memory: class
 * `error:umount:BtrfsException(EROFS) at Transactions.startTransaction@driver`): the port's eviction threw the
 * join's EROFS out of the iput, so an umount after a transaction abort failed. Kernel functions read:
 * btrfs_evict_inode and evict_refill_and_join (fs/btrfs/inode.c, v5.11): every error path ends in free_rsv /
 * no_delete, then clear_inode.
 */
class EvictAfterErrorTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void theLastCloseAndTheUmountSucceedOnAFilesystemInErrorAndTheOrphanItemStays(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            org.jbtrfs.core.BlockDevice dev = fs.device();
            fs.createFile("f");
            FileHandle h = fs.open("f");
            long ino = h.ino();
            fs.unlink("f"); // an orphan item until the last close
            fs.sync();
            r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
            fs.createFile("g");
            assertThrows(BtrfsException.class, fs::sync); // the commit fails: aborted, the filesystem in error
            assertTrue(fs.isReadOnly(), "forced readonly");
            h.close(); // the final iput: eviction cannot join a transaction
            fs.umount();
            assertNotNull(DumpTree.read(dev).items(ItemType.FS_TREE_OBJECTID).stream()
                    .filter(i -> i.key().equals(new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, ino)))
                    .findFirst().orElse(null),
                "the orphan item stays for the next mount's orphan cleanup");
        }
    }
}
