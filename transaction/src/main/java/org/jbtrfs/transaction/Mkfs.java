package org.jbtrfs.transaction;

import java.util.concurrent.ThreadLocalRandom;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Kernel;
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
 * mkfs.btrfs: writes a fresh filesystem — a system, a metadata and a data block group, the root tree,
 * the extent tree (extent and block group items) and the default subvolume (id 5) with its root
 * directory — by running one real transaction and committing it.
 */
public final class Mkfs {
    public static final long MIN_SIZE = 32L << 20;
    static final long FIRST_CHUNK = 1L << 20;
    static final long SYSTEM_SIZE = 1L << 20;

    private Mkfs() { }

    /** Metadata block group size for a device of {@code size} bytes. */
    static long metadataSize(long size) { return align(Math.max(8L << 20, Math.min(size / 4, 256L << 20))); }

    /** Data chunk size for a device of {@code size} bytes (later data chunks have the same size). */
    public static long dataChunkSize(long size) { return align(Math.max(4L << 20, Math.min(size / 8, 1L << 30))); }

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
        long meta = metadataSize(size);
        long data = dataChunkSize(size);
        SpaceManager space = new SpaceManager(size, FIRST_CHUNK, data);
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
        TransHandle h = Transactions.join(fs, null, "mkfs");
        TransTreeBlockManager mgr = new TransTreeBlockManager(h);
        fs.treeRoot = new Root(ItemType.ROOT_TREE_OBJECTID, mgr.allocTreeBlock(ItemType.ROOT_TREE_OBJECTID, 0), null);
        var extentNode = mgr.allocTreeBlock(ItemType.EXTENT_TREE_OBJECTID, 0);
        fs.extentRoot = new Root(ItemType.EXTENT_TREE_OBJECTID, extentNode, newRootItem(extentNode.bytenr(), 0, 1));
        var fsNode = mgr.allocTreeBlock(ItemType.FS_TREE_OBJECTID, 0);
        fs.fsRoot = new Root(ItemType.FS_TREE_OBJECTID, fsNode, newRootItem(fsNode.bytenr(), ItemType.FIRST_FREE_OBJECTID, 1));
        fs.fsRootsRadix.put(ItemType.FS_TREE_OBJECTID, fs.fsRoot);
        Trees.insert(h, fs.treeRoot, new Key(ItemType.EXTENT_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.extentRoot.rootItem().encode());
        Trees.insert(h, fs.treeRoot, new Key(ItemType.FS_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), fs.fsRoot.rootItem().encode());
        for (BlockGroup bg : bgs) {
            Trees.insert(h, fs.extentRoot, new Key(bg.start(), ItemType.BLOCK_GROUP_ITEM, bg.length()),
                new BlockGroupItem(0, 256, bg.type().flag()).encode());
        }
        Trees.insert(h, fs.fsRoot, new Key(ItemType.FIRST_FREE_OBJECTID, ItemType.INODE_ITEM, 0),
            new InodeItem(1, 1, 0, 0, 1, InodeItem.S_IFDIR | 0755).encode());
        Transactions.commit(h);
        return fs.superCopy();
    }

    /** A root item for a fresh tree. */
    public static RootItem newRootItem(long bytenr, long rootDirid, int refs) {
        return new RootItem(0, rootDirid, bytenr, 0, 0, 0, refs, Key.MIN, 0, 0);
    }
}
