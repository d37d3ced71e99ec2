package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.core.disk.RootItem;
import org.jbtrfs.core.kernel.MountOpt;

/**
 * Creating and rescanning the UUID tree (fs/btrfs/volumes.c, v5.11): btrfs_create_uuid_tree, btrfs_check_uuid_tree
 * and their "btrfs-uuid" kthreads. The kthread is not stopped by anyone: the mount that starts it takes
 * {@code uuid_tree_rescan_sem} first, the kthread gives it back when its scan ends, and an RO remount or close_ctree
 * waits for it by taking the semaphore and giving it back. A scan stops early once the filesystem is closing and
 * then does not mark the tree current (BTRFS_FS_UPDATE_UUID_TREE_GEN), so the next mount rescans.
 */
public final class UuidScan {
    private UuidScan() { }

    /** The last key a scan of the root tree can visit. */
    private static final Key LAST = Key.MAX;

    /**
     * kernel: btrfs_create_uuid_tree() — in one transaction of the tree root, btrfs_create_tree(UUID) published as
     * fs_info->uuid_root, committed; then down(uuid_tree_rescan_sem) and the scan kthread that adds every
     * subvolume's uuid. A failure to create the tree aborts the transaction; the caller fails the mount.
     */
    public static void createUuidTree(FsInfo fs) {
        TransHandle h = Transactions.start(fs, fs.treeRoot(), 2, "btrfs_create_uuid_tree");
        try {
            var leaf = Extents.allocRootLeaf(h, ItemType.UUID_TREE_OBJECTID);
            RootItem item = new RootItem(h.transid(), 0, leaf.bytenr(), 0, 0, 0, 1, Key.MIN, 0, 0);
            Trees.insert(h, fs.treeRoot(), new Key(ItemType.UUID_TREE_OBJECTID, ItemType.ROOT_ITEM, 0), item.encode());
            fs.setUuidRoot(new Root(ItemType.UUID_TREE_OBJECTID, leaf, item));
        } catch (BtrfsException e) {
            Transactions.abort(h, "btrfs_create_uuid_tree", e);
            Transactions.end(h);
            throw e;
        }
        Transactions.commit(h);
        down(fs);
        fs.kernel.kthreadd().run("btrfs-uuid", Role.KTHREAD, fs.workqueues().device(), self -> scanKthread(fs));
    }

    /**
     * kernel: btrfs_check_uuid_tree() — down(uuid_tree_rescan_sem) and the rescan kthread: drop the stale entries,
     * then scan as after creating the tree.
     */
    public static void checkUuidTree(FsInfo fs) {
        down(fs);
        fs.kernel.kthreadd().run("btrfs-uuid", Role.KTHREAD, fs.workqueues().device(), self -> rescanKthread(fs));
    }

    /**
     * open_ctree right after init_tree_roots (since 75ec1db8717a, v5.6): with a UUID tree, no rescan_uuid_tree, and the
     * superblock's uuid_tree_generation equal to its generation, the tree is current — set
     * BTRFS_FS_UPDATE_UUID_TREE_GEN now, so a commit made during the mount keeps it recorded as current.
     */
    public static void markCurrentIfGenerationsMatch(FsInfo fs) {
        if (fs.uuidRoot() != null && !fs.mountOpt.test(MountOpt.RESCAN_UUID_TREE)) {
            synchronized (fs.transLock) {
                if (fs.generation == fs.superCopy.uuidTreeGeneration) {
                    fs.flags.set(FsFlag.UPDATE_UUID_TREE_GEN);
                }
            }
        }
    }

    /**
     * open_ctree's test after btrfs_start_pre_rw_mount (a UUID tree is there): rescan_uuid_tree, or — v5.11 to 7.0,
     * {@link FixSwitch#UUID_RESCAN_GENERATION_CHECK} reverted — fs_info->generation differs from super_copy's
     * uuid_tree_generation. Any transaction started since the superblock was read (orphan cleanup, space cache v1
     * removal, a resumed qgroup rescan) bumped the generation without a commit, so a current tree is rescanned. The
     * fix tests BTRFS_FS_UPDATE_UUID_TREE_GEN instead. A rescan the fixed test would not start is recorded for the
     * explorer ({@link FsInfo#markNeedlessUuidRescan()}).
     */
    public static boolean checkNeeded(FsInfo fs) {
        boolean asked = fs.mountOpt.test(MountOpt.RESCAN_UUID_TREE);
        boolean stale = !fs.flags.test(FsFlag.UPDATE_UUID_TREE_GEN);
        boolean generationsDiffer;
        synchronized (fs.transLock) {
            generationsDiffer = fs.generation != fs.superCopy.uuidTreeGeneration;
        }
        boolean check = asked || (fs.applied(FixSwitch.UUID_RESCAN_GENERATION_CHECK) ? stale : generationsDiffer);
        if (check && !asked && !stale) {
            fs.markNeedlessUuidRescan();
        }
        return check;
    }

