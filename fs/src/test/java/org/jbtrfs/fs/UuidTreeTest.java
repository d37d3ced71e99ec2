package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.DiskIo;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.UuidScan;
import org.jbtrfs.transaction.UuidTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UUID tree (stop 32): created by a filesystem's first read-write mount, kept by subvolume creation and deletion,
 * rescanned by the "btrfs-uuid" kthread, waited for by an RO remount and by umount. Kernel functions read (v5.11 and
 * mainline): fs/btrfs/volumes.c (btrfs_create_uuid_tree, btrfs_check_uuid_tree, btrfs_uuid_scan_kthread,
 * btrfs_uuid_rescan_kthread, btrfs_check_uuid_tree_entry), fs/btrfs/uuid-tree.c (btrfs_uuid_tree_add,
 * btrfs_uuid_tree_remove, btrfs_uuid_tree_iterate, btrfs_uuid_iter_rem), fs/btrfs/disk-io.c (open_ctree's early
 * BTRFS_FS_UPDATE_UUID_TREE_GEN and its late "checking UUID tree", btrfs_start_pre_rw_mount's "creating UUID tree",
 * btrfs_read_roots, close_ctree's wait), fs/btrfs/transaction.c (update_super_roots), fs/btrfs/super.c (btrfs_remount's
 * wait, Opt_rescan_uuid_tree), fs/btrfs/ioctl.c (create_subvol) and fs/btrfs/inode.c (btrfs_delete_subvolume).
 *
 * <p><b>Kernel bug, upstream since 2026:</b> {@link #aMountThatCleansUpAnOrphanRescansACurrentUuidTreeUnlessFixed} — decided
 * kernel, not port: open_ctree of v5.11 to 7.0 compares fs_info->generation with the superblock's uuid_tree_generation
 * after btrfs_start_pre_rw_mount, whose orphan cleanup started (and did not commit) a transaction; e70e3f858e08 tests
 * BTRFS_FS_UPDATE_UUID_TREE_GEN instead ({@link FixSwitch#UUID_RESCAN_GENERATION_CHECK}).
 */
class UuidTreeTest {
    private static byte[] uuidOf(FsInfo fi, long id) { return FsRoots.getFsRoot(fi, id, true).rootItem().uuid(); }

    private static List<String> info(BtrfsModule mod, String device) {
        return mod.log().entries().stream().map(LogEntry::message)
            .filter(m -> m.startsWith("BTRFS info (device " + device + "): ") && m.contains("UUID tree"))
            .map(m -> m.substring(m.indexOf("): ") + 3)).toList();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void theFirstReadWriteMountCreatesTheTreeAndSubvolumesKeepItCurrent(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mount("");
            FsInfo fi = fs.fsInfo();
            // 5.11: start_pre_rw_mount created it and started its scan; open_ctree then checks it unless the scan already
            // ended and marked it current (fixed test; reverted, the generations differ either way): down() waits for the
            // scan, a rescan follows — which of the two is a race between the scan and the mount
            List<String> first = info(r.mod, "sdc");
            assertEquals("creating UUID tree", first.get(0));
            assertTrue(first.size() == 1 || first.equals(List.of("creating UUID tree", "checking UUID tree")), first.toString());
            fs.waitForUuidScan(Repro.WAIT);
            assertTrue(fi.flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "the rescan ended: the tree is current");
            long a = fs.createSubvolume("a");
            long b = fs.createSubvolume("b");
            byte[] ua = uuidOf(fi, a);
            assertFalse(RootItem.isEmptyUuid(ua), "create_subvol: generate_random_guid");
            assertTrue(UuidTree.lookup(fi, ua, ItemType.UUID_KEY_SUBVOL, a));
            assertTrue(UuidTree.lookup(fi, uuidOf(fi, b), ItemType.UUID_KEY_SUBVOL, b));
            fs.deleteSubvolume("a");
            assertFalse(UuidTree.lookup(fi, ua, ItemType.UUID_KEY_SUBVOL, a), "btrfs_delete_subvolume removed it");
            fs.sync();
            assertEquals(fi.lastTransCommitted(), fi.superCopy().uuidTreeGeneration, "update_super_roots records it current");
            fs.umount();
            SuperBlock sb = DiskIo.readSuper(r.dev, r.mod.kernel().crc32c());
            assertEquals(sb.generation, sb.uuidTreeGeneration);
            // a clean umount: the next mount neither creates nor checks
            Btrfs again = r.mount("");
            assertEquals(first, info(r.mod, "sdc"), "nothing new");
            assertTrue(again.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "set early: the generations matched");
            assertFalse(again.inspect().needlessUuidRescan());
            again.umount();
            Check.Report rep = Check.check(r.dev, crc);
            assertTrue(rep.clean(), rep.toString());
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * An RO mount of a fresh filesystem makes no tree; the RO→RW remount does — 5.11's start_pre_rw_mount, and on 5.10
     * btrfs_remount itself ("creating UUID tree" after btrfs_qgroup_rescan_resume; 44c0ca211a4d only moved the block).
     * A <b>port bug</b> until stop 48: the 5.10 profile's remount created none, so the first subvolume created after it
     * warned in btrfs_uuid_tree_add and aborted the transaction (found by a `--kernel 5.10` hunt in stop 47, seed 1247,
     * and then wrongly kept as 5.10's behaviour — triaged from the port's own 5.10 path, not the source). Decision, read
     * in stop 48: btrfs_remount of v5.10.13 (and of 4.x: the MS_RDONLY era) creates the tree; the port now does.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = KernelVersion.class, names = {"V5_10", "V5_11"})
    void anRoToRwRemountCreatesTheTreeOfAFilesystemNeverMountedReadWrite(KernelVersion version) {
        try (Repro r = new Repro(c -> c.version(version))) {
            Btrfs fs = r.mount("ro");
            assertNull(fs.fsInfo().uuidRoot());
            fs.remount("rw");
            assertNotNull(fs.fsInfo().uuidRoot());
            assertEquals(List.of("creating UUID tree"), info(r.mod, "sdc"), "open_ctree's check is not the remount's");
            long id = fs.createSubvolume("sv");
            assertTrue(UuidTree.lookup(fs.fsInfo(), uuidOf(fs.fsInfo(), id), ItemType.UUID_KEY_SUBVOL, id));
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** mkfs, a mount, two subvolumes (create_subvol indexes them), umount: a current UUID tree to rescan. */
    private static void twoSubvolumesUnmounted(Repro r) {
        Btrfs fs = r.mount("");
        UuidScan.waitForScan(fs.fsInfo());
        fs.createSubvolume("a");
        fs.createSubvolume("b");
        fs.umount();
    }

    /**
     * An RO remount waits for a scan in progress ("wait for the uuid_scan task to finish") before it sets the RO flag:
     * every transaction of the scan is in before the remount's commit. The rescan of a {@code rescan_uuid_tree} mount is
     * parked before its first root item; the remount's sync commits, then the remount waits on uuid_tree_rescan_sem
     * until the scan has added both subvolumes, each in a transaction of its own.
     */
    @Test
    void anRoRemountWaitsForTheScanInProgress() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            twoSubvolumesUnmounted(r);
            r.mod.hooks().parkAt(Hook.UUID_SCAN_NEXT_ROOT);
            Btrfs fs = r.mount("rescan_uuid_tree");
            r.mod.hooks().awaitParked(Hook.UUID_SCAN_NEXT_ROOT, Repro.WAIT);
            TestThread<Void> ro = TestThread.run("remount-ro", () -> fs.remount("ro"));
            Waits.within(Repro.WAIT).until(() -> ro.thread().getState() == Thread.State.WAITING);
            assertFalse(fs.isReadOnly(), "held by uuid_tree_rescan_sem before the RO flag");
            r.mod.hooks().release(Hook.UUID_SCAN_NEXT_ROOT);
            ro.join(Repro.WAIT);
            assertTrue(fs.isReadOnly());
            assertTrue(fs.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "the scan ended before the remount went on");
            assertTrue(fs.inspect().committedReadOnly().isEmpty(), "nothing committed after the RO remount's commit");
            assertTrue(fs.inspect().openTransactions().isEmpty());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * An umount during the scan: close_ctree sets CLOSING_START, the scan (parked before its first root item) stops there
     * and does not mark the tree current; close_ctree's wait returns. The next mount finds uuid_tree_generation behind and checks the
     * tree — a needed check, not the kernel bug.
     */
    @Test
    void anUmountStopsTheScanWhichLeavesTheTreeToBeCheckedNextMount() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            twoSubvolumesUnmounted(r);
            r.mod.hooks().parkAt(Hook.UUID_SCAN_NEXT_ROOT);
            Btrfs again = r.mount("rescan_uuid_tree");
            r.mod.hooks().awaitParked(Hook.UUID_SCAN_NEXT_ROOT, Repro.WAIT);
            assertFalse(again.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "rescan_uuid_tree: not set early");
            TestThread<Void> umount = TestThread.run("umount", again::umount);
            Waits.within(Repro.WAIT).until(() -> again.fsInfo().flags.test(FsFlag.CLOSING_START));
            r.mod.hooks().release(Hook.UUID_SCAN_NEXT_ROOT);
            umount.join(Repro.WAIT);
            assertFalse(again.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "stopped for closing: not current");
            SuperBlock sb = DiskIo.readSuper(r.dev, r.mod.kernel().crc32c());
            assertTrue(sb.uuidTreeGeneration < sb.generation, sb.uuidTreeGeneration + " < " + sb.generation);
            int before = info(r.mod, "sdc").size();
            Btrfs third = r.mount("");
            UuidScan.waitForScan(third.fsInfo());
            List<String> said = info(r.mod, "sdc");
            assertEquals(List.of("checking UUID tree"), said.subList(before, said.size()));
            assertFalse(third.inspect().needlessUuidRescan(), "the tree was behind: a needed check");
            third.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** The public wait: ETIMEDOUT (module usable) while a scan is held; then it returns once the scan ended. */
    @Test
    void waitForUuidScanTimesOutOnAHeldScanAndReturnsOnceItEnds() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            twoSubvolumesUnmounted(r);
            r.mod.hooks().parkAt(Hook.UUID_SCAN_NEXT_ROOT);
            Btrfs fs = r.mount("rescan_uuid_tree");
            r.mod.hooks().awaitParked(Hook.UUID_SCAN_NEXT_ROOT, Repro.WAIT);
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.waitForUuidScan(java.time.Duration.ofMillis(20)));
            assertEquals(Errno.ETIMEDOUT, e.errno());
            assertThrows(IllegalArgumentException.class, () -> fs.waitForUuidScan(null));
            r.mod.hooks().release(Hook.UUID_SCAN_NEXT_ROOT);
            fs.waitForUuidScan(Repro.WAIT);
            assertTrue(fs.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN));
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The kernel bug. A power cut after an unlinked file's orphan item was committed (its inode still open); the next
     * mount's btrfs_start_pre_rw_mount cleans the orphan up — btrfs_orphan_cleanup's iput evicts the inode in a
     * transaction it does not commit, so fs_info->generation is one past the superblock's uuid_tree_generation,
     * although the tree is current (BTRFS_FS_UPDATE_UUID_TREE_GEN was set when the superblock was read). Reverted:
     * "checking UUID tree" and a btrfs-uuid kthread that walks every subvolume and re-adds every uuid. Applied
     * (e70e3f858e08): the flag is tested and nothing is rescanned.
     */
    @ParameterizedTest(name = "fix applied={0}")
    @ValueSource(booleans = {true, false})
    void aMountThatCleansUpAnOrphanRescansACurrentUuidTreeUnlessFixed(boolean applied) {
        ManualClock clock = new ManualClock();
        KernelConfig cfg = KernelConfig.defaults().clock(clock);
        if (!applied) {
            cfg = cfg.revert(FixSwitch.UUID_RESCAN_GENERATION_CHECK);
        }
        try (BtrfsModule mod = BtrfsModule.load(cfg)) {
            FlakeyBlockDevice flakey = mod.createFlakeyDevice("flakey-sdc", mod.createDevice("sdc", 64L << 20));
            mod.mkfs(flakey);
            Btrfs fs = mod.mount(flakey, "");
            UuidScan.waitForScan(fs.fsInfo());
            fs.createSubvolume("sv");
            fs.createFile("f");
            fs.writeFile("f", new byte[4096]);
            FileHandle h = fs.open("f");
            fs.unlink("f"); // nlink 0, open: an orphan item
            fs.sync();
            assertEquals(fs.fsInfo().lastTransCommitted(), fs.fsInfo().superCopy().uuidTreeGeneration);
            flakey.dropWrites(); // power cut
            h.close();
            fs.umount();
            flakey.allowWrites();
            int before = info(mod, "flakey-sdc").size();
            Btrfs again = mod.mount(flakey, "");
            assertTrue(again.fsInfo().flags.test(FsFlag.UPDATE_UUID_TREE_GEN), "set early: the generations matched");
            List<String> said = info(mod, "flakey-sdc");
            assertEquals(applied ? List.of() : List.of("checking UUID tree"), said.subList(before, said.size()));
            assertEquals(!applied, again.inspect().needlessUuidRescan());
            UuidScan.waitForScan(again.fsInfo());
            again.umount();
            assertTrue(mod.unload().clean());
        }
    }
}
