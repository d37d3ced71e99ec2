package org.jbtrfs.fs.tools;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.RootRef;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

/**
 * An offline {@code btrfs inspect-internal dump-tree}: reads the trees of a device that is not
 * mounted (or the committed state of one that is: only what the last commit wrote is on the device)
 * straight from its blocks — superblock, the root tree from the superblock's root pointer, every
 * other tree from its ROOT_ITEM — and gives their items both as data ({@link Item}, with the fields
 * of the item types the port writes decoded into the {@code org.jbtrfs.core.disk} records) and as
 * text close to dump-tree's.
 *
 * <pre>{@code
 * DumpTree dump = DumpTree.read(dev);
 * for (DumpTree.Item it : dump.items(ItemType.ROOT_TREE_OBJECTID)) {
 *     if (it.value() instanceof RootItem ri && ri.refs() == 0) { ... }   // a deleted subvolume
 * }
 * System.out.print(dump.text(ItemType.ROOT_TREE_OBJECTID));              // like dump-tree -t root
 * }</pre>
 *
 * <p>Tolerant by design: an item type it has no decoder for (or whose size does not match the layout
 * it knows) is kept as {@link Raw} bytes and printed as a hex dump; a tree whose blocks cannot be read
 * (a deleted subvolume being dropped, a checksum error) is listed with its error instead of failing the
 * whole dump. Only an unreadable superblock or root tree root is an error (EINVAL / EUCLEAN).
 */
public final class DumpTree {
    /** The data of an ORPHAN_ITEM (empty: the key says it all). */
    public record Orphan() { }

    /** The bytes of an item this tool does not decode. */
    public record Raw(byte[] data) {
        @Override public boolean equals(Object o) { return o instanceof Raw r && java.util.Arrays.equals(data, r.data); }

        @Override public int hashCode() { return java.util.Arrays.hashCode(data); }

        @Override public String toString() { return "Raw[" + HexFormat.of().formatHex(data) + "]"; }
    }

    /**
     * One item of a leaf.
     *
     * @param tree       the id of the tree it was read from (1 root tree, 2 extent tree, 5 fs tree, 8 quota tree, 256.. subvolumes)
     * @param key        its key
     * @param leaf       the bytenr of the leaf holding it
     * @param slot       its slot in that leaf
     * @param itemOffset its data offset (relative to the end of the block header, as dump-tree prints "itemoff")
     * @param itemSize   its data size
     * @param value      the decoded data: {@link RootItem}, {@link Orphan}, {@link InodeItem}, {@link DirItem}, {@link InodeRef}, {@link RootRef},
     *                   {@link FileExtentItem}, {@link ExtentItem}, {@link BlockGroupItem}, {@link QgroupStatusItem},
     *                   {@link QgroupInfoItem}, or {@link Raw}
     */
    public record Item(long tree, Key key, long leaf, int slot, int itemOffset, int itemSize, Object value) {
        /** dump-tree's name of the item type ("ROOT_ITEM", "UNKNOWN.250"). */
        public String typeName() { return DumpTreeNames.typeName(key.type()); }

        /** The decoded value as {@code type}, or null when it is something else. */
        public <T> T as(Class<T> type) { return type.isInstance(value) ? type.cast(value) : null; }
    }

    /**
     * A tree found on the device.
     *
     * @param id     the tree's objectid
     * @param bytenr its root block
     * @param level  its root block's level (from the root item, or the superblock for the root tree)
     * @param refs   its root item's refs (1 for the root tree)
     * @param error  why its blocks could not be read, or null
     */
    public record TreeInfo(long id, long bytenr, int level, int refs, String error) {
        /** dump-tree's heading name ("root tree", "extent tree", "file tree (256)"...). */
        public String name() { return DumpTreeNames.treeName(id); }
    }