    /**
     * The wait of btrfs_remount (going RO) and close_ctree: "wait for the uuid_scan task to finish" — down, then up
     * at once ("avoid complains from lockdep et al.").
     */
    public static void waitForScan(FsInfo fs) {
        down(fs);
        fs.uuidTreeRescanSem.release();
    }

    /**
     * kernel: down(&fs_info->uuid_tree_rescan_sem) — a module sleep a panic ends ({@link org.jbtrfs.core.kernel.Sched#down}):
     * a btrfs-uuid kthread unwound by a panic never gives the semaphore back, and a plain uninterruptible acquire kept
     * the remount or umount waiting for it, s_umount held, through the runner's reload (stop 46, {@code UuidScanPanicTest}).
     */
    static void down(FsInfo fs) { fs.kernel.sched().down(fs.uuidTreeRescanSem, "down(uuid_tree_rescan_sem)"); }

    /**
     * kernel: btrfs_uuid_rescan_kthread() — btrfs_uuid_tree_iterate with btrfs_check_uuid_tree_entry (entries whose
     * subvolume is gone or carries another uuid are removed), then btrfs_uuid_scan_kthread in the same thread. An
     * iteration that fails gives the semaphore back itself ("iterating uuid_tree failed", not for EINTR: closing).
     */
    static int rescanKthread(FsInfo fs) {
        try {
            iterate(fs);
        } catch (BtrfsException e) {
            if (e.errno() != Errno.EINTR) {
                fs.log().warn(fs.sbId(), "iterating uuid_tree failed " + e.errno().ret());
            }
            fs.uuidTreeRescanSem.release();
            return e.errno().ret();
        }
        return scanKthread(fs);
    }

    /**
     * kernel: btrfs_uuid_scan_kthread() — walks the root tree's ROOT_ITEMs of the subvolumes (5 and the free
     * objectid range); for each live one with a uuid or received_uuid it starts a transaction of the UUID tree
     * (2 units), searches again from the same key (the path was released to start it), adds the uuid(s) and ends the
     * handle. Stops early when the filesystem is closing. At the end: "btrfs_uuid_scan_kthread failed %d" on an
     * error, else — unless it stopped for closing — BTRFS_FS_UPDATE_UUID_TREE_GEN, so commits record the tree as
     * current; and up(uuid_tree_rescan_sem).
     */
    static int scanKthread(FsInfo fs) {
        Key key = new Key(0, ItemType.ROOT_ITEM, 0);
        TransHandle trans = null;
        int ret = 0;
        boolean closing = false;
        try {
            while (true) {
                fs.kernel.hooks().arrive(Hook.UUID_SCAN_NEXT_ROOT);
                if (fs.fsClosing() != 0) {
                    closing = true;
                    break;
                }
                TreeItem it = Trees.next(fs, fs.treeRoot(), key, LAST);
                if (it == null) {
                    break;
                }
                key = it.key();
                RootItem item = subvolumeWithUuid(it);
                if (item != null) {
                    if (trans == null) {
                        // btrfs_release_path, then 1 for the subvol uuid item, 1 for the received one
                        trans = Transactions.start(fs, fs.uuidRoot(), 2, "btrfs_uuid_scan_kthread");
                        continue;
                    }
                    if (item.hasUuid()) {
                        addOrWarn(fs, trans, item.uuid(), ItemType.UUID_KEY_SUBVOL, key.objectid());
                    }
                    if (item.hasReceivedUuid()) {
                        addOrWarn(fs, trans, item.receivedUuid(), ItemType.UUID_KEY_RECEIVED_SUBVOL, key.objectid());
                    }
                }
                // skip:
                if (trans != null) {
                    TransHandle t = trans;
                    trans = null;
                    Transactions.end(t);
                }
                key = nextKey(key);
                if (key == null) {
                    break;
                }
            }
        } catch (BtrfsException e) {
            ret = e.errno().ret();
        } finally {
            if (trans != null) {
                Transactions.end(trans);
            }
        }
        if (ret != 0) {
            fs.log().warn(fs.sbId(), "btrfs_uuid_scan_kthread failed " + ret);
        } else if (!closing) {
            fs.flags.set(FsFlag.UPDATE_UUID_TREE_GEN);
        }
        fs.uuidTreeRescanSem.release();
        return 0;
    }

    /** The scan's filter: a ROOT_ITEM of subvolume 5 or of the free objectid range, full-sized, live, with a uuid. */
    private static RootItem subvolumeWithUuid(TreeItem it) {
        Key k = it.key();
        long id = k.objectid();
        if (k.type() != ItemType.ROOT_ITEM
            || Long.compareUnsigned(id, ItemType.FIRST_FREE_OBJECTID) < 0 && id != ItemType.FS_TREE_OBJECTID
            || Long.compareUnsigned(id, ItemType.LAST_FREE_OBJECTID) > 0) {
            return null;
        }
        if (it.data().length < RootItem.SIZE) {
            return null; // item_size < sizeof(root_item): an old root item without uuids
        }
        RootItem item = RootItem.decode(it.data());
        if (item.refs() == 0 || !item.hasUuid() && !item.hasReceivedUuid()) {
            return null;
        }
        return item;
    }

