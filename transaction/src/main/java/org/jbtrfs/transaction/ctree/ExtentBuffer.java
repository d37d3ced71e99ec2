package org.jbtrfs.transaction.ctree;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.Key;

/**
 * One tree block (kernel: struct extent_buffer): {@link #NODESIZE} bytes in a {@code byte[]}, the
 * btree inode's page contents, laid out exactly as on disk (little-endian; see
 * docs/on-disk-format.md).
 *
 * <pre>
 *  header (101 bytes)  csum[32] fsid[16] bytenr u64 flags u64 chunk_tree_uuid[16]
 *                      generation u64 owner u64 nritems u32 level u8
 *  leaf  (level 0)     item[0] item[1] ... item[n-1]   free space   data[n-1] ... data[1] data[0]
 *                      item = key(17) offset u32 size u32; offsets are relative to the end of the header
 *  node  (level > 0)   ptr[0] ptr[1] ... ptr[n-1]      ptr = key(17) blockptr u64 generation u64
 * </pre>
 *
 * <p>A plain data class: no locking, no dirty tracking (the transaction layer tracks dirtiness
 * through {@link TreeBlockManager#markDirty}). Callers serialize all access to one tree (one root)
 * for now; the kernel's per-buffer rwlocks are not ported.
 *
 * <p>Slot arguments are not checked against {@link #nritems()}: like the kernel accessors they read
 * whatever the slot's bytes hold; only the block's bounds are enforced (by the array).
 */
public final class ExtentBuffer {
    /** Tree block size (mkfs default nodesize). */
    public static final int NODESIZE = 16384;

    public static final int CSUM_SIZE = 32;
    public static final int FSID_SIZE = 16;
    public static final int UUID_SIZE = 16;

    // struct btrfs_header field offsets
    public static final int OFF_CSUM = 0;
    public static final int OFF_FSID = 32;
    public static final int OFF_BYTENR = 48;
    public static final int OFF_FLAGS = 56;
    public static final int OFF_CHUNK_TREE_UUID = 64;
    public static final int OFF_GENERATION = 80;
    public static final int OFF_OWNER = 88;
    public static final int OFF_NRITEMS = 96;
    public static final int OFF_LEVEL = 100;
    /** sizeof(struct btrfs_header); also BTRFS_LEAF_DATA_OFFSET, where item offsets count from. */
    public static final int HEADER_SIZE = 101;

    /** sizeof(struct btrfs_item): key, data offset u32, data size u32. */
    public static final int ITEM_SIZE = Key.SIZE + 8;
    /** sizeof(struct btrfs_key_ptr): key, blockptr u64, generation u64. */
    public static final int KEY_PTR_SIZE = Key.SIZE + 16;
    /** BTRFS_LEAF_DATA_SIZE: room for item headers and data in a leaf. */
    public static final int LEAF_DATA_SIZE = NODESIZE - HEADER_SIZE;
    /** BTRFS_MAX_ITEM_SIZE: the largest item that fits alone in a leaf. */
    public static final int MAX_ITEM_SIZE = LEAF_DATA_SIZE - ITEM_SIZE;
    /** BTRFS_NODEPTRS_PER_BLOCK. */
    public static final int NODEPTRS_PER_BLOCK = LEAF_DATA_SIZE / KEY_PTR_SIZE;

