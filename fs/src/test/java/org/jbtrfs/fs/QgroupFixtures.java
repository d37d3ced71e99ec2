package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.qgroup.Qgroup;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.ctree.ExtentBuffer;
import org.jbtrfs.transaction.ctree.Leaf;
import org.jbtrfs.testsupport.Waits;

/** Shared pieces of the qgroup tests: a prepared image, the independent usage walk, hook helpers. */
final class QgroupFixtures {
    private QgroupFixtures() { }

    static final long DEVICE_SIZE = 256L << 20;
    static final long NODESIZE = ExtentBuffer.NODESIZE;
    /** Files in the default subvolume of the prepared image: enough data extents for six extent-tree leaves. */
    static final int IMAGE_FILES = 1500;
    /** Files in the image's subvolume "sv". */
    static final int IMAGE_SV_FILES = 40;
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private static final int CHUNK = 64 * 1024;
    private static Map<Long, byte[]> image;

    /**
     * A filesystem with {@value #IMAGE_FILES} small files (one 100-byte data extent each) in the
     * default subvolume and a subvolume "sv" with {@value #IMAGE_SV_FILES} files of 5000 bytes, all
     * committed, quotas off: built once through the file API, then copied onto each test's device
     * (writing 1500 files takes ~100 ms; copying the image ~1 ms).
     */
    static synchronized Map<Long, byte[]> image() {
        if (image == null) {
            try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults())) {
                BlockDevice dev = mod.createDevice("tmpl", DEVICE_SIZE);
                mod.mkfs(dev);
                Btrfs fs = mod.mount(dev, "");
                for (int i = 0; i < IMAGE_FILES; i++) {
                    fs.createFile("f" + i);
                    fs.writeFile("f" + i, new byte[100]);
                }
                fs.createSubvolume("sv");
                for (int i = 0; i < IMAGE_SV_FILES; i++) {
                    fs.createFile("sv/g" + i);
                    fs.writeFile("sv/g" + i, new byte[5000]);
                }
                fs.umount();
                Map<Long, byte[]> m = new LinkedHashMap<>();
                byte[] buf = new byte[CHUNK];
                for (long off = 0; off < DEVICE_SIZE; off += CHUNK) {
                    dev.read(off, buf, 0, CHUNK);
                    if (!allZero(buf)) {
                        m.put(off, buf.clone());
                    }
                }
                if (!mod.unload().clean()) {
                    throw new IllegalStateException("template module leaked:\n" + mod.log().dmesg());
                }
                image = m;
            }
        }
        return image;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** A new device named "sdc" in {@code mod} holding the prepared image. */
    static BlockDevice imageDevice(BtrfsModule mod) {
        BlockDevice dev = mod.createDevice("sdc", DEVICE_SIZE);
        for (Map.Entry<Long, byte[]> e : image().entrySet()) {
            dev.write(e.getKey(), e.getValue(), 0, CHUNK);
        }
        return dev;
    }

    // ---- the independent computation ------------------------------------------------------------

    /**
     * What a level-0 qgroup must hold, computed without the extent tree: walk the subvolume's own tree
     * from its root node, counting every tree block (nodesize each) and, for every file extent item,
     * its data extent's on-disk size (once per distinct extent). Call with nothing running, after a
     * commit, so the live tree is the committed one.
     */
    static long expectedUsage(Btrfs fs, long subvolId) {
        FsInfo fi = fs.fsInfo();
        Root root = subvolId == ItemType.FS_TREE_OBJECTID ? fi.fsRoot() : FsRoots.getFsRoot(fi, subvolId, false);
        Map<Long, Long> dataExtents = new HashMap<>();
        long[] blocks = new long[1];
        root.treeLock.lock();
        try {
            walk(fi, root.node(), blocks, dataExtents);
        } finally {
            root.treeLock.unlock();
        }
        return blocks[0] * NODESIZE + dataExtents.values().stream().mapToLong(Long::longValue).sum();
    }

    private static void walk(FsInfo fi, ExtentBuffer eb, long[] blocks, Map<Long, Long> data) {
        blocks[0]++;
        if (eb.isLeaf()) {
            for (int slot = 0; slot < eb.nritems(); slot++) {
                if (eb.itemKey(slot).type() == ItemType.EXTENT_DATA) {
                    FileExtentItem fe = FileExtentItem.decode(eb.itemData(slot));
                    data.put(fe.diskBytenr(), fe.diskNumBytes());
                }
            }
            return;
        }
        for (int slot = 0; slot < eb.nritems(); slot++) {
            walk(fi, Extents.readTreeBlock(fi, eb.blockPtr(slot)), blocks, data);
        }
    }

    /**
     * The subvolume ids that have a root item with refs &gt; 0 (default subvolume included), read from
     * the tree root. (Not from {@link Btrfs#inspect()}: its rootItems compares objectids signed against
     * LAST_FREE_OBJECTID = -256 and so never lists a subvolume of id 256 or more.)
     */
    static List<Long> liveSubvolumes(Btrfs fs) {
        FsInfo fi = fs.fsInfo();
        List<Long> ids = new java.util.ArrayList<>();
        for (TreeItem it : Trees.range(fi, fi.treeRoot(), Key.MIN, Key.MAX)) {
            long id = it.key().objectid();
            if (it.key().type() == ItemType.ROOT_ITEM && (id == ItemType.FS_TREE_OBJECTID
                || id >= ItemType.FIRST_FREE_OBJECTID && Long.compareUnsigned(id, ItemType.LAST_FREE_OBJECTID) < 0)
                && RootItem.decode(it.data()).refs() > 0) {
                ids.add(id);
            }
        }
        return ids;
    }

    /** A new file {@code path} of {@code bytes} zero bytes. */
    static void write(Btrfs fs, String path, int bytes) {
        fs.createFile(path);
        fs.writeFile(path, new byte[bytes]);
    }

    /** The info item of {@code qgroupid} in the live quota tree, or null. */
    static byte[] info(Btrfs fs, long qgroupid) {
        FsInfo fi = fs.fsInfo();
        return Trees.lookup(fi, fi.quotaRoot(), new Key(0, ItemType.QGROUP_INFO, qgroupid));
    }

    /** qgroup id → referenced bytes, as the filesystem reports them. */
    static Map<Long, Long> referenced(Btrfs fs) {
        Map<Long, Long> m = new TreeMap<>();
        for (QgroupUsage u : fs.qgroupUsage()) {
            m.put(u.qgroupid(), u.referenced());
        }
        return m;
    }

    /**
     * Asserts that every live subvolume has a qgroup whose referenced and exclusive bytes equal the
     * independent walk (level 0 without snapshots: exclusive == referenced).
     */
    static void assertUsageMatchesWalk(Btrfs fs) {
        Map<Long, Long> expected = new TreeMap<>();
        for (long id : liveSubvolumes(fs)) {
            expected.put(id, expectedUsage(fs, id));
        }
        Map<Long, Long> excl = new TreeMap<>();
        for (QgroupUsage u : fs.qgroupUsage()) {
            excl.put(u.qgroupid(), u.exclusive());
        }
        assertEquals(expected, referenced(fs), "referenced bytes per qgroup");
        assertEquals(expected, excl, "exclusive bytes per qgroup");
    }

    /**
     * Runs cleaner passes until every unlinked file is destroyed ({@link Btrfs#unlinkedInodesInUse()} 0): a file
     * unlinked while a delayed iput still holds it (its ordered extent's, btrfs_put_ordered_extent) is evicted by
     * the cleaner's btrfs_run_delayed_iputs, and neither btrfs_sync_fs nor btrfs_commit_transaction runs or waits
     * for delayed iputs (v5.11), so a walk after a sync may see an eviction the sync's commit did not account.
     * Call after unlinks and before the sync whose result a walk compares with the qgroup numbers.
     */
    static void evictUnlinkedFiles(Btrfs fs) {
        Waits.within(TIMEOUT).until(() -> {
            fs.runCleanerPass(TIMEOUT);
            return fs.unlinkedInodesInUse() == 0;
        });
    }

    /** The qgroup status item in the live quota tree (after a commit: what is on disk). */
    static QgroupStatusItem statusItem(Btrfs fs) {
        FsInfo fi = fs.fsInfo();
        return QgroupStatusItem.decode(Trees.lookup(fi, fi.quotaRoot(), new Key(0, ItemType.QGROUP_STATUS, 0)));
    }

    /** Leaves of the extent tree's commit root (what one full rescan walks). */
    static int extentTreeLeaves(Btrfs fs) {
        FsInfo fi = fs.fsInfo();
        int n = 0;
        Key k = Key.MIN;
        while (true) {
            Leaf l = Trees.commitRootLeaf(fi, fi.extentRoot(), k);
            n++;
            if (l.isLast()) {
                return n;
            }
            k = l.nextKey();
        }
    }

    // ---- hooks and threads ----------------------------------------------------------------------

    /**
     * Parks the {@code n}-th thread arriving at {@code hook} (n &gt;= 1): the first n-1 arrivals re-arm,
     * the n-th finds a PARK arm. Wait with {@code hooks.isParked(hook)}; release with {@code disarm}.
     */
    static void parkAtArrival(Hooks hooks, Hook hook, int n) {
        if (n == 1) {
            hooks.arm(hook, HookAction.park());
            return;
        }
        hooks.arm(hook, HookAction.run(() -> parkAtArrival(hooks, hook, n - 1)));
    }

    static void awaitParked(Hooks hooks, Hook hook) {
        Waits.within().until(() -> hooks.isParked(hook));
    }

    /** Quota enable with its rescan worker parked between its first and second leaf (no handle held). */
    static void enableWithTheWorkerBetweenLeaves(BtrfsModule mod, Btrfs fs) {
        parkAtArrival(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF, 2);
        fs.quotaEnable();
        awaitParked(mod.hooks(), Hook.QGROUP_RESCAN_BEFORE_LEAF);
    }

    static final long ON = QgroupStatusItem.FLAG_ON;
    static final long RESCAN = QgroupStatusItem.FLAG_RESCAN;
    static final long INCONSISTENT = QgroupStatusItem.FLAG_INCONSISTENT;
}
