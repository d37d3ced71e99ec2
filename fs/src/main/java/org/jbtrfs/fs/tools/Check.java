package org.jbtrfs.fs.tools;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.kernel.Crc32c;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.TreeChecker;

/**
 * An offline consistency check of a device that is not mounted (or of the committed state of one that
 * is) — {@code btrfs check --readonly} for the subset of the format the port writes. It changes nothing.
 *
 * <p>What it checks, in btrfs check's stages:
 * <ol>
 *   <li>root items: the superblock, and every tree named by a root item can be read;</li>
 *   <li>extents: every tree block's checksum and structure (key order, item layout, pointers against
 *       their children: tree-checker's rules), every tree block reachable from a root has its
 *       METADATA_ITEM with one reference and every METADATA_ITEM a block, every file extent its
 *       EXTENT_ITEM with as many references as file extents point at it and every data EXTENT_ITEM
 *       a file extent, and each block group item's {@code used} equals the extents inside it;</li>
 *   <li>fs roots: directory entries (DIR_ITEM and DIR_INDEX) point at an inode or a subvolume, a directory's
 *       i_size is twice the length of its names, a linked inode has an INODE_REF whose parent holds the
 *       matching DIR_INDEX, orphan items of a subvolume name an unlinked inode;</li>
 *   <li>csums: every checksum item lies inside data extents, every sector of a subvolume's file extent has its sum,
 *       and, with {@code checkDataCsum}, the data on disk matches its sums;</li>
 *   <li>root refs: a deleted subvolume (root item refs 0) has its orphan item — without it nothing
 *       tells a later mount to drop it (the March 2021 bug) — and a root-tree orphan item names a
 *       deleted subvolume or a free-space-cache inode (a stray one is only a warning: the next RW mount's
 *       btrfs_find_orphan_roots deletes it).</li>
 * </ol>
 * A subvolume being dropped is walked only from its drop progress on, as btrfs check does: the leaves
 * before it are already freed.
 *
 * <pre>{@code
 * Check.Report r = Check.check(dev);
 * assertTrue(r.clean(), r.text());
 * }</pre>
 */
public final class Check {
    /** What kind of inconsistency. */
    public enum Kind {
        /** The superblock cannot be read (magic, checksum, size). */
        SUPERBLOCK,
        /** A tree block's checksum, bytenr or level is wrong: it cannot be read. */
        UNREADABLE_BLOCK,
        /** A tree block or a tree breaks the structure rules (key order, item layout, pointers). */
        TREE_STRUCTURE,
        /** A tree block reachable from a root, or a file extent, has no extent item. */
        MISSING_EXTENT_ITEM,
        /** An extent item that nothing references. */
        UNREFERENCED_EXTENT_ITEM,
        /** An extent item whose reference count is not the number of its references. */
        EXTENT_REFS,
        /**
         * A data extent's backref (owner root, inode, file offset of its start) that no file extent item of the extent
         * has ("data backref ... not found", stop 51: the backref walk searches for it).
         */
        DATA_BACKREF,
        /** A block group item whose used bytes are not the sum of the extents inside it. */
        BLOCK_GROUP_USED,
        /** A directory entry (DIR_ITEM or DIR_INDEX) that points at neither an inode nor a subvolume. */
        DANGLING_DIR_ITEM,
        /** A directory whose i_size is not twice the length of its names ("errors 200, dir isize wrong"). */
        DIR_ISIZE_WRONG,
        /** A file extent item that starts before the previous one of the same inode ends ("errors 80, file extent overlap"). */
        FILE_EXTENT_OVERLAP,
        /** A regular file with a range below its i_size no file extent item covers ("errors 100, file extent discount"). */
        FILE_EXTENT_DISCOUNT,
        /** A linked file or directory without an INODE_REF to its parent, or one its parent has no entry for. */
        INODE_REF_WRONG,
        /** A subvolume's orphan item for an inode that is missing or still linked (orphan cleanup removes it). */
        STALE_INODE_ORPHAN,
        /** A root-tree orphan item for a subvolume whose root item is gone (the next RW mount deletes it). */
        STRAY_ROOT_ORPHAN,
        /** A deleted subvolume (root item refs 0) with no orphan item: no mount will ever drop it. */
        DELETED_ROOT_WITHOUT_ORPHAN,
        /**
         * A tree block whose header generation is not the one its referrer recorded — the parent node's pointer,
         * the root item, or the superblock for the tree root ("parent transid verify failed"): the block on disk is
         * another life of that address than the one the committed tree meant (a write that never happened or was
         * overwritten).
         */
        PARENT_TRANSID,
        /** Checksums for a range no data extent item covers ("csum exists for X-Y but there is no extent record"). */
        CSUM_WITHOUT_EXTENT,
        /** A file extent of a subvolume with sectors the csum tree has no sum for ("errors 1000, some csum missing"). */
        CSUM_MISSING,
        /**
         * Data whose sum does not match what the disk holds there (only with {@code checkDataCsum}, as
         * {@code btrfs check --check-data-csum}): a write that never reached the disk, or another life of the sector.
         */
        DATA_CSUM_MISMATCH
    }

