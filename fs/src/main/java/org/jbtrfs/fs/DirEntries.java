package org.jbtrfs.fs;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootRef;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TransHandle;
import org.jbtrfs.transaction.Transactions;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * The items of a directory entry, as fs/btrfs/inode.c and dir-item.c write them: DIR_ITEM (by name hash)
 * and DIR_INDEX (by index, readdir order) in the parent directory, INODE_REF (inode → parent, name, index)
 * for a file or directory, ROOT_REF and ROOT_BACKREF in the root tree for a subvolume; and the parent
 * directory's i_size, which counts every name twice (once for each of its two entries): an empty directory
 * has i_size 0 (BTRFS_EMPTY_DIR_SIZE), which is how rmdir tells ENOTEMPTY. A directory's nlink is always 1:
 * btrfs counts neither "." nor the ".." of subdirectories. The DIR_INDEX and the directory's inode item are queued
 * as delayed items ({@link org.jbtrfs.transaction.DelayedInodes}), written by the commit or a delayed-meta work.
 *
 * <p>Every method runs in the caller's transaction with the parent directory's i_rwsem held.
 */
final class DirEntries {
    /** BTRFS_DIR_START_INDEX: indexes 0 and 1 are "." and "..". */
    static final long DIR_START_INDEX = 2;

    private final FsInfo fs;

    DirEntries(FsInfo fs) { this.fs = fs; }

    /**
     * Before a new entry's transaction, under the parent's i_rwsem: EEXIST if {@code name} exists — or if its
     * DIR_ITEM key is taken by another name (a crc32c collision: the kernel would keep both names in that
     * item, the port keeps one name per key).
     */
    void checkFree(Dirs.Dir dir, String name, String path) {
        byte[] b = Trees.lookup(fs, dir.root, Namei.dirItemKey(dir.ino, name));
        if (b == null) {
            return;
        }
        String other = DirItem.decode(b).name();
        throw new BtrfsException(Errno.EEXIST, other.equals(name) ? "file exists: '" + path + "'"
            : "file exists: '" + other + "' has the same name hash as '" + name + "' in " + dir + " (the port keeps one name per hash)");
    }

    /**
     * kernel: btrfs_set_inode_index() — the next DIR_INDEX offset of {@code dir}; on first use
     * btrfs_set_inode_index_count: the delayed node's count (btrfs_inode_delayed_dir_index_count), else one past the
     * highest DIR_INDEX item in the tree, or BTRFS_DIR_START_INDEX.
     */
    long setInodeIndex(Dirs.Dir dir) {
        if (dir.indexCnt < 0) {
            dir.indexCnt = fs.delayedInodes.dirIndexCount(dir.root, dir.ino);
        }
        if (dir.indexCnt < 0) {
            List<TreeItem> idx = Trees.range(fs, dir.root, new Key(dir.ino, ItemType.DIR_INDEX, 0), new Key(dir.ino, ItemType.DIR_INDEX, -1L));
            dir.indexCnt = idx.isEmpty() ? DIR_START_INDEX : idx.get(idx.size() - 1).key().offset() + 1;
        }
        return dir.indexCnt++;
    }

    /**
     * kernel: btrfs_new_inode()'s items — the inode item and its INODE_REF to {@code parent}, inserted
     * together (btrfs_insert_empty_items).
     */
    void newInode(TransHandle h, Dirs.Dir parent, long ino, int mode, String name, long index) {
        Trees.insert(h, parent.root, new Key(ino, ItemType.INODE_ITEM, 0),
            new InodeItem(h.transid(), h.transid(), 0, 0, 1, mode).encode());
        try {
            Trees.insert(h, parent.root, new Key(ino, ItemType.INODE_REF, parent.ino), new InodeRef(index, name).encode());
        } catch (BtrfsException e) {
            // the kernel's one btrfs_insert_empty_items inserts both or neither; the port's second insert failing
            // would leave an inode item with no reference for the commit — aborted instead (stop 69)
            throw abort(h, "btrfs_new_inode", e);
        }
    }

    /**
     * kernel: btrfs_add_link() (without the back reference: the caller inserted it) and, for a subvolume,
     * create_subvol's part — btrfs_insert_dir_item (DIR_ITEM and DIR_INDEX) and the parent's i_size grown
     * by twice the name, written with btrfs_update_inode. The caller ran {@link #checkFree}.
     */
    void insertDirItem(TransHandle h, Dirs.Dir parent, Key location, int type, String name, long index) {
        byte[] entry = new DirItem(location, type, name).encode();
        try {
            Trees.insert(h, parent.root, Namei.dirItemKey(parent.ino, name), entry); // checkFree ran under the same lock
            fs.delayedInodes.insertDirIndex(parent.root, parent.ino, index, entry); // btrfs_insert_delayed_dir_index
            growDir(h, parent, 2L * nameLen(name));
        } catch (BtrfsException e) {
            // btrfs_add_link: an error of btrfs_insert_dir_item other than -EEXIST/-EOVERFLOW, or of btrfs_update_inode,
            // aborts (stop 69, port bug: the error went up unaborted, and the commit wrote the inode and its reference
            // without the entry — btrfs check's INODE_REF_WRONG under the ALLOC_TREE_BLOCK_ENOSPC fault)
            throw e.errno() == Errno.EEXIST ? e : abort(h, "btrfs_add_link", e);
        }
    }

