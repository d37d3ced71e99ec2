package org.jbtrfs.core.disk;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Errno;

/**
 * The primary superblock (struct btrfs_super_block), a documented subset at the kernel's offsets:
 * 4 KiB at 64 KiB into the device, crc32c of bytes 32..4095 in its first four bytes.
 */
public final class SuperBlock {
    public static final long OFFSET = 64 * 1024;
    public static final int SIZE = 4096;
    /** "_BHRfS_M" */
    public static final long MAGIC = 0x4D5F53665248425FL;
    public static final int NODESIZE = 16384;
    public static final int SECTORSIZE = 4096;
    public static final int CSUM_TYPE_CRC32C = 0;
    /** BTRFS_SUPER_FLAG_ERROR: the filesystem was forced read-only after an error. */
    public static final long FLAG_ERROR = 1L << 2;
    /** BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE */
    public static final long COMPAT_RO_FREE_SPACE_TREE = 1L << 0;
    /** BTRFS_FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID */
    public static final long COMPAT_RO_FREE_SPACE_TREE_VALID = 1L << 1;
    /** BTRFS_FEATURE_COMPAT_RO_SUPP as far as the port knows the bits (5.11: FST, FST_VALID). */
    public static final long COMPAT_RO_SUPP = COMPAT_RO_FREE_SPACE_TREE | COMPAT_RO_FREE_SPACE_TREE_VALID;
    /** The magic's offset: btrfs_scratch_superblocks zeroes it, and a device without it holds no filesystem. */
    public static final int MAGIC_OFF = 0x40;
    /** struct btrfs_dev_item inside the superblock; devid is its first field. */
    private static final int DEV_ITEM_OFF = 0xc9;
    private static final int LABEL_OFF = 0x12b;
    private static final int LABEL_LEN = 256;
    private static final int CACHE_GENERATION_OFF = 0x22b;
    private static final int UUID_TREE_GENERATION_OFF = 0x233;

    public byte[] fsid = new byte[16];
    public long bytenr = OFFSET;
    public long flags;
    public long generation;
    /** Logical address of the root tree's root block. */
    public long root;
    public int rootLevel;
    public long totalBytes;
    public long bytesUsed;
    public long rootDirObjectid = 6;
    public long numDevices = 1;
    /**
     * dev_item.devid: the device this copy of the superblock was written to — 1 for the filesystem's device, 0
     * (BTRFS_DEV_REPLACE_DEVID) on a dev-replace target while the replace runs; write_all_supers sets it per device.
     */
    public long devid = 1;
    public int sectorsize = SECTORSIZE;
    public int nodesize = NODESIZE;
    public int csumType = CSUM_TYPE_CRC32C;
    /** Logical address of the log tree root; non-zero means a log replay is needed. */
    public long logRoot;
    /** compat_ro_flags: features an old kernel may only mount read-only (the free space tree). */
    public long compatRoFlags;
    /**
     * cache_generation: the generation the v1 free space caches were written in; (u64)-1 from mkfs.btrfs
     * ("invalid, rebuild"), 0 once v1 is not in use (5.11).
     */
    public long cacheGeneration;
    /** uuid_tree_generation: the generation of the last commit that knew the UUID tree complete (update_super_roots). */
    public long uuidTreeGeneration;
    public String label = "";

    public SuperBlock copy() {
        SuperBlock s = decodeUnchecked(encodeRaw());
        return s;
    }

    /** Serialises and checksums with {@code crc}. */
    public byte[] encode(Crc32c crc) {
        byte[] b = encodeRaw();
        Le.u32(b, 0, crc.compute(b, 32, SIZE - 32));
        return b;
    }