    /** Whether a problem is an error (the image is inconsistent) or a warning (the kernel repairs it itself). */
    public enum Severity { ERROR, WARNING }

    /**
     * One inconsistency.
     *
     * @param kind     what is wrong
     * @param severity error, or a warning the kernel heals at the next mount
     * @param where    the block or key it is about ("block 30425088", "tree 256", "key (257 INODE_ITEM 0)")
     * @param message  what btrfs check would print after "ERROR: "
     */
    public record Problem(Kind kind, Severity severity, String where, String message) {
        @Override public String toString() { return severity + ": " + message + " [" + where + "]"; }
    }

    /**
     * The outcome.
     *
     * @param device       the device checked
     * @param problems     every problem found, in stage order
     * @param treeBlocks   tree blocks read
     * @param dataExtents  data extent items seen
     * @param bytesUsed    bytes of every extent item (what btrfs check prints as "found N bytes used")
     */
    public record Report(String device, List<Problem> problems, long treeBlocks, long dataExtents, long bytesUsed) {
        /** No error (warnings allowed: the kernel repairs those itself). */
        public boolean clean() { return problems.stream().noneMatch(p -> p.severity() == Severity.ERROR); }

        /** The problems of {@code kind}. */
        public List<Problem> of(Kind kind) { return problems.stream().filter(p -> p.kind() == kind).toList(); }

        /** The report as {@code btrfs check --readonly} prints one. */
        public String text() {
            StringBuilder sb = new StringBuilder();
            sb.append("Checking filesystem on ").append(device).append('\n');
            for (Problem p : problems) {
                sb.append(p.severity() == Severity.ERROR ? "ERROR: " : "WARNING: ").append(p.message()).append('\n');
            }
            sb.append("found ").append(bytesUsed).append(" bytes used, ").append(clean() ? "no error found" : "error(s) found")
                .append('\n');
            sb.append("total tree bytes: ").append(treeBlocks * SuperBlock.NODESIZE).append('\n');
            sb.append("total data extents: ").append(dataExtents).append('\n');
            return sb.toString();
        }
    }

    private final BlockDevice dev;
    private final Crc32c crc;
    /** The superblock's fsid: every tree block must name it (btrfs check's check_tree_block_fsid), once it is read. */
    private byte[] fsid;
    private final List<Problem> problems = new ArrayList<>();
    /** Tree blocks reachable from the roots: bytenr → how many parents (or root pointers) reference it. */
    private final Map<Long, Integer> blockRefs = new HashMap<>();
    /** Who points at each tree block: "tree T root" or "tree T node B" (named when the counts disagree). */
    private final Map<Long, List<String>> blockReferrers = new HashMap<>();
    /** Data extents referenced by file extents: bytenr → [references, disk length]. */
    private final Map<Long, long[]> dataRefs = new HashMap<>();
    /** Data extent bytenr → the file extent items pointing at it ("tree T inode I offset O"), for the messages. */
    private final Map<Long, List<String>> dataReferrers = new HashMap<>();
    /** bytenr → the data backref keys its file extent items imply: (tree, inode, key offset − extent offset). */
    private final Map<Long, java.util.Set<List<Long>>> dataBackrefs = new HashMap<>();
    /** The items of every readable tree, by tree id. */
    private final Map<Long, TreeMap<Key, byte[]>> trees = new TreeMap<>(Long::compareUnsigned);

    /** Whether the data is read and compared with its sums (btrfs check --check-data-csum). */
    private final boolean checkDataCsum;
    /** With {@link #checkDataCsum}: only data extents of this generation or newer are read. */
    private final long dataFromGeneration;

    private Check(BlockDevice dev, Crc32c crc, boolean checkDataCsum, long dataFromGeneration) {
        this.dev = dev;
        this.crc = crc;
        this.checkDataCsum = checkDataCsum;
        this.dataFromGeneration = dataFromGeneration;
    }

    /** Checks {@code dev}, verifying checksums with generic crc32c. */
    public static Report check(BlockDevice dev) { return check(dev, Crc32cImpl.GENERIC); }

    /** Checks {@code dev}, verifying checksums with the crc32c implementation {@code crc}. */
    public static Report check(BlockDevice dev, Crc32cImpl crc) { return check(dev, crc, false); }

    /**
     * Checks {@code dev}, verifying checksums with {@code crc}; with {@code checkDataCsum} the data extents' sectors are
     * read and compared with their sums too ({@code btrfs check --check-data-csum}).
     */
    public static Report check(BlockDevice dev, Crc32cImpl crc, boolean checkDataCsum) {
        return checkData(dev, crc, checkDataCsum ? 0 : Long.MAX_VALUE);
    }