    private final BlockDevice dev;
    private final Crc32c crc;
    private final SuperBlock sb;
    private final List<TreeInfo> trees = new ArrayList<>();
    private final Map<Long, List<Item>> items = new LinkedHashMap<>();
    private final Map<Long, String> text = new LinkedHashMap<>();
    /** False for {@link #rootTreeItems}: no text is built (and only the root tree is walked). */
    private final boolean withText;

    private DumpTree(BlockDevice dev, Crc32c crc, boolean everyTree) {
        this.dev = dev;
        this.crc = crc;
        this.sb = DiskIo.readSuper(dev, crc);
        this.withText = everyTree;
        // the root tree first: an unreadable root tree root is an error of the whole dump
        TreeInfo root = new TreeInfo(ItemType.ROOT_TREE_OBJECTID, sb.root, sb.rootLevel, 1, null);
        walk(root, true);
        if (!everyTree) {
            return;
        }
        for (Item it : items.get(ItemType.ROOT_TREE_OBJECTID)) {
            if (it.key().type() == ItemType.ROOT_ITEM && it.key().offset() == 0 && it.value() instanceof RootItem ri) {
                walk(new TreeInfo(it.key().objectid(), ri.bytenr(), ri.level(), ri.refs(), null), false);
            }
        }
    }

    /** Reads every tree of {@code dev} (crc32c checksums verified with the generic implementation). */
    public static DumpTree read(BlockDevice dev) { return read(dev, Crc32cImpl.GENERIC); }

    /** Reads every tree of {@code dev}, verifying checksums with the crc32c implementation {@code crc}. */
    public static DumpTree read(BlockDevice dev, Crc32cImpl crc) {
        if (dev == null || crc == null) {
            throw new IllegalArgumentException((dev == null ? "dev" : "crc") + " must not be null");
        }
        return new DumpTree(dev, Crc32c.of(crc), true);
    }

    /**
     * The root tree's items only, in key order, checksums verified with {@code crc}: no other tree is read and no text
     * is built — what {@code Btrfs.inspect} needs after umount, where the whole dump's formatting was most of its cost.
     */
    public static List<Item> rootTreeItems(BlockDevice dev, Crc32cImpl crc) {
        if (dev == null || crc == null) {
            throw new IllegalArgumentException((dev == null ? "dev" : "crc") + " must not be null");
        }
        return new DumpTree(dev, Crc32c.of(crc), false).items(ItemType.ROOT_TREE_OBJECTID);
    }

    public SuperBlock superBlock() { return sb.copy(); }

    /** Every tree found: the root tree first, then the trees of the root tree's ROOT_ITEMs in key order. */
    public List<TreeInfo> trees() { return List.copyOf(trees); }

    /** The items of tree {@code treeId} in key order (empty if its blocks could not be read); ENOENT for a tree not on the device. */
    public List<Item> items(long treeId) {
        List<Item> l = items.get(treeId);
        if (l == null) {
            throw new BtrfsException(Errno.ENOENT, "no tree " + Long.toUnsignedString(treeId) + " on " + dev.name());
        }
        return List.copyOf(l);
    }

    /** Every item of every tree, tree by tree. */
    public List<Item> allItems() {
        List<Item> all = new ArrayList<>();
        items.values().forEach(all::addAll);
        return all;
    }

    /** One tree as text, like {@code btrfs inspect-internal dump-tree -t ID}. */
    public String text(long treeId) {
        String t = text.get(treeId);
        if (t == null) {
            throw new BtrfsException(Errno.ENOENT, "no tree " + Long.toUnsignedString(treeId) + " on " + dev.name());
        }
        return t;
    }

    /** Every tree as text, like {@code btrfs inspect-internal dump-tree} with no option (the superblock summary last). */
    public String text() {
        StringBuilder sb2 = new StringBuilder("jbtrfs dump-tree\n");
        for (String t : text.values()) {
            sb2.append(t);
        }
        sb2.append("total bytes ").append(sb.totalBytes).append('\n');
        sb2.append("bytes used ").append(sb.bytesUsed).append('\n');
        sb2.append("uuid ").append(DumpTreeNames.uuid(sb.fsid)).append('\n');
        return sb2.toString();
    }