    /** BTRFS_HEADER_FLAG_WRITTEN: the block has been written out; changing it again requires a COW. */
    public static final long HEADER_FLAG_WRITTEN = 1L;
    /** BTRFS_HEADER_FLAG_RELOC. */
    public static final long HEADER_FLAG_RELOC = 1L << 1;

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] data;

    /**
     * Wraps a block as read from disk. The array is used as is, not copied: it is the page the
     * buffer lives in, and every change made through this buffer lands in it.
     */
    public ExtentBuffer(byte[] block) {
        if (block.length != NODESIZE) {
            throw new IllegalArgumentException("tree block must be " + NODESIZE + " bytes, got " + block.length);
        }
        this.data = block;
    }

    /** kernel: alloc_extent_buffer() + memzero_extent_buffer() — an all-zero block whose header says {@code bytenr}. */
    public static ExtentBuffer zeroed(long bytenr) {
        ExtentBuffer eb = new ExtentBuffer(new byte[NODESIZE]);
        eb.setBytenr(bytenr);
        return eb;
    }

    /** The live page (not a copy): what the write path hands to the device. */
    public byte[] array() {
        return data;
    }

    /** kernel: copy_extent_buffer_full() — this block's bytes become {@code src}'s. */
    public void copyContentsFrom(ExtentBuffer src) {
        System.arraycopy(src.data, 0, data, 0, NODESIZE);
    }

    // ---------------------------------------------------------------- header

    public byte[] csum() {
        return Arrays.copyOfRange(data, OFF_CSUM, OFF_CSUM + CSUM_SIZE);
    }

    public byte[] fsid() {
        return Arrays.copyOfRange(data, OFF_FSID, OFF_FSID + FSID_SIZE);
    }

    public void setFsid(byte[] fsid) {
        putBytes(OFF_FSID, fsid, FSID_SIZE);
    }

    public long bytenr() {
        return getLong(OFF_BYTENR);
    }

    public void setBytenr(long bytenr) {
        putLong(OFF_BYTENR, bytenr);
    }

    public long flags() {
        return getLong(OFF_FLAGS);
    }

    public void setFlags(long flags) {
        putLong(OFF_FLAGS, flags);
    }

    /** kernel: btrfs_header_flag(). */
    public boolean headerFlag(long flag) {
        return (flags() & flag) == flag;
    }

    /** kernel: btrfs_set_header_flag(). */
    public void setHeaderFlag(long flag) {
        setFlags(flags() | flag);
    }

    /** kernel: btrfs_clear_header_flag(). */
    public void clearHeaderFlag(long flag) {
        setFlags(flags() & ~flag);
    }

    public boolean isWritten() {
        return headerFlag(HEADER_FLAG_WRITTEN);
    }

    public byte[] chunkTreeUuid() {
        return Arrays.copyOfRange(data, OFF_CHUNK_TREE_UUID, OFF_CHUNK_TREE_UUID + UUID_SIZE);
    }

    public void setChunkTreeUuid(byte[] uuid) {
        putBytes(OFF_CHUNK_TREE_UUID, uuid, UUID_SIZE);
    }

    public long generation() {
        return getLong(OFF_GENERATION);
    }

    public void setGeneration(long generation) {
        putLong(OFF_GENERATION, generation);
    }

    public long owner() {
        return getLong(OFF_OWNER);
    }

    public void setOwner(long owner) {
        putLong(OFF_OWNER, owner);
    }

    public int nritems() {
        return getInt(OFF_NRITEMS);
    }

    public void setNritems(int nritems) {
        putInt(OFF_NRITEMS, nritems);
    }

    public int level() {
        return data[OFF_LEVEL] & 0xff;
    }

    public void setLevel(int level) {
        data[OFF_LEVEL] = (byte) level;
    }

    public boolean isLeaf() {
        return level() == 0;
    }

    // ---------------------------------------------------------------- checksum

    /** The crc32c of everything after the checksum area: what {@link #updateChecksum} stores. */
    public int computeChecksum(Crc32c crc) {
        return crc.compute(data, CSUM_SIZE, NODESIZE - CSUM_SIZE);
    }

    /** The checksum stored in the first 4 bytes of the block. */
    public int storedChecksum() {
        return getInt(OFF_CSUM);
    }

    /** kernel: csum_tree_block() as used by the write path — stores crc32c(bytes 32..end), zero-padded to 32 bytes. */
    public void updateChecksum(Crc32c crc) {
        Arrays.fill(data, OFF_CSUM, OFF_CSUM + CSUM_SIZE, (byte) 0);
        putInt(OFF_CSUM, computeChecksum(crc));
    }

    /**
     * kernel: the checksum part of validate_extent_buffer() in fs/btrfs/disk-io.c (v5.11) — throws
     * BtrfsException(EUCLEAN) naming the block when the stored checksum does not match its contents, in 5.11's words
     * (the kernel's line starts with the device's s_id, which the reader adds).
     */
    public void verifyChecksum(Crc32c crc) {
        int found = computeChecksum(crc);
        int wanted = storedChecksum();
        if (found != wanted) {
            throw new BtrfsException(Errno.EUCLEAN, "checksum verify failed on " + bytenr() + " wanted 0x"
                + Crc32c.csumFmt(wanted) + " found 0x" + Crc32c.csumFmt(found) + " level " + level());
        }
    }

    /**
     * kernel: validate_extent_buffer() in fs/btrfs/disk-io.c (v5.11) — the checks a freshly read block must pass: the
     * header names the address it was read from, the level is sane (-EIO, "bad tree block start, want N have M", "bad
     * tree block level L on N"), the checksum matches (-EUCLEAN).
     */
    public void validate(Crc32c crc, long expectedBytenr) {
        validate(crc, expectedBytenr, null);
    }

    /**
     * {@link #validate(Crc32c, long)} with check_tree_block_fsid() between the address and the level, as 5.11's
     * validate_extent_buffer has it: a block whose header names another filesystem ({@code fsid}; null: not checked)
     * is "bad fsid on block N", -EIO — an earlier filesystem's block where a disk never received this one's.
     */
    public void validate(Crc32c crc, long expectedBytenr, byte[] fsid) {
        if (bytenr() != expectedBytenr) {
            throw new BtrfsException(Errno.EIO, "bad tree block start, want " + expectedBytenr + " have " + bytenr());
        }
        if (fsid != null && !java.util.Arrays.equals(fsid(), fsid)) {
            throw new BtrfsException(Errno.EIO, "bad fsid on block " + expectedBytenr);
        }
        if (level() >= BtrfsPath.MAX_LEVEL) {
            throw new BtrfsException(Errno.EIO, "bad tree block level " + level() + " on " + expectedBytenr);
        }
        verifyChecksum(crc);
    }

    // ---------------------------------------------------------------- leaf items

    /** kernel: btrfs_item_nr_offset() — byte offset of item header {@code slot}. */
    public static int itemHeaderOffset(int slot) {
        return HEADER_SIZE + slot * ITEM_SIZE;
    }

    public Key itemKey(int slot) {
        return getKey(itemHeaderOffset(slot));
    }

    public void setItemKey(int slot, Key key) {
        putKey(itemHeaderOffset(slot), key);
    }

    /** Compares item {@code slot}'s key with {@code key} without materializing it (hot in binary search). */
    public int compareItemKey(int slot, Key key) {
        return compareKeyAt(itemHeaderOffset(slot), key);
    }

    /** kernel: btrfs_item_offset() — start of the item's data, relative to the end of the header. */
    public int itemOffset(int slot) {
        return getInt(itemHeaderOffset(slot) + Key.SIZE);
    }

    public void setItemOffset(int slot, int offset) {
        putInt(itemHeaderOffset(slot) + Key.SIZE, offset);
    }

    /** kernel: btrfs_item_size(). */
    public int itemSize(int slot) {
        return getInt(itemHeaderOffset(slot) + Key.SIZE + 4);
    }

    public void setItemSize(int slot, int size) {
        putInt(itemHeaderOffset(slot) + Key.SIZE + 4, size);
    }

    /** kernel: btrfs_item_data_end() — end of the item's data, relative to the end of the header. */
    public int itemDataEnd(int slot) {
        return itemOffset(slot) + itemSize(slot);
    }

    /** A copy of item {@code slot}'s data. */
    public byte[] itemData(int slot) {
        int start = HEADER_SIZE + itemOffset(slot);
        return Arrays.copyOfRange(data, start, start + itemSize(slot));
    }

    /** Overwrites item {@code slot}'s data; the size must not change (resizing is the tree's job: see {@link Ctree#updateItem}). */
    public void setItemData(int slot, byte[] bytes) {
        int size = itemSize(slot);
        if (bytes.length != size) {
            throw new IllegalArgumentException("item " + slot + " holds " + size + " bytes, got " + bytes.length);
        }
        System.arraycopy(bytes, 0, data, HEADER_SIZE + itemOffset(slot), size);
    }

    /** kernel: leaf_data_end() — where the lowest item data starts (relative to the end of the header). */
    public int leafDataEnd() {
        int nr = nritems();
        return nr == 0 ? LEAF_DATA_SIZE : itemOffset(nr - 1);
    }

    /** kernel: leaf_space_used() — bytes used by items [start, start+nr): headers plus data. */
    public int leafSpaceUsed(int start, int nr) {
        if (nr == 0) {
            return 0;
        }
        int end = Math.min(nritems(), start + nr) - 1;
        return itemDataEnd(start) - itemOffset(end) + ITEM_SIZE * nr;
    }

    /** kernel: btrfs_leaf_free_space() — room left for both item headers and data. */
    public int leafFreeSpace() {
        return LEAF_DATA_SIZE - leafSpaceUsed(0, nritems());
    }

    // ---------------------------------------------------------------- node key pointers

    /** kernel: btrfs_node_key_ptr_offset(). */
    public static int keyPtrOffset(int slot) {
        return HEADER_SIZE + slot * KEY_PTR_SIZE;
    }

    public Key nodeKey(int slot) {
        return getKey(keyPtrOffset(slot));
    }

    public void setNodeKey(int slot, Key key) {
        putKey(keyPtrOffset(slot), key);
    }

    public int compareNodeKey(int slot, Key key) {
        return compareKeyAt(keyPtrOffset(slot), key);
    }

    /** kernel: btrfs_node_blockptr(). */
    public long blockPtr(int slot) {
        return getLong(keyPtrOffset(slot) + Key.SIZE);
    }

    public void setBlockPtr(int slot, long bytenr) {
        putLong(keyPtrOffset(slot) + Key.SIZE, bytenr);
    }

    /** kernel: btrfs_node_ptr_generation(). */
    public long ptrGeneration(int slot) {
        return getLong(keyPtrOffset(slot) + Key.SIZE + 8);
    }

    public void setPtrGeneration(int slot, long generation) {
        putLong(keyPtrOffset(slot) + Key.SIZE + 8, generation);
    }

    /** Sets all three fields of key pointer {@code slot}. */
    public void setKeyPtr(int slot, Key key, long bytenr, long generation) {
        setNodeKey(slot, key);
        setBlockPtr(slot, bytenr);
        setPtrGeneration(slot, generation);
    }

    /** The lowest key in this block: item 0's key in a leaf, key pointer 0's in a node. */
    public Key firstKey() {
        return isLeaf() ? itemKey(0) : nodeKey(0);
    }

    /** Compares key {@code slot} (item or key pointer, by level) with {@code key}. */
    public int compareKey(int slot, Key key) {
        return isLeaf() ? compareItemKey(slot, key) : compareNodeKey(slot, key);
    }

    // ---------------------------------------------------------------- bulk moves (package-private: the tree code's tools)

    /** kernel: memmove_extent_buffer() — overlapping move inside this block (absolute offsets). */
    void memmove(int dst, int src, int len) {
        System.arraycopy(data, src, data, dst, len);
    }

    /** kernel: copy_extent_buffer() — bytes from another block (absolute offsets). */
    void copyFrom(ExtentBuffer src, int dst, int srcOff, int len) {
        System.arraycopy(src.data, srcOff, data, dst, len);
    }

    /** kernel: memmove_leaf_data() — offsets relative to the end of the header, like item offsets. */
    void memmoveLeafData(int dst, int src, int len) {
        memmove(HEADER_SIZE + dst, HEADER_SIZE + src, len);
    }

    /** kernel: copy_leaf_data(). */
    void copyLeafData(ExtentBuffer src, int dst, int srcOff, int len) {
        copyFrom(src, HEADER_SIZE + dst, HEADER_SIZE + srcOff, len);
    }

    /** kernel: memmove_leaf_items() — {@code nr} item headers from {@code srcSlot} to {@code dstSlot}. */
    void memmoveLeafItems(int dstSlot, int srcSlot, int nr) {
        memmove(itemHeaderOffset(dstSlot), itemHeaderOffset(srcSlot), nr * ITEM_SIZE);
    }

    /** kernel: copy_leaf_items(). */
    void copyLeafItems(ExtentBuffer src, int dstSlot, int srcSlot, int nr) {
        copyFrom(src, itemHeaderOffset(dstSlot), itemHeaderOffset(srcSlot), nr * ITEM_SIZE);
    }

    /** {@code nr} key pointers from {@code srcSlot} to {@code dstSlot} inside this node. */
    void memmoveKeyPtrs(int dstSlot, int srcSlot, int nr) {
        memmove(keyPtrOffset(dstSlot), keyPtrOffset(srcSlot), nr * KEY_PTR_SIZE);
    }

    /** {@code nr} key pointers from another node. */
    void copyKeyPtrs(ExtentBuffer src, int dstSlot, int srcSlot, int nr) {
        copyFrom(src, keyPtrOffset(dstSlot), keyPtrOffset(srcSlot), nr * KEY_PTR_SIZE);
    }

    /** Adds {@code delta} to the data offset of items [fromSlot, toSlot): data moved, headers follow. */
    void shiftItemOffsets(int fromSlot, int toSlot, int delta) {
        for (int i = fromSlot; i < toSlot; i++) {
            setItemOffset(i, itemOffset(i) + delta);
        }
    }

    // ---------------------------------------------------------------- raw little-endian access

    private long getLong(int off) {
        return (long) LE_LONG.get(data, off);
    }

    private void putLong(int off, long v) {
        LE_LONG.set(data, off, v);
    }

    private int getInt(int off) {
        return (int) LE_INT.get(data, off);
    }

    private void putInt(int off, int v) {
        LE_INT.set(data, off, v);
    }

    private void putBytes(int off, byte[] src, int len) {
        if (src.length != len) {
            throw new IllegalArgumentException("expected " + len + " bytes, got " + src.length);
        }
        System.arraycopy(src, 0, data, off, len);
    }

    private Key getKey(int off) {
        return new Key(getLong(off), data[off + 8] & 0xff, getLong(off + 9));
    }

    private void putKey(int off, Key key) {
        putLong(off, key.objectid());
        data[off + 8] = (byte) key.type();
        putLong(off + 9, key.offset());
    }

    /** Same order as {@link Key#compareTo}: objectid, type, offset, all unsigned. */
    private int compareKeyAt(int off, Key key) {
        int c = Long.compareUnsigned(getLong(off), key.objectid());
        if (c != 0) {
            return c;
        }
        c = Integer.compare(data[off + 8] & 0xff, key.type());
        if (c != 0) {
            return c;
        }
        return Long.compareUnsigned(getLong(off + 9), key.offset());
    }

    @Override
    public String toString() {
        return "eb[bytenr=" + bytenr() + " level=" + level() + " nritems=" + nritems() + " gen=" + generation()
            + " owner=" + owner() + (isWritten() ? " WRITTEN" : "") + "]";
    }
}
