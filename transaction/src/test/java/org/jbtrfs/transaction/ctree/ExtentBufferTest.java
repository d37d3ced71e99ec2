package org.jbtrfs.transaction.ctree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.jbtrfs.core.kernel.AcceleratedCrc32c;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.GenericCrc32c;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.junit.jupiter.api.Test;

class ExtentBufferTest {

    @Test
    void layoutConstantsMatchTheKernel() {
        assertEquals(101, ExtentBuffer.HEADER_SIZE);
        assertEquals(25, ExtentBuffer.ITEM_SIZE);
        assertEquals(33, ExtentBuffer.KEY_PTR_SIZE);
        assertEquals(16283, ExtentBuffer.LEAF_DATA_SIZE);
        assertEquals(16258, ExtentBuffer.MAX_ITEM_SIZE);
        assertEquals(493, ExtentBuffer.NODEPTRS_PER_BLOCK);
    }

    @Test
    void freshBlockIsZeroedExceptItsBytenr() {
        ExtentBuffer eb = ExtentBuffer.zeroed(0x1234_0000L);
        assertEquals(0x1234_0000L, eb.bytenr());
        assertEquals(0, eb.nritems());
        assertEquals(0, eb.level());
        assertEquals(0, eb.flags());
        byte[] bytes = eb.array();
        for (int i = 0; i < bytes.length; i++) {
            if (i < ExtentBuffer.OFF_BYTENR || i >= ExtentBuffer.OFF_BYTENR + 8) {
                assertEquals(0, bytes[i], "byte " + i);
            }
        }
    }

    @Test
    void headerFieldsSitAtTheirOnDiskOffsetsLittleEndian() {
        ExtentBuffer eb = ExtentBuffer.zeroed(0x0102_0304_0506_0708L);
        byte[] fsid = new byte[16];
        byte[] chunk = new byte[16];
        for (int i = 0; i < 16; i++) {
            fsid[i] = (byte) (i + 1);
            chunk[i] = (byte) (0x80 + i);
        }
        eb.setFsid(fsid);
        eb.setChunkTreeUuid(chunk);
        eb.setFlags(ExtentBuffer.HEADER_FLAG_WRITTEN);
        eb.setGeneration(0x1122_3344_5566_7788L);
        eb.setOwner(ItemType.FS_TREE_OBJECTID);
        eb.setNritems(0x0a0b0c0d);
        eb.setLevel(3);

        ByteBuffer raw = ByteBuffer.wrap(eb.array()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x0102_0304_0506_0708L, raw.getLong(48));
        assertEquals(1L, raw.getLong(56));
        assertEquals(0x1122_3344_5566_7788L, raw.getLong(80));
        assertEquals(5L, raw.getLong(88));
        assertEquals(0x0a0b0c0d, raw.getInt(96));
        assertEquals(3, raw.get(100));
        assertEquals(1, eb.array()[32]);
        assertEquals((byte) 0x80, eb.array()[64]);

        // Round trip through the bytes, as a read from disk would see them.
        ExtentBuffer back = new ExtentBuffer(eb.array().clone());
        assertArrayEquals(fsid, back.fsid());
        assertArrayEquals(chunk, back.chunkTreeUuid());
        assertTrue(back.isWritten());
        assertEquals(0x1122_3344_5566_7788L, back.generation());
        assertEquals(5L, back.owner());
        assertEquals(0x0a0b0c0d, back.nritems());
        assertEquals(3, back.level());
        back.clearHeaderFlag(ExtentBuffer.HEADER_FLAG_WRITTEN);
        assertFalse(back.isWritten());
    }