    // ---- walking --------------------------------------------------------------------------------

    private void walk(TreeInfo tree, boolean mustRead) {
        List<Item> out = new ArrayList<>();
        StringBuilder sbuf = withText ? new StringBuilder() : null;
        if (sbuf != null) {
            sbuf.append(DumpTreeNames.treeHeading(tree.id())).append('\n');
        }
        String error = null;
        try {
            walkBlock(tree.id(), tree.bytenr(), tree.level(), out, sbuf);
        } catch (BtrfsException e) {
            if (mustRead) {
                throw e;
            }
            error = e.getMessage();
            out.clear();
            if (sbuf != null) {
                sbuf.append("ERROR: cannot read tree ").append(Long.toUnsignedString(tree.id())).append(": ").append(error).append('\n');
            }
        }
        trees.add(error == null ? tree : new TreeInfo(tree.id(), tree.bytenr(), tree.level(), tree.refs(), error));
        items.put(tree.id(), out);
        if (sbuf != null) {
            text.put(tree.id(), sbuf.toString());
        }
    }

    private ExtentBuffer readBlock(long bytenr) {
        if (bytenr <= 0 || bytenr % SuperBlock.NODESIZE != 0 || bytenr > dev.size() - SuperBlock.NODESIZE) {
            throw new BtrfsException(Errno.EUCLEAN, "bad tree block start " + bytenr + " on " + dev.name());
        }
        byte[] b = new byte[SuperBlock.NODESIZE];
        dev.read(bytenr, b, 0, b.length);
        ExtentBuffer eb = new ExtentBuffer(b);
        eb.validate(crc, bytenr);
        return eb;
    }

    /** Depth first, a node before its children, as dump-tree prints (without --bfs); {@code t} null: no text. */
    private void walkBlock(long tree, long bytenr, int expectedLevel, List<Item> out, StringBuilder t) {
        ExtentBuffer eb = readBlock(bytenr);
        if (eb.level() != expectedLevel) {
            throw new BtrfsException(Errno.EUCLEAN, "tree block " + bytenr + " has level " + eb.level() + ", expected " + expectedLevel);
        }
        int nr = eb.nritems();
        if (eb.isLeaf()) {
            if ((long) nr * ExtentBuffer.ITEM_SIZE > ExtentBuffer.LEAF_DATA_SIZE) {
                throw new BtrfsException(Errno.EUCLEAN, "leaf " + bytenr + " claims " + nr + " items");
            }
            if (t != null) {
                t.append(String.format(Locale.ROOT, "leaf %d items %d free space %d generation %d owner %s%n", bytenr, nr,
                    eb.leafFreeSpace(), eb.generation(), DumpTreeNames.objectid(eb.owner(), -1)));
                blockHeader(eb, "leaf", t);
            }
            for (int slot = 0; slot < nr; slot++) {
                Key k = eb.itemKey(slot);
                int off = eb.itemOffset(slot);
                int size = eb.itemSize(slot);
                if (off < 0 || size < 0 || (long) off + size > ExtentBuffer.LEAF_DATA_SIZE) {
                    throw new BtrfsException(Errno.EUCLEAN, "leaf " + bytenr + " slot " + slot + " item data out of the block");
                }
                Item it = new Item(tree, k, bytenr, slot, off, size, decode(k, eb.itemData(slot)));
                out.add(it);
                if (t != null) {
                    t.append(String.format(Locale.ROOT, "\titem %d key %s itemoff %d itemsize %d%n", slot, DumpTreeNames.key(k), off, size));
                    DumpTreeNames.body(it, t);
                }
            }
            return;
        }
        if (nr == 0 || nr > ExtentBuffer.NODEPTRS_PER_BLOCK) {
            throw new BtrfsException(Errno.EUCLEAN, "node " + bytenr + " claims " + nr + " pointers");
        }
        if (t != null) {
            t.append(String.format(Locale.ROOT, "node %d level %d items %d free space %d generation %d owner %s%n", bytenr,
                eb.level(), nr, ExtentBuffer.NODEPTRS_PER_BLOCK - nr, eb.generation(), DumpTreeNames.objectid(eb.owner(), -1)));
            blockHeader(eb, "node", t);
            for (int slot = 0; slot < nr; slot++) {
                t.append(String.format(Locale.ROOT, "\tkey %s block %d gen %d%n", DumpTreeNames.key(eb.nodeKey(slot)),
                    eb.blockPtr(slot), eb.ptrGeneration(slot)));
            }
        }
        for (int slot = 0; slot < nr; slot++) {
            walkBlock(tree, eb.blockPtr(slot), eb.level() - 1, out, t);
        }
    }

