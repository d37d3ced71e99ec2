package org.jbtrfs.transaction;

import java.util.concurrent.ThreadLocalRandom;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;
import org.jbtrfs.transaction.space.SpaceManager;

/**
 * mkfs.btrfs (5.10-era btrfs-progs defaults: v1 space cache, no free space tree): writes a fresh
 * filesystem — a system, a metadata and a data block group, the root tree,
 * the extent tree (extent and block group items), the device and checksum trees and the default subvolume (id 5) with its root
 * directory — by running one real transaction and committing it.
 */
public final class Mkfs {
    public static final long MIN_SIZE = 32L << 20;
    static final long FIRST_CHUNK = 1L << 20;
    static final long SYSTEM_SIZE = 1L << 20;

    private Mkfs() { }

    /**
     * Below 1 GiB mkfs.btrfs makes mixed block groups, which the port does not model; there it keeps its own
     * small chunks (metadata a quarter, data an eighth of the device) so small test devices hold several.
     */
    static final long SMALL_VOLUME = 1L << 30;

    /**
     * Metadata block group size for a device of {@code size} bytes: from 1 GiB on the chunk allocator's rule
     * for a single device — at most 256 MiB, at most 10% of the device rounded up to 16 MiB
     * (__btrfs_alloc_chunk's max_chunk_size and its round_up(..., SZ_16M)).
     */
    static long metadataSize(long size) {
        if (size < SMALL_VOLUME) {
            return align(Math.max(8L << 20, Math.min(size / 4, 256L << 20)));
        }
        return Math.min(256L << 20, tenPercent(size));
    }

    /**
     * Size of the data chunks the kernel allocates on demand for a device of {@code size} bytes: from 1 GiB
     * on at most 1 GiB (BTRFS_MAX_DATA_CHUNK_SIZE's stripe limit) and at most 10% of the device rounded up to
     * 16 MiB — 112 MiB on 1 GiB, 832 MiB on 8 GiB, 1 GiB from 10 GiB on.
     */
    public static long dataChunkSize(long size) {
        if (size < SMALL_VOLUME) {
            return align(Math.max(4L << 20, Math.min(size / 8, 1L << 30)));
        }
        return Math.min(1L << 30, tenPercent(size));
    }

    /** The data block group mkfs.btrfs itself makes: 8 MiB ("Data: single 8.00MiB") from 1 GiB on. */
    public static long initialDataSize(long size) { return size < SMALL_VOLUME ? dataChunkSize(size) : 8L << 20; }

    /**
     * The block groups and space_infos of a filesystem on a device of {@code size} bytes, empty (mkfs and open_ctree fill
     * them): chunks from {@link #FIRST_CHUNK}, new ones of the chunk allocator's sizes for the device.
     */
    public static SpaceManager spaceManager(long size) {
        return new SpaceManager(size, FIRST_CHUNK, dataChunkSize(size), metadataSize(size));
    }

    /** div_factor(total, 1) rounded up to 16 MiB. */
    private static long tenPercent(long size) {
        long sixteen = 16L << 20;
        return (size / 10 + sixteen - 1) / sixteen * sixteen;
    }

    private static long align(long v) { return v & ~((1L << 20) - 1); }