    /**
     * kernel: btrfs_add_root_ref() in fs/btrfs/root-tree.c — ROOT_REF (parent → child) and ROOT_BACKREF
     * (child → parent) in the root tree.
     */
    void addRootRef(TransHandle h, long child, Dirs.Dir parent, long index, String name) {
        byte[] ref = new RootRef(parent.ino, index, name).encode();
        Trees.insert(h, fs.treeRoot(), new Key(parent.root.objectid(), ItemType.ROOT_REF, child), ref);
        Trees.insert(h, fs.treeRoot(), new Key(child, ItemType.ROOT_BACKREF, parent.root.objectid()), ref);
    }

    /**
     * kernel: __btrfs_unlink_inode() — delete the DIR_ITEM, the INODE_REF (which gives the index), the
     * DIR_INDEX, and shrink the parent's i_size (btrfs_update_inode). The inode's own link count is the
     * caller's.
     */
    void unlinkInode(TransHandle h, Dirs.Dir parent, String name, long ino) {
        // btrfs_lookup_dir_item + btrfs_delete_one_dir_name: an error here goes up unaborted (nothing changed yet)
        Trees.delete(h, parent.root, Namei.dirItemKey(parent.ino, name));
        Key refKey = new Key(ino, ItemType.INODE_REF, parent.ino);
        byte[] ref = Trees.lookup(fs, parent.root, refKey);
        if (ref == null) {
            // btrfs_del_inode_ref: -ENOENT → "failed to delete reference to %.*s, inode %llu parent %llu"
            fs.log().info(fs.sbId(), "failed to delete reference to " + name + ", inode " + ino + " parent " + parent.ino);
            throw abort(h, "__btrfs_unlink_inode", new BtrfsException(Errno.ENOENT, "no INODE_REF for inode " + ino + " in " + parent));
        }
        try {
            Trees.delete(h, parent.root, refKey);
        } catch (BtrfsException e) {
            // btrfs_del_inode_ref's error aborts (stop 69, port bug: the commit wrote the entry half removed — the
            // DIR_ITEM gone, the DIR_INDEX and the directory's i_size left: class 96d7fd75's "dir isize wrong")
            fs.log().info(fs.sbId(), "failed to delete reference to " + name + ", inode " + ino + " parent " + parent.ino);
            throw abort(h, "__btrfs_unlink_inode", e);
        }
        fs.delayedInodes.deleteDirIndex(parent.root, parent.ino, InodeRef.decode(ref).index()); // btrfs_delete_delayed_dir_index
        growDir(h, parent, -2L * nameLen(name));
    }

    /**
     * kernel: btrfs_unlink_subvol() — a subvolume's entry: DIR_ITEM, ROOT_REF and ROOT_BACKREF
     * (btrfs_del_root_ref, which gives the index), DIR_INDEX, the parent's i_size.
     */
    void unlinkSubvol(TransHandle h, Dirs.Dir parent, String name, long child) {
        Key refKey = new Key(parent.root.objectid(), ItemType.ROOT_REF, child);
        byte[] ref;
        try {
            // btrfs_delete_one_dir_name, btrfs_del_root_ref: each error aborts (stop 69, port bug: went up unaborted)
            Trees.delete(h, parent.root, Namei.dirItemKey(parent.ino, name));
            ref = Trees.lookup(fs, fs.treeRoot(), refKey);
            if (ref == null) {
                throw new BtrfsException(Errno.ENOENT, "no ROOT_REF from " + parent.root.objectid() + " to " + child);
            }
            Trees.delete(h, fs.treeRoot(), refKey);
            Trees.delete(h, fs.treeRoot(), new Key(child, ItemType.ROOT_BACKREF, parent.root.objectid()));
        } catch (BtrfsException e) {
            throw abort(h, "btrfs_unlink_subvol", e);
        }
        fs.delayedInodes.deleteDirIndex(parent.root, parent.ino, RootRef.decode(ref).sequence()); // btrfs_delete_delayed_dir_index
        growDir(h, parent, -2L * nameLen(name));
    }

    /**
     * The directory's inode item: i_size (u64, BTRFS_EMPTY_DIR_SIZE 0 when empty) — the copy queued in its delayed
     * node if there is one (the port's stand-in for the in-memory inode), else the tree's.
     */
    InodeItem dirItem(Dirs.Dir dir) {
        byte[] b = fs.delayedInodes.readInodeItem(dir.root, dir.ino);
        if (b == null) {
            throw new BtrfsException(Errno.ENOENT, "inode item of " + dir + " is gone");
        }
        return InodeItem.decode(b);
    }

    /** btrfs_i_size_write(dir, i_size + delta) and btrfs_update_inode(dir). */
    private void growDir(TransHandle h, Dirs.Dir dir, long delta) {
        InodeItem i = dirItem(dir);
        writeDirItem(h, dir, new InodeItem(i.generation(), h.transid(), i.size() + delta, i.nbytes(), i.nlink(), i.mode()));
    }

    /** btrfs_update_inode() of a directory with new attributes: btrfs_delayed_update_inode. */
    void writeDirItem(TransHandle h, Dirs.Dir dir, InodeItem item) {
        fs.delayedInodes.updateInode(dir.root, dir.ino, item.encode());
    }

    /** Children of a subvolume (may_destroy_subvol): its ROOT_REF items. */
    boolean hasChildSubvolumes(Root root) {
        return !Trees.range(fs, fs.treeRoot(), new Key(root.objectid(), ItemType.ROOT_REF, 0),
            new Key(root.objectid(), ItemType.ROOT_REF, -1L)).isEmpty();
    }

    /** btrfs_abort_transaction(): a missing back reference is corruption; the error goes to the caller. */
    private BtrfsException abort(TransHandle h, String function, BtrfsException e) {
        Transactions.abort(h, function, e);
        return e;
    }

    static int nameLen(String name) { return name.getBytes(StandardCharsets.UTF_8).length; }
}