    private static void blockHeader(ExtentBuffer eb, String kind, StringBuilder t) {
        long flags = eb.flags();
        String names = (flags & ExtentBuffer.HEADER_FLAG_WRITTEN) != 0 ? "WRITTEN" : "";
        if ((flags & ExtentBuffer.HEADER_FLAG_RELOC) != 0) {
            names = names.isEmpty() ? "RELOC" : names + "|RELOC";
        }
        t.append(String.format(Locale.ROOT, "%s %d flags 0x%x(%s) backref revision %d%n", kind, eb.bytenr(),
            flags & 0x00ffffffffffffffL, names.isEmpty() ? "none" : names, flags >>> 56));
        t.append("fs uuid ").append(DumpTreeNames.uuid(eb.fsid())).append('\n');
        t.append("chunk uuid ").append(DumpTreeNames.uuid(eb.chunkTreeUuid())).append('\n');
    }

    /** The record for an item's data; anything unknown or of an unexpected size stays raw. */
    static Object decode(Key k, byte[] d) {
        return switch (k.type()) {
            case ItemType.ROOT_ITEM -> d.length >= RootItem.LEGACY_SIZE ? RootItem.decode(d) : new Raw(d);
            case ItemType.ORPHAN_ITEM -> d.length == 0 ? new Orphan() : new Raw(d);
            case ItemType.INODE_ITEM -> d.length >= InodeItem.SIZE ? InodeItem.decode(d) : new Raw(d);
            case ItemType.DIR_ITEM, ItemType.DIR_INDEX -> decodeDir(d);
            case ItemType.INODE_REF -> InodeRef.wellFormed(d) ? InodeRef.decode(d) : new Raw(d);
            case ItemType.ROOT_REF, ItemType.ROOT_BACKREF -> RootRef.wellFormed(d) ? RootRef.decode(d) : new Raw(d);
            case ItemType.EXTENT_DATA -> d.length == FileExtentItem.SIZE ? FileExtentItem.decode(d) : new Raw(d);
            case ItemType.EXTENT_ITEM, ItemType.METADATA_ITEM -> d.length == ExtentItem.SIZE ? ExtentItem.decode(d) : new Raw(d);
            case ItemType.BLOCK_GROUP_ITEM -> d.length == BlockGroupItem.SIZE ? BlockGroupItem.decode(d) : new Raw(d);
            case ItemType.QGROUP_STATUS -> d.length >= QgroupStatusItem.SIZE ? QgroupStatusItem.decode(d) : new Raw(d);
            case ItemType.QGROUP_INFO -> d.length == QgroupInfoItem.SIZE ? QgroupInfoItem.decode(d) : new Raw(d);
            default -> new Raw(d);
        };
    }

    private static Object decodeDir(byte[] d) {
        if (d.length < 20 || 20 + org.jbtrfs.core.disk.Le.u16(d, 18) != d.length) {
            return new Raw(d);
        }
        return DirItem.decode(d);
    }
}