    /** Formats {@code dev}; returns the superblock written. */
    public static SuperBlock mkfs(Kernel kernel, BlockDevice dev, String label) {
        long size = dev.size();
        if (size < MIN_SIZE) {
            throw new BtrfsException(Errno.EINVAL, "device " + dev.name() + " is too small: " + size + " bytes, need at least "
                + MIN_SIZE);
        }
        SuperBlock sb = new SuperBlock();
        ThreadLocalRandom.current().nextBytes(sb.fsid);
        sb.totalBytes = size;
        sb.label = label == null ? "" : label;
        sb.generation = 0;
        // mkfs.btrfs sets cache_generation to (u64)-1: "the v1 cache is invalid, rebuild it" — which is what
        // makes a kernel default to space_cache (v1) on a fresh filesystem
        sb.cacheGeneration = -1L;
        long meta = metadataSize(size);
        long data = initialDataSize(size);
        SpaceManager space = spaceManager(size);
        long sysStart = FIRST_CHUNK;
        long metaStart = sysStart + SYSTEM_SIZE;
        long dataStart = metaStart + meta;
        if (dataStart + data > size) {
            throw new BtrfsException(Errno.ENOSPC, "device " + dev.name() + " too small for the initial chunks");
        }
        BlockGroup[] bgs = {
            space.addBlockGroup(sysStart, SYSTEM_SIZE, BlockGroupType.SYSTEM, 0),
            space.addBlockGroup(metaStart, meta, BlockGroupType.METADATA, 0),
            space.addBlockGroup(dataStart, data, BlockGroupType.DATA, 0),
        };
        FsInfo fs = new FsInfo(kernel, dev, sb, space);
        TransHandle h = Transactions.joinForMkfs(fs);
        TransTreeBlockManager mgr = new TransTreeBlockManager(h);
        fs.setTreeRoot(new Root(ItemType.ROOT_TREE_OBJECTID, mgr.allocTreeBlock(ItemType.ROOT_TREE_OBJECTID, 0), null));
        var extentNode = mgr.allocTreeBlock(ItemType.EXTENT_TREE_OBJECTID, 0);
        fs.setExtentRoot(new Root(ItemType.EXTENT_TREE_OBJECTID, extentNode, newRootItem(h.transid(), extentNode.bytenr(), 0, 1)));
        var fsNode = mgr.allocTreeBlock(ItemType.FS_TREE_OBJECTID, 0);
        fs.setFsRoot(new Root(ItemType.FS_TREE_OBJECTID, fsNode, newRootItem(h.transid(), fsNode.bytenr(), ItemType.FIRST_FREE_OBJECTID, 1)));
        fs.fsRootsRadix.put(ItemType.FS_TREE_OBJECTID, fs.fsRoot());
        // the device tree (mkfs.btrfs fills it with the dev extents and dev stats; the port keeps only the dev-replace
        // item in it, which a replace writes)
        var devNode = mgr.allocTreeBlock(ItemType.DEV_TREE_OBJECTID, 0);
        fs.setDevRoot(new Root(ItemType.DEV_TREE_OBJECTID, devNode, newRootItem(h.transid(), devNode.bytenr(), 0, 1)));
        // the checksum tree (mkfs.btrfs's create_tree for BTRFS_CSUM_TREE_OBJECTID): empty until data is written
        var csumNode = mgr.allocTreeBlock(ItemType.CSUM_TREE_OBJECTID, 0);
        fs.setCsumRoot(new Root(ItemType.CSUM_TREE_OBJECTID, csumNode, newRootItem(h.transid(), csumNode.bytenr(), 0, 1)));
        Trees.insert(h, fs.treeRoot(), new Key(ItemType.EXTENT_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.extentRoot().rootItem().encode());
        Trees.insert(h, fs.treeRoot(), new Key(ItemType.CSUM_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.csumRoot().rootItem().encode());
        Trees.insert(h, fs.treeRoot(), new Key(ItemType.FS_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.fsRoot().rootItem().encode());
        Trees.insert(h, fs.treeRoot(), new Key(ItemType.DEV_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.devRoot().rootItem().encode());
        for (BlockGroup bg : bgs) {
            Trees.insert(h, fs.extentRoot(), new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
                new BlockGroupItem(0, 256, bg.type().flag()).encode());
        }
        Trees.insert(h, fs.fsRoot(), new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.INODE_ITEM, 0),
            new InodeItem(1, 1, 0, 0, 1, InodeItem.S_IFDIR | 0755).encode());
        Transactions.commit(h);
        return fs.superCopy();
    }

    /**
     * A root item for a fresh tree whose root node was allocated in transaction {@code generation}: the item records
     * that generation (create_subvol's btrfs_set_root_generation, btrfs_create_tree's), which a reader of the root
     * node checks the node's header against (btrfs_read_tree_root's read_tree_block).
     */
    public static RootItem newRootItem(long generation, long bytenr, long rootDirid, int refs) {
        return new RootItem(generation, rootDirid, bytenr, 0, 0, 0, refs, Key.MIN, 0, 0);
    }
}