    /**
     * {@link #check(BlockDevice, Crc32cImpl, boolean)} with the data of the extents of generation {@code fromGeneration}
     * or newer read (0: all; {@code Long.MAX_VALUE}: none) — a checker that verified the older ones on this device
     * before reads only what came since.
     */
    public static Report checkData(BlockDevice dev, Crc32cImpl crc, long fromGeneration) {
        if (dev == null || crc == null) {
            throw new IllegalArgumentException((dev == null ? "dev" : "crc") + " must not be null");
        }
        if (fromGeneration < 0) {
            throw new IllegalArgumentException("fromGeneration must not be negative: " + fromGeneration);
        }
        return new Check(dev, Crc32c.of(crc), fromGeneration != Long.MAX_VALUE, fromGeneration).run();
    }

    private Report run() {
        SuperBlock sb;
        try {
            sb = DiskIo.readSuper(dev, crc);
            fsid = sb.fsid.clone();
        } catch (BtrfsException e) {
            problems.add(new Problem(Kind.SUPERBLOCK, Severity.ERROR, "superblock", "cannot read the superblock: " + e.getMessage()));
            return new Report(dev.name(), List.copyOf(problems), 0, 0, 0);
        }
        // [1/7] checking root items, [2/7] checking extents: the trees themselves
        if (!readTree(ItemType.ROOT_TREE_OBJECTID, sb.root, sb.rootLevel, sb.generation, Key.MIN)) {
            return new Report(dev.name(), List.copyOf(problems), blockRefs.size(), 0, 0);
        }
        for (Map.Entry<Key, byte[]> e : items(ItemType.ROOT_TREE_OBJECTID).entrySet()) {
            Key k = e.getKey();
            if (k.type() == ItemType.ROOT_ITEM && k.offset() == 0 && e.getValue().length >= RootItem.LEGACY_SIZE) {
                RootItem ri = RootItem.decode(e.getValue());
                Key from = ri.refs() == 0 ? ri.dropProgress() : Key.MIN;
                readTree(k.objectid(), ri.bytenr(), ri.level(), ri.generation(), from);
            }
        }
        collectFileExtents();
        long[] totals = checkExtentTree();
        // [4/7] checking fs roots, [5/7] checking csums, [6/7] checking root refs
        checkFsRoots();
        checkCsums();
        checkRootRefs();
        return new Report(dev.name(), List.copyOf(problems), blockRefs.size(), totals[0], totals[1]);
    }

    private TreeMap<Key, byte[]> items(long tree) { return trees.getOrDefault(tree, new TreeMap<>()); }

    // ---- reading ----------------------------------------------------------------------------------

    /**
     * Reads one tree: checksums and structure (tree-checker's rules), its blocks counted as referenced,
     * its items kept. A dropping subvolume is read from {@code from} on (what its drop freed before that key is not read).
     * Returns false when the tree could not be read. {@code generation} is what the referrer recorded for its root
     * block (the superblock's generation for the tree root, the root item's otherwise), as btrfs_read_tree_root and
     * open_ctree pass it to read_tree_block.
     */
    private boolean readTree(long tree, long bytenr, int level, long generation, Key from) {
        TreeMap<Key, byte[]> out = new TreeMap<>();
        trees.put(tree, out);
        String where = "tree " + Long.toUnsignedString(tree);
        try {
            ExtentBuffer root = read(bytenr);
            if (root.level() != level) {
                problems.add(new Problem(Kind.TREE_STRUCTURE, Severity.ERROR, where,
                    "root block " + bytenr + " of tree " + Long.toUnsignedString(tree) + " has level " + root.level()
                        + ", its root item says " + level));
                return false;
            }
            verifyTransid(root, generation, where + " root");
            if (from.equals(Key.MIN)) {
                TreeChecker.check(this::read, root);
            }
            collect(root, tree, -1, null, from, out);
            return true;
        } catch (BtrfsException e) {
            Kind kind = e.getMessage() != null && e.getMessage().contains("corrupt") ? Kind.TREE_STRUCTURE : Kind.UNREADABLE_BLOCK;
            problems.add(new Problem(kind, Severity.ERROR, where, "tree " + Long.toUnsignedString(tree) + ": "
                + e.getMessage().replaceFirst("^EUCLEAN: ", "")));
            return false;
        }
    }

    private ExtentBuffer read(long bytenr) {
        if (bytenr <= 0 || bytenr % SuperBlock.NODESIZE != 0 || bytenr > dev.size() - SuperBlock.NODESIZE) {
            throw new BtrfsException(org.jbtrfs.core.Errno.EUCLEAN, "bad tree block start " + bytenr);
        }
        byte[] b = new byte[SuperBlock.NODESIZE];
        dev.read(bytenr, b, 0, b.length);
        ExtentBuffer eb = new ExtentBuffer(b);
        eb.validate(crc, bytenr, fsid);
        return eb;
    }

