package org.jbtrfs.fs.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.FileHandle;
import org.junit.jupiter.api.Test;

class DumpTreeTest {
    private static final long ROOT = ItemType.ROOT_TREE_OBJECTID;

    private static BtrfsModule load() { return BtrfsModule.load(KernelConfig.defaults().clock(new ManualClock())); }

    private static List<DumpTree.Item> ofType(DumpTree d, long tree, int type) {
        return d.items(tree).stream().filter(i -> i.key().type() == type).toList();
    }

    @Test
    void freshFilesystemHasTheTreesMkfsMakes() {
        try (BtrfsModule mod = load()) {
            BlockDevice dev = mod.createDevice("sdc", 64L << 20);
            mod.mkfs(dev);
            DumpTree d = DumpTree.read(dev);
            List<Long> ids = d.trees().stream().map(DumpTree.TreeInfo::id).toList();
            assertEquals(ROOT, ids.get(0));
            assertTrue(ids.contains(ItemType.EXTENT_TREE_OBJECTID) && ids.contains(ItemType.FS_TREE_OBJECTID), ids.toString());
            d.trees().forEach(t -> assertNull(t.error(), t.toString()));
            RootItem fsRoot = d.items(ROOT).stream().filter(i -> i.key().equals(new Key(5, ItemType.ROOT_ITEM, 0)))
                .findFirst().orElseThrow().as(RootItem.class);
            assertEquals(1, fsRoot.refs());
            assertFalse(ofType(d, ItemType.EXTENT_TREE_OBJECTID, ItemType.BLOCK_GROUP_ITEM).isEmpty());
            assertNotNull(ofType(d, ItemType.EXTENT_TREE_OBJECTID, ItemType.BLOCK_GROUP_ITEM).get(0).as(BlockGroupItem.class));
            String text = d.text(ROOT);
            assertTrue(text.startsWith("root tree\nleaf "), text);
            assertTrue(text.contains("\titem 0 key (EXTENT_TREE ROOT_ITEM 0) itemoff 16180 itemsize 103\n"), text);
            assertTrue(text.contains("key (FS_TREE ROOT_ITEM 0)"), text);
            assertTrue(text.contains("\t\tlast_snapshot 0 flags 0x0(none) refs 1\n"), text);
            assertTrue(text.contains("\t\tdrop_progress key (0 UNKNOWN.0 0) drop_level 0\n"), text);
            assertTrue(d.text().endsWith("uuid " + DumpTreeNames.uuid(d.superBlock().fsid) + "\n"));
        }
    }

