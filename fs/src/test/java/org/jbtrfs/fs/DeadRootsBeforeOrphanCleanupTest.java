package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The March 2021 follow-up, "btrfs: fix subvolume/snapshot deletion not triggered on mount" (robbieko's
 * report), as fstests btrfs/233 checks it. Patch 2/5 moved btrfs_find_orphan_roots to the end of
 * btrfs_start_pre_rw_mount, after btrfs_orphan_cleanup(tree_root); that cleanup takes a deleted
 * subvolume's orphan item for a stale one (its root is not loaded yet) and deletes it, so the root is never
 * put on dead_roots and its tree is never dropped — silently. The fix calls btrfs_find_orphan_roots first.
 */
class DeadRootsBeforeOrphanCleanupTest {

    /**
     * btrfs/233's setup: a subvolume with a file, the file held open while the subvolume is deleted and the
     * deletion committed, then closed and the filesystem unmounted before the cleaner drops it.
     */
    static long pendingDeletion(Repro r) {
        Btrfs fs = r.mountSettled("");
        long id = fs.createSubvolume("sv");
        fs.createFile("sv/f");
        fs.writeFile("sv/f", new byte[64 << 10]);
        fs.sync();
        FileHandle fh = fs.open("sv/f");
        fs.deleteSubvolume("sv");
        fs.sync();
        fh.close(); // the root goes on dead_roots; nothing wakes the cleaner before the umount parks it
        fs.umount();
        return id;
    }

    /** Extent items owned by tree {@code id}: its btree and data still exist on disk. */
    private static long extentsOwnedBy(Btrfs fs, long id) {
        return Trees.range(fs.fsInfo(), fs.fsInfo().extentRoot(), Key.MIN, Key.MAX).stream()
            .filter(it -> it.key().type() == ItemType.METADATA_ITEM || it.key().type() == ItemType.EXTENT_ITEM)
            .filter(it -> ExtentItem.decode(it.data()).ownerRoot() == id).count();
    }

    /** One explicit cleaner pass (it loops while it drops roots), after which nothing is left on dead_roots. */
    private static void cleanerDone(Btrfs fs) {
        fs.runCleanerPass(Repro.WAIT);
        assertTrue(fs.inspect().deadRoots().isEmpty(), "dead_roots: " + fs.inspect().deadRoots());
    }

    private static Repro repro(boolean fixed) {
        return fixed ? new Repro(Crc32cImpl.ACCELERATED) : new Repro(Crc32cImpl.ACCELERATED, FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP);
    }

    /** After the RW mount or remount: dropped with the fix, leaked (orphan item gone, tree kept) without. */
    private static void assertDroppedOrLeaked(Repro r, Btrfs fs, long id, boolean fixed) {
        cleanerDone(fs);
        assertTrue(fs.inspect().rootOrphans().isEmpty(), "the orphan item is gone either way");
        if (fixed) {
            assertFalse(fs.inspect().rootItems().containsKey(id), "the subvolume's root item is gone");
            fs.sync();
            assertEquals(0, extentsOwnedBy(fs, id), "and so is its btree");
        } else {
            assertEquals(0, fs.inspect().rootItems().get(id), "refs 0 forever: nothing says the drop is pending");
            assertTrue(extentsOwnedBy(fs, id) > 0, "its btree is never dropped");
            assertTrue(r.logged("auto deleting " + id), "orphan cleanup took the orphan item for a stale one");
        }
        fs.umount();
        Btrfs again = r.mount("");
        cleanerDone(again);
        assertEquals(fixed, extentsOwnedBy(again, id) == 0, fixed ? "still gone" : "a later mount does not retry the drop");
        again.umount();
        UnloadReport rep = r.mod.unload();
        assertTrue(rep.clean(), rep + "\n" + r.mod.log().dmesg());
        assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
    }

    @ParameterizedTest(name = "fix applied={0}")
    @ValueSource(booleans = {true, false})
    void rwMount(boolean fixed) {
        try (Repro r = repro(fixed)) {
            long id = pendingDeletion(r);
            Btrfs fs = r.mountSettled("");
            assertDroppedOrLeaked(r, fs, id, fixed);
        }
    }

    /** Both directions of the RW-mount and RO→RW arms, 100 times: the same verdict every time. */
    @org.junit.jupiter.api.RepeatedTest(100)
    void armsAreDeterministic() {
        for (boolean fixed : new boolean[] {true, false}) {
            rwMount(fixed);
            roMountThenRemountRw(fixed);
        }
    }

    @ParameterizedTest(name = "fix applied={0}")
    @ValueSource(booleans = {true, false})
    void roMountKeepsTheOrphanItemAndTheSubvolume(boolean fixed) {
        try (Repro r = repro(fixed)) {
            long id = pendingDeletion(r);
            Btrfs fs = r.mountSettled("ro");
            assertEquals(List.of(id), fs.inspect().rootOrphans());
            assertEquals(0, fs.inspect().rootItems().get(id));
            assertTrue(extentsOwnedBy(fs, id) > 0);
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "fix applied={0}")
    @ValueSource(booleans = {true, false})
    void roMountThenRemountRw(boolean fixed) {
        try (Repro r = repro(fixed)) {
            long id = pendingDeletion(r);
            Btrfs fs = r.mountSettled("ro");
            fs.remount("rw");
            assertDroppedOrLeaked(r, fs, id, fixed);
        }
    }

    @ParameterizedTest(name = "fix applied={0}")
    @ValueSource(booleans = {true, false})
    void withPatch2RevertedOpenCtreeLoadsDeadRootsFirstAndTheSwitchHasNothingToActOn(boolean fixed) {
        FixSwitch[] reverted = fixed ? new FixSwitch[] {FixSwitch.ORPHAN_ROOTS_RO_MOUNT}
            : new FixSwitch[] {FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP};
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED, reverted)) {
            long id = pendingDeletion(r);
            Btrfs fs = r.mountSettled("");
            assertDroppedOrLeaked(r, fs, id, true);
        }
    }
}