    /** btrfs_uuid_tree_add from the scan: an error is "uuid_tree_add failed %d" and ends the scan. */
    private static void addOrWarn(FsInfo fs, TransHandle h, byte[] uuid, int type, long subid) {
        try {
            UuidTree.add(h, uuid, type, subid);
        } catch (BtrfsException e) {
            fs.log().warn(fs.sbId(), "uuid_tree_add failed " + e.errno().ret());
            throw e;
        }
    }

    /** The scan's key advance: offset + 1, else the same objectid's ROOT_ITEM, else the next objectid's; null at the end. */
    private static Key nextKey(Key k) {
        if (k.offset() != -1L) {
            return new Key(k.objectid(), k.type(), k.offset() + 1);
        }
        if (k.type() < ItemType.ROOT_ITEM) {
            return new Key(k.objectid(), ItemType.ROOT_ITEM, 0);
        }
        if (k.objectid() != -1L) {
            return new Key(k.objectid() + 1, ItemType.ROOT_ITEM, 0);
        }
        return null;
    }

    /**
     * kernel: btrfs_uuid_tree_iterate() with btrfs_check_uuid_tree_entry() — every id of every UUID item is checked
     * against its subvolume (btrfs_get_fs_root with check_ref: a deleted or missing subvolume, or one whose uuid or
     * received_uuid differs, makes the entry stale); a stale entry is removed in a transaction of its own
     * (btrfs_uuid_iter_rem) and the search starts again at the same key (after it, when someone else removed it
     * first). EINTR once the filesystem is closing.
     */
    static void iterate(FsInfo fs) {
        Root uuidRoot = fs.uuidRoot();
        Key key = Key.MIN;
        search:
        while (true) {
            TreeItem it = Trees.next(fs, uuidRoot, key, LAST);
            while (it != null) {
                if (fs.fsClosing() != 0) {
                    throw new BtrfsException(Errno.EINTR, "the filesystem is closing");
                }
                key = it.key();
                byte[] data = it.data();
                boolean uuidItem = key.type() == ItemType.UUID_KEY_SUBVOL || key.type() == ItemType.UUID_KEY_RECEIVED_SUBVOL;
                if (uuidItem && data.length % 8 != 0) {
                    fs.log().warn(fs.sbId(), "uuid item with illegal size " + data.length + "!");
                } else if (uuidItem) {
                    byte[] uuid = UuidTree.uuidOf(key);
                    for (int off = 0; off < data.length; off += 8) {
                        long subid = Le.u64(data, off);
                        if (stale(fs, uuid, key.type(), subid)) {
                            if (!iterRemove(fs, uuid, key.type(), subid)) {
                                // ENOENT: someone removed it first; go on after this item
                                key = new Key(key.objectid(), key.type(), key.offset() + 1);
                            }
                            continue search; // again_search_slot
                        }
                    }
                }
                // skip: btrfs_next_item
                Key after = nextKeyAfter(key);
                it = after == null ? null : Trees.next(fs, uuidRoot, after, LAST);
            }
            return;
        }
    }

    /** The key right after {@code k} in key order (the next item is the first at or after it); null at the end. */
    private static Key nextKeyAfter(Key k) {
        if (k.offset() != -1L) {
            return new Key(k.objectid(), k.type(), k.offset() + 1);
        }
        if (k.type() < 0xff) {
            return new Key(k.objectid(), k.type() + 1, 0);
        }
        return k.objectid() == -1L ? null : new Key(k.objectid() + 1, 0, 0);
    }

    /**
     * kernel: btrfs_check_uuid_tree_entry() — 1 (stale) when the subvolume is gone (ENOENT from btrfs_get_fs_root
     * with check_ref) or its uuid / received_uuid is another; any other error ends the iteration.
     */
    private static boolean stale(FsInfo fs, byte[] uuid, int type, long subid) {
        Root r;
        try {
            r = FsRoots.getFsRoot(fs, subid, true);
        } catch (BtrfsException e) {
            if (e.errno() == Errno.ENOENT) {
                return true;
            }
            throw e;
        }
        RootItem item = r.rootItem();
        byte[] carried = type == ItemType.UUID_KEY_SUBVOL ? item.uuid() : item.receivedUuid();
        return !java.util.Arrays.equals(uuid, carried);
    }

    /**
     * kernel: btrfs_uuid_iter_rem() — a transaction of the UUID tree (1 unit), btrfs_uuid_tree_remove, end. True when
     * removed; false for ENOENT (someone removed it first: the iteration goes on after this item); other errors end the
     * iteration.
     */
    private static boolean iterRemove(FsInfo fs, byte[] uuid, int type, long subid) {
        TransHandle h = Transactions.start(fs, fs.uuidRoot(), 1, "btrfs_uuid_iter_rem");
        try {
            UuidTree.remove(h, uuid, type, subid);
            return true;
        } catch (BtrfsException e) {
            if (e.errno() == Errno.ENOENT) {
                return false;
            }
            throw e;
        } finally {
            Transactions.end(h);
        }
    }
}