    /**
     * btrfs/233's state on disk: a deleted subvolume whose file was still open at the last commit keeps its
     * orphan item and its root item with refs 0 in the root tree; files, extents and qgroups decode.
     */
    @Test
    void deletedSubvolumeLeavesOrphanAndRootItemWithRefsZero() {
        try (BtrfsModule mod = load()) {
            BlockDevice disk = mod.createDevice("sdc", 64L << 20);
            FlakeyBlockDevice dev = mod.createFlakeyDevice("flakey-sdc", disk);
            mod.mkfs(dev);
            Btrfs fs = mod.mount(dev, "");
            fs.quotaEnable();
            fs.quotaRescanWait();
            long id = fs.createSubvolume("sv");
            fs.createFile("sv/foobar");
            fs.writeFile("sv/foobar", new byte[5000]);
            fs.sync();
            FileHandle fh = fs.open("sv/foobar");
            fs.deleteSubvolume("sv");
            fs.sync();
            dev.dropWrites(); // the power cut: the close and the umount's commit never reach sdc
            fh.close();
            fs.umount();
            dev.allowWrites();

            DumpTree d = DumpTree.read(disk);
            // the root-tree-only read (Btrfs.inspect's after umount) sees the same items as the whole dump
            assertEquals(d.items(ROOT), DumpTree.rootTreeItems(disk, org.jbtrfs.core.Crc32cImpl.GENERIC));
            assertEquals(List.of(new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, id)),
                ofType(d, ROOT, ItemType.ORPHAN_ITEM).stream().map(DumpTree.Item::key).toList());
            assertEquals(new DumpTree.Orphan(), ofType(d, ROOT, ItemType.ORPHAN_ITEM).get(0).value());
            RootItem sv = d.items(ROOT).stream().filter(i -> i.key().equals(new Key(id, ItemType.ROOT_ITEM, 0)))
                .findFirst().orElseThrow().as(RootItem.class);
            assertEquals(0, sv.refs());
            assertEquals(Key.MIN, sv.dropProgress());
            String text = d.text(ROOT);
            assertTrue(text.contains("key (ORPHAN ORPHAN_ITEM " + id + ") itemoff "), text);
            assertTrue(text.contains(" itemsize 0\n\t\torphan item\n"), text);
            assertTrue(text.contains("key (" + id + " ROOT_ITEM 0)"), text);

            // the subvolume's own tree is still there: its file's inode, dir item and extent decode
            List<DumpTree.Item> sub = d.items(id);
            assertEquals(5000, sub.stream().map(i -> i.as(InodeItem.class)).filter(i -> i != null && !i.isDir())
                .findFirst().orElseThrow().size());
            assertTrue(sub.stream().map(i -> i.as(DirItem.class)).anyMatch(di -> di != null && di.name().equals("foobar")));
            assertEquals(5000, sub.stream().map(i -> i.as(FileExtentItem.class)).filter(f -> f != null)
                .findFirst().orElseThrow().numBytes());
            assertTrue(d.items(ItemType.EXTENT_TREE_OBJECTID).stream().map(i -> i.as(ExtentItem.class))
                .anyMatch(e -> e != null && !e.isTreeBlock() && e.ownerRoot() == id));
            QgroupStatusItem st = ofType(d, ItemType.QUOTA_TREE_OBJECTID, ItemType.QGROUP_STATUS).get(0).as(QgroupStatusItem.class);
            assertEquals(QgroupStatusItem.FLAG_ON, st.flags() & QgroupStatusItem.FLAG_ON);
            assertTrue(ofType(d, ItemType.QUOTA_TREE_OBJECTID, ItemType.QGROUP_INFO).stream()
                .anyMatch(i -> i.key().offset() == id && i.as(QgroupInfoItem.class) != null));
            assertTrue(d.text(ItemType.QUOTA_TREE_OBJECTID).contains("key (0 QGROUP_INFO 0/" + id + ")"));
            assertTrue(d.text(ItemType.QUOTA_TREE_OBJECTID).contains("\t\tversion 1 generation "), d.text(ItemType.QUOTA_TREE_OBJECTID));
        }
    }

    @Test
    void unknownItemTypesAreKeptRawAndPrintedAsUnknown() {
        Object v = DumpTree.decode(new Key(300, 199, 0), new byte[] {1, 2, 3});
        assertEquals(new DumpTree.Raw(new byte[] {1, 2, 3}), v);
        // a known type with an unexpected size (another layout) stays raw too
        assertEquals(new DumpTree.Raw(new byte[7]), DumpTree.decode(new Key(1, ItemType.QGROUP_INFO, 5), new byte[7]));
        DumpTree.Item it = new DumpTree.Item(1, new Key(300, 199, 0), 0, 0, 0, 3, v);
        assertEquals("FREE_SPACE_EXTENT", it.typeName());
        assertEquals("UNKNOWN.99", new DumpTree.Item(1, new Key(1, 99, 0), 0, 0, 0, 0, v).typeName());
        StringBuilder sb = new StringBuilder();
        DumpTreeNames.body(it, sb);
        assertEquals("\t\tundecoded item, 3 bytes: 010203\n", sb.toString());
    }

    @Test
    void notABtrfsDeviceOrUnknownTreeIsAClearError() {
        try (BtrfsModule mod = load()) {
            BlockDevice dev = mod.createDevice("sdd", 32L << 20);
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> DumpTree.read(dev)).errno());
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class,
                () -> DumpTree.rootTreeItems(dev, org.jbtrfs.core.Crc32cImpl.GENERIC)).errno());
            assertThrows(IllegalArgumentException.class, () -> DumpTree.rootTreeItems(dev, null));
            mod.mkfs(dev);
            DumpTree d = DumpTree.read(dev);
            assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> d.items(4242)).errno());
            assertEquals(Errno.ENOENT, assertThrows(BtrfsException.class, () -> d.text(4242)).errno());
        }
    }
}