    /**
     * Counts the blocks and keeps the items of a subtree whose keys end before {@code high} (null: no bound); skips the subtrees a drop that has got to {@code from} has freed.
     */
    private void collect(ExtentBuffer eb, long tree, long parent, Key high, Key from, TreeMap<Key, byte[]> out) {
        blockRefs.merge(eb.bytenr(), 1, Integer::sum);
        blockReferrers.computeIfAbsent(eb.bytenr(), b -> new ArrayList<>()).add("tree " + Long.toUnsignedString(tree)
            + (parent < 0 ? " root" : " node " + parent) + " level " + eb.level());
        // as mainline's tree-checker (btrfs_check_eb_owner; not in 5.11): without snapshots (not modelled) every block of
        // a tree is that tree's; another tree's block here is another life of the address written over this one (stop 44)
        if (eb.owner() != tree) {
            problems.add(new Problem(Kind.TREE_STRUCTURE, Severity.ERROR, "block " + eb.bytenr(), "tree block " + eb.bytenr()
                + " of tree " + Long.toUnsignedString(tree) + ": owner mismatch, have " + Long.toUnsignedString(eb.owner())
                + " expect " + Long.toUnsignedString(tree)));
        }
        if (eb.isLeaf()) {
            for (int slot = 0; slot < eb.nritems(); slot++) {
                out.put(eb.itemKey(slot), eb.itemData(slot));
            }
            return;
        }
        for (int slot = 0; slot < eb.nritems(); slot++) {
            Key childHigh = slot + 1 < eb.nritems() ? eb.nodeKey(slot + 1) : high;
            if (dropped(childHigh, from)) {
                continue; // not read: freed, its address may hold another block by now
            }
            ExtentBuffer child = read(eb.blockPtr(slot));
            verifyTransid(child, eb.ptrGeneration(slot), "tree " + Long.toUnsignedString(tree) + " node " + eb.bytenr());
            collect(child, tree, eb.bytenr(), childHigh, from, out);
        }
    }

    /**
     * Whether the subtree whose keys end before {@code high} was freed by a drop that has got to {@code from}.
     * btrfs_drop_snapshot's walk frees a block when it leaves it past its last slot and records the key of the slot
     * it stopped at (walk_down_tree / walk_up_tree), so every subtree wholly before that key is gone and every other
     * one — the nodes on the walk's path among them — is still there.
     */
    private static boolean dropped(Key high, Key from) {
        return !from.equals(Key.MIN) && high != null && high.compareTo(from) <= 0;
    }

    /** verify_parent_transid(): the block's header generation is the one its referrer recorded. */
    private void verifyTransid(ExtentBuffer eb, long wanted, String referrer) {
        if (eb.generation() != wanted) {
            problems.add(new Problem(Kind.PARENT_TRANSID, Severity.ERROR, "block " + eb.bytenr(), "parent transid verify failed on "
                + eb.bytenr() + " wanted " + wanted + " found " + eb.generation() + " (referrer: " + referrer + ")"));
        }
    }

    /** Every EXTENT_DATA item of every tree (subvolumes, and the root tree's free-space-cache inodes) references its data extent. */
    private void collectFileExtents() {
        for (Map.Entry<Long, TreeMap<Key, byte[]>> t : trees.entrySet()) {
            for (Map.Entry<Key, byte[]> e : t.getValue().entrySet()) {
                if (e.getKey().type() == ItemType.EXTENT_DATA && e.getValue().length == FileExtentItem.SIZE) {
                    FileExtentItem fe = FileExtentItem.decode(e.getValue());
                    if (fe.diskBytenr() == 0) {
                        continue; // a hole
                    }
                    long[] ref = dataRefs.computeIfAbsent(fe.diskBytenr(), b -> new long[] {0, fe.diskNumBytes()});
                    dataReferrers.computeIfAbsent(fe.diskBytenr(), b -> new ArrayList<>()).add("tree "
                        + Long.toUnsignedString(t.getKey()) + " inode " + e.getKey().objectid() + " offset " + e.getKey().offset());
                    ref[0]++;
                    dataBackrefs.computeIfAbsent(fe.diskBytenr(), b -> new java.util.HashSet<>())
                        .add(List.of(t.getKey(), e.getKey().objectid(), e.getKey().offset() - fe.offset()));
                }
            }
        }
    }

    // ---- [2/7] checking extents ---------------------------------------------------------------------