    private byte[] encodeRaw() {
        byte[] b = new byte[SIZE];
        System.arraycopy(fsid, 0, b, 0x20, 16);
        Le.u64(b, 0x30, bytenr);
        Le.u64(b, 0x38, flags);
        Le.u64(b, 0x40, MAGIC);
        Le.u64(b, 0x48, generation);
        Le.u64(b, 0x50, root);
        Le.u64(b, 0x60, logRoot);
        Le.u64(b, 0x70, totalBytes);
        Le.u64(b, 0x78, bytesUsed);
        Le.u64(b, 0x80, rootDirObjectid);
        Le.u64(b, 0x88, numDevices);
        Le.u32(b, 0x90, sectorsize);
        Le.u32(b, 0x94, nodesize);
        Le.u32(b, 0x98, nodesize);
        Le.u64(b, 0xb4, compatRoFlags);
        Le.u16(b, 0xc4, csumType);
        b[0xc6] = (byte) rootLevel;
        Le.u64(b, DEV_ITEM_OFF, devid);
        byte[] l = label.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(l, 0, b, LABEL_OFF, Math.min(l.length, LABEL_LEN - 1));
        Le.u64(b, CACHE_GENERATION_OFF, cacheGeneration);
        Le.u64(b, UUID_TREE_GENERATION_OFF, uuidTreeGeneration);
        return b;
    }

    /**
     * kernel: btrfs_validate_super() and the checksum check of open_ctree — parses a superblock read
     * from {@code device}; a wrong magic, a bad checksum or an unsupported layout is a clear error.
     */
    public static SuperBlock decode(byte[] b, Crc32c crc, String device) {
        if (b.length < SIZE || Le.u64(b, 0x40) != MAGIC) {
            throw new BtrfsException(Errno.EINVAL, "no valid btrfs found on " + device + " (bad magic)");
        }
        int stored = Le.u32(b, 0);
        int computed = crc.compute(b, 32, SIZE - 32);
        if (stored != computed) {
            throw new BtrfsException(Errno.EINVAL, "superblock checksum mismatch on " + device + ": stored 0x"
                + Integer.toHexString(stored) + " computed 0x" + Integer.toHexString(computed));
        }
        SuperBlock s = decodeUnchecked(b);
        if (s.csumType != CSUM_TYPE_CRC32C) {
            throw new BtrfsException(Errno.EINVAL, "unsupported checksum algorithm " + s.csumType + " on " + device);
        }
        if (s.nodesize != NODESIZE || s.sectorsize != SECTORSIZE) {
            throw new BtrfsException(Errno.EINVAL, "unsupported nodesize " + s.nodesize + " / sectorsize " + s.sectorsize
                + " on " + device);
        }
        if (s.root == 0 || s.root % NODESIZE != 0) {
            throw new BtrfsException(Errno.EUCLEAN, "invalid root tree bytenr " + s.root + " on " + device);
        }
        return s;
    }

    private static SuperBlock decodeUnchecked(byte[] b) {
        SuperBlock s = new SuperBlock();
        s.fsid = Arrays.copyOfRange(b, 0x20, 0x30);
        s.bytenr = Le.u64(b, 0x30);
        s.flags = Le.u64(b, 0x38);
        s.generation = Le.u64(b, 0x48);
        s.root = Le.u64(b, 0x50);
        s.logRoot = Le.u64(b, 0x60);
        s.totalBytes = Le.u64(b, 0x70);
        s.bytesUsed = Le.u64(b, 0x78);
        s.rootDirObjectid = Le.u64(b, 0x80);
        s.numDevices = Le.u64(b, 0x88);
        s.sectorsize = Le.u32(b, 0x90);
        s.nodesize = Le.u32(b, 0x94);
        s.csumType = Le.u16(b, 0xc4);
        s.compatRoFlags = Le.u64(b, 0xb4);
        s.cacheGeneration = Le.u64(b, CACHE_GENERATION_OFF);
        s.uuidTreeGeneration = Le.u64(b, UUID_TREE_GENERATION_OFF);
        s.rootLevel = b[0xc6] & 0xff;
        s.devid = Le.u64(b, DEV_ITEM_OFF);
        int end = LABEL_OFF;
        while (end < LABEL_OFF + LABEL_LEN && b[end] != 0) {
            end++;
        }
        s.label = new String(b, LABEL_OFF, end - LABEL_OFF, StandardCharsets.UTF_8);
        return s;
    }
}
