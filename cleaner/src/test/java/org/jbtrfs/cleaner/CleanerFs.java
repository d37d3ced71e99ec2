package org.jbtrfs.cleaner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.transaction.Extents;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Mkfs;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.RootState;
import org.jbtrfs.transaction.TestFs;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.Trees;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroupType;

/**
 * The cleaner's world without the fs module: a formatted, opened fs_info ({@link TestFs}, on a manual
 * clock, no transaction kthread — so nothing but the test wakes the cleaner) with a {@link Cleaner} on
 * it, and the on-disk states the cleaner works on, made with the transaction layer directly: an
 * unlinked inode, a deleted subvolume of several leaves, an unused data block group.
 */
final class CleanerFs implements AutoCloseable {
    static final long WAIT = TimeUnit.SECONDS.toNanos(10);
    private static final long ROOT_DIR = ItemType.FIRST_FREE_OBJECTID;

    final TestFs t;
    final FsInfo fs;
    final Cleaner c;

    CleanerFs(FixSwitch... reverted) {
        t = new TestFs(Crc32cImpl.ACCELERATED, reverted);
        fs = t.open();
        c = new Cleaner(fs);
    }

    Hooks hooks() { return t.kernel.hooks(); }

    /** The end of open_ctree for a read-write mount: BTRFS_FS_OPEN (until then every pass does nothing). */
    CleanerFs open() {
        fs.flags.set(FsFlag.OPEN);
        return this;
    }

    /** kthread_run(cleaner_kthread): its first loop is a pass; returns once it sleeps after it. */
    Kthread startCleaner() {
        Kthread k = c.startKthread();
        assertTrue(c.awaitAsleep(WAIT), "the cleaner went to sleep after its first loop");
        return k;
    }

    /**
     * The cleaner's sleep count once it reached {@code atLeast}: "asleep" (TASK_INTERRUPTIBLE, what
     * {@link #runPass} waits for) is set before schedule() counts the sleep, so a count read right after a
     * pass may lag by the one sleep being entered. A count above {@code atLeast} is returned as it is.
     */
    static long sleepsOnce(Kthread k, long atLeast) {
        org.jbtrfs.testsupport.Waits.within().until(() -> k.sleeps() >= atLeast);
        return k.sleeps();
    }

    /**
     * wake_up_process(cleaner_kthread) and the pass it starts: an explicit wake of a sleeping cleaner (a
     * wake-up of a running one would be lost) and a wait for the passes it ran until it slept again (a pass
     * that dropped a dead root goes round again without sleeping).
     */
    void runPass() {
        assertTrue(c.awaitAsleep(WAIT));
        long before = c.passes();
        assertTrue(fs.cleanerKthread().wakeUpProcess(), "woke a sleeping cleaner");
        assertTrue(c.awaitPass(before, WAIT), "the pass ended and the cleaner sleeps again");
    }

    // ---- inodes -------------------------------------------------------------------------------------

    /**
     * An inode of the default subvolume with {@code nlink} links, committed, and one reference to it in
     * memory. With nlink 0 it also has its orphan item (unlinked while open, as btrfs_unlink leaves it).
     */
    Inode inode(long ino, int nlink) {
        inodeItems(ino, nlink);
        return c.inodes().iget(fs.fsRoot(), ino);
    }