    /** Extent items against references, and block group usage. Returns {data extents, bytes used}. */
    private long[] checkExtentTree() {
        TreeMap<Key, byte[]> extent = items(ItemType.EXTENT_TREE_OBJECTID);
        Map<Long, Integer> blocks = new HashMap<>(blockRefs);
        Map<Long, long[]> data = new HashMap<>(dataRefs);
        TreeMap<Long, long[]> groups = new TreeMap<>(); // start → {length, item used, counted}
        long dataExtents = 0;
        long bytesUsed = 0;
        for (Map.Entry<Key, byte[]> e : extent.entrySet()) {
            Key k = e.getKey();
            if (k.type() == ItemType.BLOCK_GROUP_ITEM && e.getValue().length == BlockGroupItem.SIZE) {
                groups.put(k.objectid(), new long[] {k.offset(), BlockGroupItem.decode(e.getValue()).used(), 0});
            }
        }
        for (Map.Entry<Key, byte[]> e : extent.entrySet()) {
            Key k = e.getKey();
            if ((k.type() != ItemType.METADATA_ITEM && k.type() != ItemType.EXTENT_ITEM) || e.getValue().length != ExtentItem.SIZE) {
                continue;
            }
            ExtentItem ei = ExtentItem.decode(e.getValue());
            long bytenr = k.objectid();
            long len = k.type() == ItemType.METADATA_ITEM ? SuperBlock.NODESIZE : k.offset();
            bytesUsed += len;
            Map.Entry<Long, long[]> g = groups.floorEntry(bytenr);
            if (g != null && bytenr < g.getKey() + g.getValue()[0]) {
                g.getValue()[2] += len;
            }
            String where = "extent " + bytenr;
            if (k.type() == ItemType.METADATA_ITEM || ei.isTreeBlock()) {
                Integer refs = blocks.remove(bytenr);
                if (refs == null) {
                    problems.add(new Problem(Kind.UNREFERENCED_EXTENT_ITEM, Severity.ERROR, where,
                        "extent item for tree block " + bytenr + " (owner " + Long.toUnsignedString(ei.ownerRoot())
                            + ") but no tree references it"));
                } else if (refs != ei.refs()) {
                    problems.add(new Problem(Kind.EXTENT_REFS, Severity.ERROR, where, "tree block " + bytenr + " has "
                        + refs + " references, its extent item says " + ei.refs() + " (referenced by "
                        + blockReferrers.getOrDefault(bytenr, List.of()) + ", extent item owner " + Long.toUnsignedString(ei.ownerRoot()) + ")"));
                }
            } else {
                dataExtents++;
                long[] ref = data.remove(bytenr);
                if (ref == null) {
                    problems.add(new Problem(Kind.UNREFERENCED_EXTENT_ITEM, Severity.ERROR, where,
                        "data extent " + bytenr + " len " + len + " (owner " + Long.toUnsignedString(ei.ownerRoot())
                            + ") but no file extent references it"));
                } else if (ref[0] != ei.refs() || ref[1] != len) {
                    problems.add(new Problem(Kind.EXTENT_REFS, Severity.ERROR, where, "data extent " + bytenr + " has "
                        + ref[0] + " file extents of len " + ref[1] + ", its extent item says refs " + ei.refs() + " len " + len
                        + " (" + dataReferrers.getOrDefault(bytenr, List.of()) + ")"));
                } else if (!dataBackrefs.getOrDefault(bytenr, java.util.Set.of())
                    .contains(List.of(ei.ownerRoot(), ei.dataObjectid(), ei.dataOffset()))) {
                    problems.add(new Problem(Kind.DATA_BACKREF, Severity.ERROR, where, "data backref " + bytenr + " root "
                        + Long.toUnsignedString(ei.ownerRoot()) + " owner " + ei.dataObjectid() + " offset " + ei.dataOffset()
                        + " not found in extent items (" + dataReferrers.getOrDefault(bytenr, List.of()) + ")"));
                }
            }
        }
        for (long bytenr : new TreeMap<>(blocks).keySet()) {
            problems.add(new Problem(Kind.MISSING_EXTENT_ITEM, Severity.ERROR, "block " + bytenr,
                "tree block " + bytenr + " is referenced but has no extent item (referenced by "
                    + blockReferrers.getOrDefault(bytenr, List.of()) + ")"));
        }
        for (Map.Entry<Long, long[]> d : new TreeMap<>(data).entrySet()) {
            problems.add(new Problem(Kind.MISSING_EXTENT_ITEM, Severity.ERROR, "extent " + d.getKey(),
                "data extent " + d.getKey() + " len " + d.getValue()[1] + " is referenced by " + d.getValue()[0]
                    + " file extents but has no extent item (" + dataReferrers.getOrDefault(d.getKey(), List.of()) + ")"));
        }
        for (Map.Entry<Long, long[]> g : groups.entrySet()) {
            long[] v = g.getValue();
            if (v[1] != v[2]) {
                problems.add(new Problem(Kind.BLOCK_GROUP_USED, Severity.ERROR, "block group " + g.getKey(),
                    String.format(Locale.ROOT, "block group %d len %d: used %d in its item, %d in extent items",
                        g.getKey(), v[0], v[1], v[2])));
            }
        }
        return new long[] {dataExtents, bytesUsed};
    }

    // ---- [4/7] checking fs roots ----------------------------------------------------------------------

