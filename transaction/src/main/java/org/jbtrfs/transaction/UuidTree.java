package org.jbtrfs.transaction;

import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.core.disk.RootItem;

/**
 * The UUID tree's items (fs/btrfs/uuid-tree.c): key (first eight bytes of a uuid, {@link ItemType#UUID_KEY_SUBVOL}
 * or {@link ItemType#UUID_KEY_RECEIVED_SUBVOL}, last eight bytes), data the little-endian u64 ids of the subvolumes
 * carrying that uuid. Stale entries are tolerated by design: the UUID tree rescan removes them. The WARN_ON_ONCE lines are
 * uuid-tree.c's of the 5.10/5.11 code (read in a 5.10.y tree, whose uuid-tree.c has 5.11's lookup, add and remove).
 */
public final class UuidTree {
    private UuidTree() { }

    /** kernel: btrfs_uuid_to_key() */
    public static Key key(byte[] uuid, int type) {
        return new Key(Le.u64(uuid, 0), type, Le.u64(uuid, 8));
    }

    /** The uuid a key was made from (put_unaligned_le64 of objectid and offset, as btrfs_uuid_tree_iterate does). */
    public static byte[] uuidOf(Key k) {
        byte[] u = new byte[RootItem.UUID_SIZE];
        Le.u64(u, 0, k.objectid());
        Le.u64(u, 8, k.offset());
        return u;
    }

    /**
     * kernel: btrfs_uuid_tree_lookup() — whether {@code subid} is among the ids of the item; with no UUID tree,
     * WARN_ON_ONCE and "not found".
     */
    public static boolean lookup(FsInfo fs, byte[] uuid, int type, long subid) {
        Root uuidRoot = fs.uuidRoot();
        if (fs.log().warnOn(uuidRoot == null, "uuid-tree.c", 33, "btrfs_uuid_tree_lookup")) {
            return false;
        }
        byte[] data = Trees.lookup(fs, uuidRoot, key(uuid, type));
        if (data == null || !aligned(fs, data)) {
            return false;
        }
        for (int off = 0; off < data.length; off += 8) {
            if (Le.u64(data, off) == subid) {
                return true;
            }
        }
        return false;
    }

    /**
     * kernel: btrfs_uuid_tree_add() — nothing to do if the id is there already; else insert the item, or extend it
     * with the id at its end (btrfs_extend_item). No UUID tree: WARN_ON_ONCE and EINVAL (the caller aborts).
     */
    public static void add(TransHandle h, byte[] uuid, int type, long subid) {
        FsInfo fs = h.fsInfo;
        if (lookup(fs, uuid, type, subid)) {
            return;
        }
        Root uuidRoot = fs.uuidRoot();
        if (fs.log().warnOn(uuidRoot == null, "uuid-tree.c", 99, "btrfs_uuid_tree_add")) {
            throw new BtrfsException(Errno.EINVAL, "btrfs_uuid_tree_add: no UUID tree");
        }
        byte[] id = new byte[8];
        Le.u64(id, 0, subid);
        insertOrExtend(h, uuidRoot, key(uuid, type), id);
    }

    /**
     * btrfs_uuid_tree_add's btrfs_insert_empty_item: the item for the first subid of its type, or — the insert finding
     * the key, -EEXIST — the existing item extended by {@code id} (btrfs_extend_item), one search holding the leaf
     * locked. Its lookup before is a search of its own: two adders of the same uuid and subid (create_subvol and the
     * btrfs-uuid scan finding the new root item) both pass it, and the second stores the subid a second time, as the
     * kernel does. (Stop 32's port inserted after a lookup of its own and aborted the transaction with EEXIST.)
     */
    static void insertOrExtend(TransHandle h, Root uuidRoot, Key k, byte[] id) {
        uuidRoot.treeLock.lock();
        try {
            byte[] old = Trees.lookup(h.fsInfo, uuidRoot, k);
            if (old == null) {
                Trees.insert(h, uuidRoot, k, id);
            } else {
                byte[] grown = Arrays.copyOf(old, old.length + id.length);
                System.arraycopy(id, 0, grown, old.length, id.length);
                Trees.update(h, uuidRoot, k, grown);
            }
        } finally {
            uuidRoot.treeLock.unlock();
        }
    }

    /**
     * kernel: btrfs_uuid_tree_remove() — drop {@code subid} from the item (the whole item when it was the only
     * one); ENOENT when the item or the id is not there. No UUID tree: WARN_ON_ONCE and EINVAL.
     */
    public static void remove(TransHandle h, byte[] uuid, int type, long subid) {
        FsInfo fs = h.fsInfo;
        Root uuidRoot = fs.uuidRoot();
        if (fs.log().warnOn(uuidRoot == null, "uuid-tree.c", 163, "btrfs_uuid_tree_remove")) {
            throw new BtrfsException(Errno.EINVAL, "btrfs_uuid_tree_remove: no UUID tree");
        }
        Key k = key(uuid, type);
        byte[] data = Trees.lookup(fs, uuidRoot, k);
        if (data == null) {
            throw new BtrfsException(Errno.ENOENT, "no uuid item " + k);
        }
        if (!aligned(fs, data)) {
            throw new BtrfsException(Errno.ENOENT, "uuid item " + k + " with illegal size " + data.length);
        }
        int at = -1;
        for (int off = 0; off < data.length; off += 8) {
            if (Le.u64(data, off) == subid) {
                at = off;
                break;
            }
        }
        if (at < 0) {
            throw new BtrfsException(Errno.ENOENT, "subvolume " + subid + " not in uuid item " + k);
        }
        if (data.length == 8) {
            Trees.delete(h, uuidRoot, k);
            return;
        }
        byte[] shrunk = new byte[data.length - 8]; // memmove_extent_buffer + btrfs_truncate_item
        System.arraycopy(data, 0, shrunk, 0, at);
        System.arraycopy(data, at + 8, shrunk, at, data.length - at - 8);
        Trees.update(h, uuidRoot, k, shrunk);
    }

    /** The item size check of lookup and remove: "uuid item with illegal size %lu!". */
    private static boolean aligned(FsInfo fs, byte[] data) {
        if (data.length % 8 != 0) {
            fs.log().warn(fs.sbId(), "uuid item with illegal size " + data.length + "!");
            return false;
        }
        return true;
    }
}