    /** The on-disk part of {@link #inode} only: nothing of it in memory (as after a crash or an umount). */
    void inodeItems(long ino, int nlink) {
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 2, "test_create_inode");
        Trees.insert(h, fs.fsRoot(), inodeKey(ino), new InodeItem(h.transid(), h.transid(), 0, 0, nlink, InodeItem.S_IFREG | 0644).encode());
        if (nlink == 0) {
            c.inodes().orphanAdd(h, fs.fsRoot(), ino);
        }
        Transactions.commit(h);
    }

    /** Commits the running transaction (joined, as a sync would). */
    void commitRunning() {
        Transactions.commit(Transactions.join(fs, fs.treeRoot(), "test_commit"));
    }

    /** The functions that opened handles on the transactions still open (trans_list). */
    java.util.List<String> openTransactionFunctions() {
        return fs.transList().stream().flatMap(tr -> tr.handles().stream()).map(r -> r.function()).toList();
    }

    static Key inodeKey(long ino) { return new Key(ino, ItemType.INODE_ITEM, 0); }

    /** An orphan item of {@code root} for {@code ino}, committed, with no inode behind it. */
    void orphanItem(Root root, long ino) {
        TransHandle h = Transactions.start(fs, root, 1, "test_orphan");
        Trees.insert(h, root, OrphanItems.key(ino), new byte[0]);
        Transactions.commit(h);
    }

    // ---- subvolumes ---------------------------------------------------------------------------------

    /**
     * A subvolume {@code id} whose tree has {@code items} 1500-byte items (about ten per leaf, so a node
     * above several leaves), deleted as btrfs_delete_subvolume leaves it: root item refs 0 and an orphan item
     * in the tree root, both committed, the root still in fs_roots_radix. Not on dead_roots yet.
     */
    Root deletedSubvolume(long id, int items) { return deletedSubvolume(id, items, 1); }

    /** {@link #deletedSubvolume(long, int)} with a root node at {@code level} (1500-byte items: ten to a leaf). */
    Root deletedSubvolume(long id, int items, int level) {
        Root root = deletedSubvolume(id, (h, r) -> {
            for (int i = 0; i < items; i++) {
                Trees.insert(h, r, inodeKey(ROOT_DIR + 1 + i), new byte[1500]);
            }
        });
        assertEquals(level, root.node().level(), "the root node's level");
        return root;
    }

    /**
     * A subvolume {@code id} whose items {@code fill} inserts (committed),
     * and deleted as btrfs_delete_subvolume leaves it: root item refs 0 and an orphan item, both committed.
     */
    Root deletedSubvolume(long id, java.util.function.BiConsumer<TransHandle, Root> fill) {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 8, "test_create_subvol");
        var leaf = Extents.allocRootLeaf(h, id);
        RootItem item = Mkfs.newRootItem(h.transid(), leaf.bytenr(), ROOT_DIR, 1);
        Trees.insert(h, fs.treeRoot(), rootKey(id), item.encode());
        Root root = new Root(id, leaf, item);
        fs.fsRootsRadix.put(id, root);
        root.state.set(RootState.IN_RADIX);
        fill.accept(h, root);
        Transactions.commit(h);
        h = Transactions.start(fs, fs.treeRoot(), 2, "test_delete_subvol");
        RootItem dead = root.rootItem().withRefs(0);
        root.setRootItem(dead);
        Trees.update(h, fs.treeRoot(), rootKey(id), dead.encode());
        Trees.insert(h, fs.treeRoot(), OrphanItems.key(id), new byte[0]);
        root.state.set(RootState.ORPHAN_ITEM_INSERTED);
        Transactions.commit(h);
        return root;
    }

    static Key rootKey(long id) { return new Key(id, ItemType.ROOT_ITEM, 0); }

    /** The root item of {@code id} as committed in the tree root, or null. */
    RootItem rootItem(long id) {
        byte[] b = Trees.lookup(fs, fs.treeRoot(), rootKey(id));
        return b == null ? null : RootItem.decode(b);
    }

    boolean hasOrphanItem(Root root, long ino) { return Trees.lookup(fs, root, OrphanItems.key(ino)) != null; }

    // ---- block groups -------------------------------------------------------------------------------

    /**
     * A second data block group on unused_bgs: a data extent filling the first data chunk and another
     * filling a new one are committed, then the second is freed and that freeing committed (its drop ref
     * empties the group, btrfs_mark_bg_unused puts it on the list; the commit unpins it). The first data
     * group stays on the list too: mkfs left it empty, btrfs_read_block_groups listed it, and it is only
     * dropped from the list when btrfs_delete_unused_bgs finds it used — as the kernel does.
     */
    BlockGroup unusedDataGroup() {
        long chunk = Mkfs.dataChunkSize(TestFs.SIZE);
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 2, "test_fill");
        long first = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, chunk);
        long second = Extents.allocDataExtent(h, ItemType.FS_TREE_OBJECTID, 257, 0, chunk);
        Transactions.commit(h);
        h = Transactions.start(fs, fs.fsRoot(), 1, "test_free");
        Extents.freeDataExtent(h, ItemType.FS_TREE_OBJECTID, second, chunk);
        Transactions.commit(h);
        assertEquals(2, fs.space.blockGroupCount(BlockGroupType.DATA));
        BlockGroup bg = fs.space.blockGroups().stream().filter(g -> g.start() <= second && second < g.start() + g.length())
            .findFirst().orElseThrow();
        assertTrue(fs.space.snapshot().stream().anyMatch(g -> g.start() == bg.start() && g.unused()), "on unused_bgs");
        return bg;
    }

    @Override
    public void close() { t.close(); }
}