    private void checkFsRoots() {
        TreeMap<Key, byte[]> rootTree = items(ItemType.ROOT_TREE_OBJECTID);
        for (Map.Entry<Long, TreeMap<Key, byte[]>> t : trees.entrySet()) {
            long id = t.getKey();
            if (id != ItemType.FS_TREE_OBJECTID && Long.compareUnsigned(id, ItemType.FIRST_FREE_OBJECTID) < 0) {
                continue;
            }
            byte[] rootItem = rootTree.get(new Key(id, ItemType.ROOT_ITEM, 0));
            if (rootItem != null && RootItem.decode(rootItem).refs() == 0) {
                continue; // a deleted subvolume: its entries are being dropped
            }
            TreeMap<Key, byte[]> tree = t.getValue();
            for (Map.Entry<Key, byte[]> e : tree.entrySet()) {
                Key k = e.getKey();
                if ((k.type() == ItemType.DIR_ITEM || k.type() == ItemType.DIR_INDEX) && e.getValue().length >= 20) {
                    DirItem d = DirItem.decode(e.getValue());
                    Key loc = d.location();
                    boolean found = loc.type() == ItemType.ROOT_ITEM
                        ? rootTree.containsKey(new Key(loc.objectid(), ItemType.ROOT_ITEM, 0))
                        : tree.containsKey(new Key(loc.objectid(), ItemType.INODE_ITEM, 0));
                    if (!found) {
                        problems.add(new Problem(Kind.DANGLING_DIR_ITEM, Severity.ERROR, "tree " + id + " key " + k,
                            "root " + id + " dir item '" + d.name() + "' points at missing " + loc));
                    }
                } else if (k.type() == ItemType.INODE_ITEM && e.getValue().length >= InodeItem.SIZE) {
                    checkInode(id, tree, k.objectid(), InodeItem.decode(e.getValue()));
                } else if (k.type() == ItemType.ORPHAN_ITEM && k.objectid() == ItemType.ORPHAN_OBJECTID) {
                    byte[] inode = tree.get(new Key(k.offset(), ItemType.INODE_ITEM, 0));
                    if (inode == null || InodeItem.decode(inode).nlink() > 0) {
                        problems.add(new Problem(Kind.STALE_INODE_ORPHAN, Severity.WARNING, "tree " + id + " key " + k,
                            "root " + id + " orphan item for inode " + k.offset() + (inode == null ? " which does not exist"
                                : " which is still linked") + " (orphan cleanup removes it)"));
                    }
                }
            }
        }
    }

    /**
     * A directory's i_size against its entries (btrfs check: I_ERR_DIR_ISIZE_WRONG), and a linked inode's
     * INODE_REF against its parent's DIR_INDEX (the subvolume's top directory refers to itself as "..").
     */
    private void checkInode(long id, TreeMap<Key, byte[]> tree, long ino, InodeItem inode) {
        checkFileExtents(id, tree, ino, inode);
        if (inode.isDir()) {
            long names = 0;
            for (int type : new int[] {ItemType.DIR_ITEM, ItemType.DIR_INDEX}) {
                for (byte[] d : tree.subMap(new Key(ino, type, 0), true, new Key(ino, type, -1L), true).values()) {
                    if (d.length >= 20) {
                        names += Le.u16(d, 18);
                    }
                }
            }
            if (names != inode.size()) {
                problems.add(new Problem(Kind.DIR_ISIZE_WRONG, Severity.ERROR, "tree " + id + " inode " + ino,
                    String.format(Locale.ROOT, "root %d inode %d errors 200, dir isize wrong (isize %d, names %d)",
                        id, ino, inode.size(), names)));
            }
        }
        if (inode.nlink() == 0 || ino == ItemType.FIRST_FREE_OBJECTID) {
            return;
        }
        var refs = tree.subMap(new Key(ino, ItemType.INODE_REF, 0), true, new Key(ino, ItemType.INODE_REF, -1L), true);
        if (refs.isEmpty()) {
            problems.add(new Problem(Kind.INODE_REF_WRONG, Severity.ERROR, "tree " + id + " inode " + ino,
                "root " + id + " inode " + ino + " is linked (nlink " + inode.nlink() + ") but has no INODE_REF"));
            return;
        }
        for (Map.Entry<Key, byte[]> r : refs.entrySet()) {
            if (!InodeRef.wellFormed(r.getValue())) {
                continue;
            }
            InodeRef ref = InodeRef.decode(r.getValue());
            byte[] idx = tree.get(new Key(r.getKey().offset(), ItemType.DIR_INDEX, ref.index()));
            if (idx == null || idx.length < 20 || DirItem.decode(idx).location().objectid() != ino) {
                problems.add(new Problem(Kind.INODE_REF_WRONG, Severity.ERROR, "tree " + id + " key " + r.getKey(),
                    "root " + id + " inode " + ino + " INODE_REF '" + ref.name() + "' index " + ref.index()
                        + ": no matching DIR_INDEX in directory " + r.getKey().offset()));
            }
        }
    }

