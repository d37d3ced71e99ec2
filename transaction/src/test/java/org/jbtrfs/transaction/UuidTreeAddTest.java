package org.jbtrfs.transaction;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.Le;
import org.junit.jupiter.api.Test;

/**
 * Regression (stop 33's every-fix hunt, seed 33032, cycle 22087 of 109,573, filesystem 3): "Transaction aborted (error
 * EEXIST: item (N UUID_KEY_SUBVOL N) already exists in tree 9)" in the subvolume lane. Decided port, not kernel:
 * btrfs_uuid_tree_add looks the subid up (a search of its own), then btrfs_insert_empty_item, whose -EEXIST — another
 * adder of the same uuid got there in between: create_subvol and the btrfs-uuid scan kthread that found the new root
 * item — extends the existing item with the subid (btrfs_extend_item) under the same locked path (fs/btrfs/uuid-tree.c,
 * btrfs_uuid_tree_add, v5.11). Stop 32's port inserted after a lookup of its own and let the EEXIST abort the
 * transaction; {@link UuidTree#insertOrExtend} now takes the tree lock across both, so the second adder extends.
 */
class UuidTreeAddTest {
    @Test
    void aSecondAdderOfTheSameUuidExtendsTheItemAsTheKernelsEexistBranchDoes() {
        try (TestFs t = new TestFs()) {
            FsInfo fs = t.open();
            UuidScan.createUuidTree(fs);
            UuidScan.waitForScan(fs);
            byte[] uuid = new byte[16];
            uuid[0] = 7;
            byte[] id = new byte[8];
            Le.u64(id, 0, 257);
            Key k = UuidTree.key(uuid, ItemType.UUID_KEY_SUBVOL);
            TransHandle h = Transactions.start(fs, fs.uuidRoot(), 2, "test");
            try {
                Trees.insert(h, fs.uuidRoot(), k, id); // the first adder's insert, after the second's lookup
                UuidTree.insertOrExtend(h, fs.uuidRoot(), k, id); // the second's insert: -EEXIST, then extend
                assertEquals(16, Trees.lookup(fs, fs.uuidRoot(), k).length, "the subid stored twice, as the kernel does");
            } finally {
                Transactions.end(h);
            }
            t.closeClean(fs);
        }
    }
}
