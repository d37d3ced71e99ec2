package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.fs.tools.DumpTree;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.WbSyncMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Quota enable's new quota tree may be COWed inside its own transaction: a sync's writeback (sync_inodes_sb) can write
 * the new root leaf before the status item goes in, and the insert then COWs the written leaf. The committed root item
 * must name the new leaf — the kernel's insert_new_root put the quota root on dirty_cowonly_roots, and
 * commit_cowonly_roots rewrites its root item; the port, whose commit does not know the root until enable publishes it,
 * rewrites the item in {@code createQuotaTree}. Since stop 45 the written leaf freed by that COW is pinned (not freed
 * at once), so a root item naming it would point at a leaf the next transaction may overwrite. A guard of kept kernel
 * behaviour, not a bug found: without the rewrite the enable's committed quota tree is the empty leaf the sync wrote
 * (no status item). The image is read with the enable parked after its commit, before its rescan (whose transactions
 * COW the quota tree again; the first version of this test compared memory with the root item and met them). Read:
 * btrfs_quota_enable, btrfs_create_tree, commit_cowonly_roots, btrfs_free_tree_block (v5.11 qgroup.c, disk-io.c,
 * transaction.c, extent-tree.c).
 */
class QuotaTreeRootItemTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void theEnablesCommitNamesTheQuotaLeafASyncMadeItCow(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            FsInfo fi = fs.fsInfo();
            AtomicLong writes = new AtomicLong();
            // once the quota tree's root leaf is allocated (a dirty block of tree 8), a sync's writeback writes it out, as
            // one running right then would: the status item's insert then COWs the leaf
            r.mod.hooks().arm(Hook.TREE_BLOCK_ALLOCATED, HookAction.run(() -> {
                if (Thread.currentThread().getName().equals("enable") && writes.get() == 0
                    && fi.btreeInode.dirtyState().contains(": owner " + ItemType.QUOTA_TREE_OBJECTID + " gen")) {
                    fi.btreeInode.writepages(WbSyncMode.ALL);
                    fi.btreeInode.waitWriteback();
                    writes.incrementAndGet();
                }
            }), -1);
            // the enable stops after its commit, before its rescan can change the quota tree: the image on the device is
            // the enable's commit
            r.mod.hooks().parkAt(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);
            TestThread<Void> enable = TestThread.run("enable", fs::quotaEnable);
            r.mod.hooks().awaitParked(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT, Repro.WAIT);
            r.mod.hooks().disarm(Hook.TREE_BLOCK_ALLOCATED);
            assertEquals(1, writes.get(), "the quota leaf was written during the enable");

            List<Key> committed = DumpTree.read(r.dev, crc).items(ItemType.QUOTA_TREE_OBJECTID).stream()
                .map(DumpTree.Item::key).toList();
            assertTrue(committed.contains(new Key(0, ItemType.QGROUP_STATUS, 0)),
                "the committed quota tree (the leaf its root item names) has the status item: " + committed);
            r.mod.hooks().release(Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT);
            enable.join();
            fs.quotaRescanWait();
            fs.umount();
            assertEquals(List.of(), Check.check(r.dev, crc).problems(), "the image after umount");
        }
    }
}