    /**
     * A file's extent items, in key order, against each other (btrfs check's process_file_extent: an item that starts
     * before the end of the previous one is I_ERR_FILE_EXTENT_OVERLAP) and against its i_size: without NO_HOLES every
     * byte below i_size of a regular file is covered by an item, a hole item if nothing else — a gap below it is
     * I_ERR_FILE_EXTENT_DISCOUNT (maybe_free_inode_rec's first_extent_gap; gaps beyond i_size are not counted, as after a
     * power cut left an item there). The port's items are byte-granular: i_size is compared as it is.
     */
    private void checkFileExtents(long id, TreeMap<Key, byte[]> tree, long ino, InodeItem inode) {
        long firstGap = -1;
        long end = 0;
        for (Map.Entry<Key, byte[]> e : tree.subMap(new Key(ino, ItemType.EXTENT_DATA, 0), true,
            new Key(ino, ItemType.EXTENT_DATA, -1L), true).entrySet()) {
            if (e.getValue().length != FileExtentItem.SIZE) {
                continue;
            }
            long start = e.getKey().offset();
            if (start < end) {
                problems.add(new Problem(Kind.FILE_EXTENT_OVERLAP, Severity.ERROR, "tree " + id + " key " + e.getKey(),
                    String.format(Locale.ROOT, "root %d inode %d errors 80, file extent overlap (extent at %d starts before %d)",
                        id, ino, start, end)));
            }
            if (start > end && firstGap < 0) {
                firstGap = end;
            }
            end = Math.max(end, start + FileExtentItem.decode(e.getValue()).numBytes());
        }
        if (firstGap < 0) {
            firstGap = end;
        }
        if (inode.isRegular() && inode.size() > 0 && firstGap < inode.size()) {
            problems.add(new Problem(Kind.FILE_EXTENT_DISCOUNT, Severity.ERROR, "tree " + id + " key " + new Key(ino, ItemType.INODE_ITEM, 0),
                String.format(Locale.ROOT, "root %d inode %d errors 100, file extent discount (no item covers %d, i_size %d)",
                    id, ino, firstGap, inode.size())));
        }
    }

    // ---- [5/7] checking csums ------------------------------------------------------------------------

    private static final int SECTOR = org.jbtrfs.transaction.Csums.SECTOR;

    /**
     * btrfs check's check_csums (every run of sums against the extent items: check_extent_exists) and
     * process_file_extent's count_csum_range for a subvolume's regular extents (some_csum_missing; the free-space-cache
     * inodes of the root tree are NODATASUM); with {@code checkDataCsum}, each summed sector read and compared.
     */
    private void checkCsums() {
        TreeMap<Long, Long> extents = new TreeMap<>(); // data extent start → end
        Map<Long, Long> extentGenerations = new HashMap<>();
        for (Map.Entry<Key, byte[]> e : items(ItemType.EXTENT_TREE_OBJECTID).entrySet()) {
            Key k = e.getKey();
            if (k.type() == ItemType.EXTENT_ITEM && e.getValue().length == ExtentItem.SIZE && !ExtentItem.decode(e.getValue()).isTreeBlock()) {
                extents.put(k.objectid(), k.objectid() + k.offset());
                extentGenerations.put(k.objectid(), ExtentItem.decode(e.getValue()).generation());
            }
        }
        TreeMap<Long, Integer> sums = new TreeMap<>(); // sector → its sum
        for (Map.Entry<Key, byte[]> e : items(ItemType.CSUM_TREE_OBJECTID).entrySet()) {
            Key k = e.getKey();
            if (k.objectid() != ItemType.EXTENT_CSUM_OBJECTID || k.type() != ItemType.EXTENT_CSUM) {
                continue;
            }
            for (int i = 0; i + 4 <= e.getValue().length; i += 4) {
                sums.put(k.offset() + (long) i / 4 * SECTOR, Le.u32(e.getValue(), i));
            }
        }
        long runStart = -1;
        long runEnd = -1;
        for (long sector : sums.keySet()) {
            Map.Entry<Long, Long> x = extents.floorEntry(sector);
            boolean covered = x != null && sector < x.getValue();
            if (!covered && runEnd == sector) {
                runEnd += SECTOR;
            } else if (!covered) {
                csumWithoutExtent(runStart, runEnd);
                runStart = sector;
                runEnd = sector + SECTOR;
            }
        }
        csumWithoutExtent(runStart, runEnd);
        for (Map.Entry<Long, TreeMap<Key, byte[]>> t : trees.entrySet()) {
            long id = t.getKey();
            if (id != ItemType.FS_TREE_OBJECTID && Long.compareUnsigned(id, ItemType.FIRST_FREE_OBJECTID) < 0) {
                continue;
            }
            long reported = -1;
            for (Map.Entry<Key, byte[]> e : t.getValue().entrySet()) {
                Key k = e.getKey();
                if (k.type() != ItemType.EXTENT_DATA || e.getValue().length != FileExtentItem.SIZE || k.objectid() == reported) {
                    continue;
                }
                FileExtentItem fe = FileExtentItem.decode(e.getValue());
                if (fe.isHole() || fe.numBytes() == 0) {
                    continue;
                }
                for (long s = fe.blockStart() & -SECTOR; s < fe.blockStart() + fe.numBytes(); s += SECTOR) {
                    if (!sums.containsKey(s)) {
                        reported = k.objectid();
                        problems.add(new Problem(Kind.CSUM_MISSING, Severity.ERROR, "tree " + Long.toUnsignedString(id) + " key " + k,
                            String.format(Locale.ROOT, "root %s inode %d errors 1000, some csum missing (no sum for bytenr %d)",
                                Long.toUnsignedString(id), k.objectid(), s)));
                        break;
                    }
                }
            }
        }
        if (checkDataCsum) {
            verifyData(sums, extents, extentGenerations);
        }
    }

