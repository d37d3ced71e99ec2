package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.MemoryBlockDevice;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Corrupt metadata is detected where it is read: a tree block whose checksum or header does not
 * match fails with EIO naming its bytenr (5.11's read_extent_buffer_pages; validate_extent_buffer logs its reason in
 * 5.11's words — a bad checksum a warning, a bad address, fsid or level an error); a superblock
 * with a bad magic or checksum fails the open with EINVAL. Nothing is left running, and once the
 * device is repaired the same module opens it again.
 */
class CorruptionTest {
    private final TestFs t = new TestFs();

    @AfterEach
    void unload() { t.close(); }

    /** Byte offsets inside a tree block: the stored checksum, the fsid, the bytenr field, the level, item data. */
    @ParameterizedTest(name = "flip byte {0} of the fs tree root leaf")
    @ValueSource(ints = {0, ExtentBuffer.OFF_FSID, ExtentBuffer.OFF_BYTENR, ExtentBuffer.OFF_LEVEL, 200, ExtentBuffer.NODESIZE - 1})
    void aFlippedByteInATreeBlockFailsTheReadNamingTheBlock(int offset) {
        long fsRootBytenr = committedFsTree();
        flip(fsRootBytenr + offset);

        long mark = t.kernel.log().mark();
        BtrfsException e = assertThrows(BtrfsException.class, t::open);
        // validate_extent_buffer checks the address, the fsid and the level before the checksum (stop 66); whichever
        // failed, the read is -EIO (stop 78)
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("failed to read tree block " + fsRootBytenr + " on sdc"), e.getMessage());
        String reason = switch (offset) {
            case ExtentBuffer.OFF_FSID -> "BTRFS error (device sdc): bad fsid on block " + fsRootBytenr;
            case ExtentBuffer.OFF_BYTENR -> "BTRFS error (device sdc): bad tree block start, want " + fsRootBytenr + " have ";
            case ExtentBuffer.OFF_LEVEL -> "BTRFS error (device sdc): bad tree block level ";
            default -> "BTRFS warning (device sdc): sdc checksum verify failed on " + fsRootBytenr + " wanted 0x";
        };
        assertTrue(t.kernel.log().since(mark).stream().anyMatch(l -> l.message().startsWith(reason)), reason + " in "
            + t.kernel.log().dmesg());

        flip(fsRootBytenr + offset); // repaired: the module is still usable and the data intact
        FsInfo fs = t.open();
        assertArrayEquals(data(7, "before"), Trees.lookup(fs, fs.fsRoot(), key(7)));
        t.closeClean(fs);
    }

    @Test
    void aCorruptTreeRootFailsTheOpenBeforeAnythingIsRead() {
        committedFsTree();
        long rootBytenr = DiskIo.readSuper(t.dev, t.kernel.crc32c()).root;
        flip(rootBytenr + 1000);
        BtrfsException e = assertThrows(BtrfsException.class, t::open);
        assertEquals(Errno.EIO, e.errno(), "read_extent_buffer_pages fails the read -EIO whatever the check said");
        assertTrue(e.getMessage().contains(Long.toString(rootBytenr)), e.getMessage());
        assertTrue(t.kernel.log().dmesg().contains("BTRFS warning (device sdc): sdc checksum verify failed on " + rootBytenr
            + " wanted 0x"), t.kernel.log().dmesg());
        assertTrue(t.pool.liveQueues().isEmpty(), "the failed open destroyed its workqueues: " + t.pool.liveQueues());
    }

    @Test
    void aBlockReadAtTheWrongAddressIsRejected() {
        long fsRootBytenr = committedFsTree();
        // a valid block, copied elsewhere: its checksum is fine, its header names another bytenr
        long elsewhere = fsRootBytenr + ExtentBuffer.NODESIZE * 64L;
        byte[] b = new byte[ExtentBuffer.NODESIZE];
        t.dev.read(fsRootBytenr, b, 0, b.length);
        t.dev.write(elsewhere, b, 0, b.length);
        FsInfo fs = t.open();
        BtrfsException e = assertThrows(BtrfsException.class, () -> fs.btreeInode.readTreeBlock(elsewhere));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("failed to read tree block " + elsewhere)
            && e.getMessage().contains("want " + elsewhere + " have " + fsRootBytenr), e.getMessage());
        // 5.11's validate_extent_buffer: btrfs_err_rl, "bad tree block start, want N have M" (stop 78: it was a warning)
        assertTrue(t.kernel.log().dmesg().contains("BTRFS error (device sdc): bad tree block start, want " + elsewhere
            + " have " + fsRootBytenr), t.kernel.log().dmesg());
        assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> fs.btreeInode.readTreeBlock(12345)).errno(),
            "an unaligned bytenr: alloc_extent_buffer's -EINVAL");
        assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> fs.btreeInode.readTreeBlock(TestFs.SIZE)).errno(),
            "beyond the device: the bio fails");
        t.closeClean(fs);
    }

    /**
     * A lost write leaves an earlier life of a block at its address: valid, checksummed, only its generation is not the
     * one its referrer recorded. open_ctree reads the tree root with the superblock's generation, btrfs_read_tree_root
     * a tree's root node with its root item's (read_tree_block → verify_parent_transid): EIO, "parent transid verify
     * failed", and the open fails cleanly.
     */
    @ParameterizedTest(name = "an older generation at the {0}")
    @ValueSource(strings = {"tree root", "fs tree root"})
    void aRootBlockOfAnotherGenerationFailsTheOpenWithParentTransid(String which) {
        long fsRootBytenr = committedFsTree();
        long bytenr = which.equals("tree root") ? DiskIo.readSuper(t.dev, t.kernel.crc32c()).root : fsRootBytenr;
        byte[] b = new byte[ExtentBuffer.NODESIZE];
        t.dev.read(bytenr, b, 0, b.length);
        ExtentBuffer eb = new ExtentBuffer(b);
        long gen = eb.generation();
        eb.setGeneration(gen - 1);
        eb.updateChecksum(t.kernel.crc32c());
        t.dev.write(bytenr, eb.array(), 0, b.length);

        long mark = t.kernel.log().mark();
        BtrfsException e = assertThrows(BtrfsException.class, t::open);
        assertEquals(Errno.EIO, e.errno());
        String msg = "parent transid verify failed on " + bytenr + " wanted " + gen + " found " + (gen - 1);
        assertTrue(e.getMessage().contains(msg), e.getMessage());
        assertTrue(t.kernel.log().since(mark).stream().anyMatch(l -> l.message().equals("BTRFS error (device sdc): " + msg)),
            t.kernel.log().dmesg());
        assertTrue(t.pool.liveQueues().isEmpty(), "the failed open destroyed its workqueues: " + t.pool.liveQueues());
    }

    @Test
    void aWrongMagicIsNoValidBtrfs() {
        flip(SuperBlock.OFFSET + 0x40);
        BtrfsException e = assertThrows(BtrfsException.class, t::open);
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("EINVAL: no valid btrfs found on sdc (bad magic)", e.getMessage());

        MemoryBlockDevice blank = new MemoryBlockDevice("sdd", 64L << 20);
        BtrfsException never = assertThrows(BtrfsException.class, () -> DiskIo.readSuper(blank, t.kernel.crc32c()));
        assertEquals("EINVAL: no valid btrfs found on sdd (bad magic)", never.getMessage());

        MemoryBlockDevice tiny = new MemoryBlockDevice("sde", 64 * 1024);
        assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> DiskIo.readSuper(tiny, t.kernel.crc32c())).errno());
    }

    @Test
    void aCorruptSuperblockFailsItsChecksum() {
        flip(SuperBlock.OFFSET + 0x200); // inside the checksummed area (the label)
        BtrfsException e = assertThrows(BtrfsException.class, t::open);
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().startsWith("EINVAL: superblock checksum mismatch on sdc"), e.getMessage());
        assertTrue(t.pool.liveQueues().isEmpty());

        flip(SuperBlock.OFFSET + 0x200);
        FsInfo fs = t.open();
        t.closeClean(fs);
    }

    @Test
    void aRootItemPointingAtGarbageNamesThatBlock() {
        FsInfo fs = t.open();
        // a root item for subvolume 300 whose node is an allocated-looking but never written address
        long bogus = fs.fsRoot().node().bytenr() + ExtentBuffer.NODESIZE * 512L;
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 1, "test_bogus_root");
        Trees.insert(h, fs.treeRoot(), new Key(300, ItemType.ROOT_ITEM, 0), Mkfs.newRootItem(h.transid(), bogus, 256, 1).encode());
        Transactions.commit(h);
        BtrfsException e = assertThrows(BtrfsException.class, () -> FsRoots.getFsRoot(fs, 300, true));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("failed to read tree block " + bogus), e.getMessage());
        assertEquals(bogus, RootItem.decode(Trees.lookup(fs, fs.treeRoot(), new Key(300, ItemType.ROOT_ITEM, 0))).bytenr());
        t.closeClean(fs);
    }

    /** Commits a few items into the fs tree, closes cleanly; returns the fs tree root's bytenr on disk. */
    private long committedFsTree() {
        FsInfo fs = t.open();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_items");
        for (int i = 0; i < 20; i++) {
            Trees.insert(h, fs.fsRoot(), key(i), data(i, "before"));
        }
        Transactions.commit(h);
        long bytenr = fs.fsRoot().node().bytenr();
        t.closeClean(fs);
        return bytenr;
    }

    private void flip(long offset) {
        byte[] b = new byte[1];
        t.dev.read(offset, b, 0, 1);
        b[0] ^= 0x5a;
        t.dev.write(offset, b, 0, 1);
    }
}
