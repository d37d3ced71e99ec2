package org.jbtrfs.fs;

import java.math.BigInteger;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootRef;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * The subvolume a mount shows: the mount options {@code subvol=PATH} and {@code subvolid=ID}
 * (btrfs_parse_subvol_options) and mount_subvol() in fs/btrfs/super.c (v5.10/v5.11).
 *
 * <ul>
 *   <li>Neither: the default subvolume (get_default_subvol_objectid: the "default" DIR_ITEM of the root
 *       tree's directory; mkfs.btrfs writes one pointing at 5, the port's mkfs writes none, and the kernel
 *       then mounts the top level, 5 — set-default is not modelled).</li>
 *   <li>{@code subvolid=ID} alone: its path from the top level, walking ROOT_BACKREF items up to subvolume 5
 *       and INODE_REF items up to each subvolume's top directory (btrfs_get_subvol_name_from_objectid):
 *       ENOENT for an id without a back reference — no such subvolume, a deleted one, or a tree that is no
 *       subvolume (1, 2, ...). {@code subvolid=0} means 5. The value is match_u64's: base 0 (decimal,
 *       0x hex, 0 octal), EINVAL if not a number, ERANGE above 2^64-1.</li>
 *   <li>{@code subvol=PATH}: looked up from the top level (mount_subtree's vfs_path_lookup: ENOENT,
 *       ENOTDIR); it must be a subvolume's top directory, else EINVAL "'PATH' is not a valid subvolume".</li>
 *   <li>Both: the path decides, and its subvolume must be the id: else EINVAL "subvol 'PATH' does not match
 *       subvolid ID". The last of several subvol= (or subvolid=) wins.</li>
 * </ul>
 */
final class MountSubvol {
    private MountSubvol() { }

    /** What btrfs_parse_subvol_options found: {@code name} null if no subvol=, {@code objectid} 0 if no subvolid=. */
    record Options(String name, long objectid) { }

    /**
     * kernel: btrfs_parse_subvol_options() — only subvol= and subvolid= (everything else is parsed later, by
     * btrfs_parse_options, and only for a new superblock). Errors come before anything is started and are not
     * logged: EINVAL or ERANGE from match_u64.
     */
    static Options parse(String options) {
        String name = null;
        long objectid = 0;
        for (String p : (options == null ? "" : options).split(",")) {
            p = p.trim();
            if (p.startsWith("subvol=") && p.length() > "subvol=".length()) {
                name = p.substring("subvol=".length());
            } else if (p.startsWith("subvolid=") && p.length() > "subvolid=".length()) {
                long id = matchU64(p.substring("subvolid=".length()));
                objectid = id == 0 ? ItemType.FS_TREE_OBJECTID : id; // "we want the original fs_tree"
            }
        }
        return new Options(name, objectid);
    }

    /**
     * kernel: match_u64() → kstrtoull(s, 0) — an optional '+', then base 0 (0x: hex, 0: octal, else decimal),
     * all of the string; EINVAL if anything is not a digit, ERANGE on overflow.
     */
    static long matchU64(String s) {
        String v = s.startsWith("+") ? s.substring(1) : s;
        final int radix;
        if (v.startsWith("0") && v.length() > 2 && (v.charAt(1) == 'x' || v.charAt(1) == 'X') && hexDigit(v.charAt(2)) >= 0) {
            radix = 16;
            v = v.substring(2);
        } else {
            radix = v.startsWith("0") ? 8 : 10;
        }
        if (v.isEmpty() || !v.chars().allMatch(c -> hexDigit(c) >= 0 && hexDigit(c) < radix)) {
            throw new BtrfsException(Errno.EINVAL, "invalid subvolid value '" + s + "'");
        }
        BigInteger n = new BigInteger(v, radix);
        if (n.bitLength() > 64) {
            throw new BtrfsException(Errno.ERANGE, "subvolid value '" + s + "' out of range");
        }
        return n.longValue();
    }

    private static int hexDigit(int c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }

    /**
     * kernel: mount_subvol() — the subvolume root a new mount shows, for a superblock that is open. The caller
     * holds s_umount (shared) and drops its s_active reference if this throws.
     */
    static Root mountSubvol(FsContext ctx, Options o) {
        FsInfo fs = ctx.fs;
        String name = o.name();
        long objectid = o.objectid();
        if (name == null) {
            if (objectid == 0) {
                objectid = defaultSubvolObjectid(fs);
            }
            name = subvolNameFromObjectid(fs, objectid);
        }
        // mount_subtree(mnt, subvol_name): a path lookup from the top level
        Namei top = new Namei(ctx, fs.fsRoot());
        Resolved r = resolve(ctx, top, name);
        if (r.ino() != ItemType.FIRST_FREE_OBJECTID) { // is_subvolume_inode()
            fs.log().error(fs.sbId(), "'" + name + "' is not a valid subvolume");
            throw new BtrfsException(Errno.EINVAL, "'" + name + "' is not a valid subvolume");
        }
        if (objectid != 0 && r.root().objectid() != objectid) {
            fs.log().error(fs.sbId(), "subvol '" + name + "' does not match subvolid " + Long.toUnsignedString(objectid));
            throw new BtrfsException(Errno.EINVAL, "subvol '" + name + "' does not match subvolid " + Long.toUnsignedString(objectid));
        }
        return r.root();
    }

    private record Resolved(Root root, long ino) { }

    /** vfs_path_lookup from the top level: the inode the path ends at, whatever its type. */
    private static Resolved resolve(FsContext ctx, Namei top, String path) {
        Namei.Parent p = top.parent(path, "subvol");
        if (p.isMountRoot()) {
            return new Resolved(p.dir().root, p.dir().ino);
        }
        DirItem d = top.lookup(p.dir(), p.name());
        if (d == null || p.dir().dead) {
            throw new BtrfsException(Errno.ENOENT, "no such file or directory: '" + path + "'");
        }
        if (Namei.isDir(d)) {
            Dirs.Dir dir = top.enter(p.dir(), d, path);
            return new Resolved(dir.root, dir.ino);
        }
        if (p.trailingSlash()) {
            throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
        }
        return new Resolved(p.dir().root, d.location().objectid());
    }

    /**
     * kernel: get_default_subvol_objectid() — the "default" DIR_ITEM in the root tree's directory (the
     * superblock's root_dir_objectid, 6); none: "don't freak out, just try and mount the top-level subvolume".
     */
    static long defaultSubvolObjectid(FsInfo fs) {
        byte[] b = Trees.lookup(fs, fs.treeRoot(), Namei.dirItemKey(fs.superCopy().rootDirObjectid, "default"));
        return b == null ? ItemType.FS_TREE_OBJECTID : DirItem.decode(b).location().objectid();
    }

    /**
     * kernel: btrfs_get_subvol_name_from_objectid() in fs/btrfs/super.c — walk the ROOT_BACKREF items up to
     * the top level and, inside each parent subvolume, the INODE_REF items up to its top directory; the path
     * ("/" for 5). ENOENT without a back reference (or a missing INODE_REF); ENAMETOOLONG past PATH_MAX.
     */
    static String subvolNameFromObjectid(FsInfo fs, long objectid) {
        StringBuilder path = new StringBuilder();
        long id = objectid;
        while (id != ItemType.FS_TREE_OBJECTID) {
            TreeItem back = last(Trees.range(fs, fs.treeRoot(), new Key(id, ItemType.ROOT_BACKREF, 0), new Key(id, ItemType.ROOT_BACKREF, -1L)));
            if (back == null) {
                throw new BtrfsException(Errno.ENOENT, "no subvolume with id " + Long.toUnsignedString(objectid)
                    + " (no ROOT_BACKREF for " + Long.toUnsignedString(id) + ")");
            }
            RootRef ref = RootRef.decode(back.data());
            prepend(path, ref.name());
            id = back.key().offset();
            Root parent = FsRoots.getFsRoot(fs, id, true);
            long dirid = ref.dirid();
            while (dirid != ItemType.FIRST_FREE_OBJECTID) {
                TreeItem ir = last(Trees.range(fs, parent, new Key(dirid, ItemType.INODE_REF, 0), new Key(dirid, ItemType.INODE_REF, -1L)));
                if (ir == null) {
                    throw new BtrfsException(Errno.ENOENT, "no INODE_REF for directory " + dirid + " of subvolume " + id);
                }
                prepend(path, InodeRef.decode(ir.data()).name());
                dirid = ir.key().offset();
            }
        }
        if (path.length() + 1 > Namei.PATH_MAX) {
            throw new BtrfsException(Errno.ENAMETOOLONG, "path of subvolume " + Long.toUnsignedString(objectid) + " too long");
        }
        return path.length() == 0 ? "/" : path.toString();
    }

    private static void prepend(StringBuilder path, String name) { path.insert(0, "/" + name); }

    private static TreeItem last(List<TreeItem> l) { return l.isEmpty() ? null : l.get(l.size() - 1); }
}