    /** The most a data read of the check covers: contiguous summed sectors are read in runs of up to this many bytes. */
    private static final int DATA_RUN = 1 << 20;

    /** --check-data-csum: each summed sector read (contiguous ones in one read) and its crc32c compared with its sum. */
    private void verifyData(TreeMap<Long, Integer> sums, TreeMap<Long, Long> extents, Map<Long, Long> extentGenerations) {
        List<Long> run = new ArrayList<>();
        for (long sector : sums.keySet()) {
            if (sector < 0 || sector > dev.size() - SECTOR) {
                continue; // reported as a csum without an extent, if no extent is there either
            }
            if (dataFromGeneration > 0) {
                Map.Entry<Long, Long> x = extents.floorEntry(sector);
                if (x != null && sector < x.getValue() && extentGenerations.get(x.getKey()) < dataFromGeneration) {
                    continue; // verified before
                }
            }
            if (!run.isEmpty() && (sector != run.get(run.size() - 1) + SECTOR || run.size() * SECTOR >= DATA_RUN)) {
                verifyRun(run, sums, extents, extentGenerations);
                run.clear();
            }
            run.add(sector);
        }
        verifyRun(run, sums, extents, extentGenerations);
    }

    private void verifyRun(List<Long> run, TreeMap<Long, Integer> sums, TreeMap<Long, Long> extents,
                           Map<Long, Long> extentGenerations) {
        if (run.isEmpty()) {
            return;
        }
        byte[] b = new byte[run.size() * SECTOR];
        try {
            dev.read(run.get(0), b, 0, b.length);
        } catch (BtrfsException ex) {
            return; // an unreadable range is the disk's error, not a mismatch
        }
        for (int i = 0; i < run.size(); i++) {
            long sector = run.get(i);
            int got = crc.compute(b, i * SECTOR, SECTOR);
            int want = sums.get(sector);
            if (got != want) {
                Map.Entry<Long, Long> x = extents.floorEntry(sector);
                String owner = x == null || sector >= x.getValue() ? "no extent"
                    : "extent " + x.getKey() + " gen " + extentGenerations.get(x.getKey()) + " of "
                        + dataReferrers.getOrDefault(x.getKey(), List.of());
                problems.add(new Problem(Kind.DATA_CSUM_MISMATCH, Severity.ERROR, "bytenr " + sector, String.format(Locale.ROOT,
                    "mirror 1 bytenr %d csum %d expected csum %d (%s)", sector, got & 0xffffffffL, want & 0xffffffffL, owner)));
            }
        }
    }

    private void csumWithoutExtent(long start, long end) {
        if (start >= 0) {
            problems.add(new Problem(Kind.CSUM_WITHOUT_EXTENT, Severity.ERROR, "csum " + start,
                "csum exists for " + start + "-" + end + " but there is no extent record"));
        }
    }

    // ---- [6/7] checking root refs ---------------------------------------------------------------------

    private void checkRootRefs() {
        TreeMap<Key, byte[]> rootTree = items(ItemType.ROOT_TREE_OBJECTID);
        for (Map.Entry<Key, byte[]> e : rootTree.entrySet()) {
            Key k = e.getKey();
            if (k.type() == ItemType.ROOT_ITEM && k.offset() == 0 && Long.compareUnsigned(k.objectid(), ItemType.FIRST_FREE_OBJECTID) >= 0
                && e.getValue().length >= RootItem.LEGACY_SIZE && RootItem.decode(e.getValue()).refs() == 0
                && !rootTree.containsKey(new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, k.objectid()))) {
                problems.add(new Problem(Kind.DELETED_ROOT_WITHOUT_ORPHAN, Severity.ERROR, "tree " + Long.toUnsignedString(k.objectid()),
                    "root " + Long.toUnsignedString(k.objectid()) + " has refs 0 but no orphan item: its deletion will never be resumed"));
            }
            if (k.type() == ItemType.ORPHAN_ITEM && k.objectid() == ItemType.ORPHAN_OBJECTID) {
                long id = k.offset();
                boolean inode = rootTree.containsKey(new Key(id, ItemType.INODE_ITEM, 0)); // a free-space-cache inode
                boolean root = rootTree.containsKey(new Key(id, ItemType.ROOT_ITEM, 0));
                if (!inode && !root) {
                    problems.add(new Problem(Kind.STRAY_ROOT_ORPHAN, Severity.WARNING, "key " + k,
                        "orphan item for root " + Long.toUnsignedString(id) + " whose root item is gone (btrfs_find_orphan_roots deletes it)"));
                }
            }
        }
    }
}