    @Test
    void leafLayoutRoundTripsThroughBytes() {
        InMemoryTreeBlockManager mgr = new InMemoryTreeBlockManager();
        TestRoot root = TestRoot.create(mgr, ItemType.FS_TREE_OBJECTID);
        Key a = new Key(256, ItemType.INODE_ITEM, 0);
        Key b = new Key(256, ItemType.INODE_REF, 256);
        Key c = new Key(257, ItemType.DIR_ITEM, -1L);    // unsigned: sorts last
        // Insert out of order: the leaf must still hold them sorted, data packed from the end.
        Ctree.insertItem(mgr, root, c, bytes(3, 0x33));
        Ctree.insertItem(mgr, root, a, bytes(10, 0x11));
        Ctree.insertItem(mgr, root, b, bytes(0, 0));

        ExtentBuffer leaf = new ExtentBuffer(root.node().array().clone());
        assertEquals(3, leaf.nritems());
        assertEquals(a, leaf.itemKey(0));
        assertEquals(b, leaf.itemKey(1));
        assertEquals(c, leaf.itemKey(2));
        assertEquals(ExtentBuffer.LEAF_DATA_SIZE - 10, leaf.itemOffset(0));
        assertEquals(ExtentBuffer.LEAF_DATA_SIZE - 10, leaf.itemOffset(1));
        assertEquals(ExtentBuffer.LEAF_DATA_SIZE - 13, leaf.itemOffset(2));
        assertArrayEquals(bytes(10, 0x11), leaf.itemData(0));
        assertArrayEquals(new byte[0], leaf.itemData(1));
        assertArrayEquals(bytes(3, 0x33), leaf.itemData(2));
        assertEquals(ExtentBuffer.LEAF_DATA_SIZE - 3 * ExtentBuffer.ITEM_SIZE - 13, leaf.leafFreeSpace());

        // Item 0's header right after the block header: key objectid, type, offset, then offset/size.
        ByteBuffer raw = ByteBuffer.wrap(leaf.array()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(256L, raw.getLong(101));
        assertEquals(ItemType.INODE_ITEM, raw.get(109));
        assertEquals(0L, raw.getLong(110));
        assertEquals(ExtentBuffer.LEAF_DATA_SIZE - 10, raw.getInt(118));
        assertEquals(10, raw.getInt(122));
        // Item 0's data is the last 10 bytes of the block.
        assertEquals(0x11, leaf.array()[ExtentBuffer.NODESIZE - 1]);
        assertEquals(0x11, leaf.array()[ExtentBuffer.NODESIZE - 10]);
        assertEquals(0x33, leaf.array()[ExtentBuffer.NODESIZE - 11]);
        TreeChecker.checkLeaf(leaf, true);
    }

    @Test
    void nodeKeyPointersRoundTrip() {
        ExtentBuffer node = ExtentBuffer.zeroed(1 << 20);
        node.setLevel(1);
        node.setNritems(2);
        Key k0 = new Key(1, ItemType.ROOT_ITEM, 0);
        Key k1 = new Key(-2L, ItemType.QGROUP_INFO, 7);
        node.setKeyPtr(0, k0, 40960, 9);
        node.setKeyPtr(1, k1, 81920, 10);
        ExtentBuffer back = new ExtentBuffer(node.array().clone());
        assertEquals(k0, back.nodeKey(0));
        assertEquals(k1, back.nodeKey(1));
        assertEquals(40960, back.blockPtr(0));
        assertEquals(10, back.ptrGeneration(1));
        assertTrue(back.compareNodeKey(1, k0) > 0, "unsigned objectid -2 sorts after 1");
        ByteBuffer raw = ByteBuffer.wrap(back.array()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(81920L, raw.getLong(101 + 33 + 17));
        TreeChecker.checkNode(back);
    }

    @Test
    void checksumCoversEverythingAfterTheCsumArea() {
        ExtentBuffer eb = ExtentBuffer.zeroed(1 << 20);
        eb.setGeneration(7);
        eb.updateChecksum(GenericCrc32c.INSTANCE);
        int stored = ByteBuffer.wrap(eb.array()).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        assertEquals(GenericCrc32c.INSTANCE.compute(eb.array(), 32, ExtentBuffer.NODESIZE - 32), stored);
        for (int i = 4; i < 32; i++) {
            assertEquals(0, eb.array()[i]);
        }
        // Both drivers agree, and verification passes.
        eb.verifyChecksum(AcceleratedCrc32c.INSTANCE);
        eb.validate(GenericCrc32c.INSTANCE, 1 << 20);
    }

    @Test
    void flippedByteFailsVerificationNamingTheBlock() {
        ExtentBuffer eb = ExtentBuffer.zeroed(5 << 20);
        eb.updateChecksum(AcceleratedCrc32c.INSTANCE);
        eb.array()[ExtentBuffer.NODESIZE - 100] ^= 0x40;
        BtrfsException e = assertThrows(BtrfsException.class, () -> eb.verifyChecksum(AcceleratedCrc32c.INSTANCE));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("checksum verify failed on " + (5 << 20)), e.getMessage());
    }

    @Test
    void validateRejectsABlockReadFromTheWrongAddress() {
        ExtentBuffer eb = ExtentBuffer.zeroed(1 << 20);
        eb.updateChecksum(AcceleratedCrc32c.INSTANCE);
        BtrfsException e = assertThrows(BtrfsException.class, () -> eb.validate(AcceleratedCrc32c.INSTANCE, 2 << 20));
        assertTrue(e.getMessage().contains("bad tree block start"), e.getMessage());
    }

    /**
     * Port bug (stop 66): validate_extent_buffer's check_tree_block_fsid was missing — a block of another filesystem at
     * the right address (a disk swapped in by a replace in a power cut, holding an earlier filesystem) passed the checks
     * and its items were read as this filesystem's. Now "bad fsid on block N", -EIO, as 5.11 (ReplaceInAPowerCutTest).
     */
    @Test
    void validateRejectsABlockOfAnotherFilesystem() {
        byte[] ours = new byte[16];
        byte[] theirs = new byte[16];
        ours[0] = 1;
        theirs[0] = 2;
        ExtentBuffer eb = ExtentBuffer.zeroed(1 << 20);
        eb.setFsid(theirs);
        eb.updateChecksum(AcceleratedCrc32c.INSTANCE);
        BtrfsException e = assertThrows(BtrfsException.class, () -> eb.validate(AcceleratedCrc32c.INSTANCE, 1 << 20, ours));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("bad fsid on block " + (1 << 20)), e.getMessage());
        eb.validate(AcceleratedCrc32c.INSTANCE, 1 << 20, theirs);
    }

    @Test
    void wrongSizedBlockIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ExtentBuffer(new byte[4096]));
    }

    static byte[] bytes(int len, int value) {
        byte[] b = new byte[len];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }
}
