package org.jbtrfs.fs;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.Trees;

/**
 * Path lookup from one mount's root (fs/namei.c's getname and link_path_walk, with btrfs_lookup_dentry for
 * each component).
 *
 * <p><b>Paths.</b> A path is relative to the mount's root; a leading '/' means the same, repeated '/'
 * collapse, a trailing '/' asks for a directory. Every component is a directory entry: a file, a directory,
 * or a subvolume — a directory entry whose location is a ROOT_ITEM key. A component that is a subvolume
 * crosses into it (btrfs_lookup_dentry → fixup_tree_root_location: the lookup continues in that
 * subvolume's top directory, inode 256), so "sv/name" (the only nested form before directories existed)
 * names "name" in subvolume "sv", and "a/sv/b/c" walks directory "a", subvolume "sv", directory "b".
 *
 * <p><b>Bad paths.</b> null: IllegalArgumentException naming the argument. Empty: ENOENT, as open("").
 * PATH_MAX (4096 bytes with the NUL) or more: ENAMETOOLONG; a component over NAME_MAX (255 bytes, UTF-8):
 * ENAMETOOLONG (btrfs_lookup's BTRFS_NAME_LEN check). A NUL character: EINVAL (it cannot reach the kernel).
 * "." and "..": EINVAL, not supported by the port. A missing component: ENOENT; a file where a directory is
 * needed: ENOTDIR.
 */
final class Namei {
    /** PATH_MAX, including the terminating NUL. */
    static final int PATH_MAX = 4096;
    /** NAME_MAX and BTRFS_NAME_LEN. */
    static final int NAME_MAX = 255;

    /**
     * Where the last component of a path lives. {@code name} is null when the path names the mount's root
     * itself ("/", or only slashes).
     */
    record Parent(Dirs.Dir dir, String name, boolean trailingSlash, String path) {
        boolean isMountRoot() { return name == null; }
    }

    private final FsContext ctx;
    private final FsInfo fs;
    private final Root mountRoot;

    Namei(FsContext ctx, Root mountRoot) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.mountRoot = mountRoot;
    }

    Root mountRoot() { return mountRoot; }

    /** getname() and the split into components, every check that needs no lookup. */
    static List<String> components(String path, String argName) {
        if (path == null) {
            throw new IllegalArgumentException(argName + " must not be null");
        }
        if (path.isEmpty()) {
            throw new BtrfsException(Errno.ENOENT, "no such file or directory: '' (empty " + argName + ")");
        }
        if (path.indexOf('\0') >= 0) {
            throw new BtrfsException(Errno.EINVAL, argName + " contains a NUL character: '" + path.replace('\0', '?') + "'");
        }
        if (path.getBytes(StandardCharsets.UTF_8).length >= PATH_MAX) {
            throw new BtrfsException(Errno.ENAMETOOLONG, "file name too long: " + argName + " of "
                + path.getBytes(StandardCharsets.UTF_8).length + " bytes (PATH_MAX " + PATH_MAX + " with the NUL)");
        }
        List<String> parts = new ArrayList<>();
        for (String c : path.split("/")) {
            if (c.isEmpty()) {
                continue;
            }
            if (c.equals(".") || c.equals("..")) {
                throw new BtrfsException(Errno.EINVAL, "'.' and '..' are not supported in jbtrfs paths: '" + path + "'");
            }
            checkName(c);
            parts.add(c);
        }
        return parts;
    }

    /** A single name: at most NAME_MAX bytes (ENAMETOOLONG), as btrfs_lookup and btrfs_mksubvol check. */
    static void checkName(String name) {
        int len = name.getBytes(StandardCharsets.UTF_8).length;
        if (len > NAME_MAX) {
            throw new BtrfsException(Errno.ENAMETOOLONG, "file name too long: '" + name.substring(0, 16) + "...' is " + len
                + " bytes (NAME_MAX " + NAME_MAX + ")");
        }
    }

    /** Walks every component but the last: the directory that holds it, and its name. */
    Parent parent(String path, String argName) {
        List<String> parts = components(path, argName);
        boolean trailing = path.endsWith("/");
        Dirs.Dir dir = ctx.dirs.top(mountRoot);
        StringBuilder walked = new StringBuilder();
        for (int i = 0; i < parts.size() - 1; i++) {
            String c = parts.get(i);
            walked.append(walked.length() == 0 ? "" : "/").append(c);
            dir = enter(dir, lookupOrFail(dir, c, walked), walked);
        }
        if (parts.isEmpty()) {
            return new Parent(dir, null, true, path);
        }
        return new Parent(dir, parts.get(parts.size() - 1), trailing, path);
    }

    /** Walks the whole path, which must name a directory or a subvolume (ENOTDIR otherwise). */
    Dirs.Dir directory(String path, String argName) {
        Parent p = parent(path, argName);
        if (p.isMountRoot()) {
            return alive(p.dir(), path);
        }
        return enter(p.dir(), lookupOrFail(p.dir(), p.name(), new StringBuilder(path)), new StringBuilder(path));
    }

    /** The entry named by {@code path}, which must be a file: ENOENT, EISDIR, or ENOTDIR for "file/". */
    Target file(String path, String argName) {
        Parent p = parent(path, argName);
        if (p.isMountRoot()) {
            throw new BtrfsException(Errno.EISDIR, "is a directory: '" + path + "' (the mount's root)");
        }
        DirItem d = lookupOrFail(p.dir(), p.name(), new StringBuilder(path));
        if (isDir(d)) {
            throw new BtrfsException(Errno.EISDIR, "is a directory: '" + path + "'");
        }
        if (p.trailingSlash()) {
            throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
        }
        return new Target(p.dir().root, d.location().objectid(), p);
    }

    /** A regular file: its subvolume, inode number, and where its entry is. */
    record Target(Root root, long ino, Parent parent) { }

    /** A dead directory (removed, or its subvolume deleted) has no entries: ENOENT. */
    private static Dirs.Dir alive(Dirs.Dir d, String path) {
        if (d.dead) {
            throw new BtrfsException(Errno.ENOENT, "no such file or directory: '" + path + "' (removed)");
        }
        return d;
    }

    private DirItem lookupOrFail(Dirs.Dir dir, String name, CharSequence path) {
        DirItem d = lookup(alive(dir, path.toString()), name);
        if (d == null) {
            throw new BtrfsException(Errno.ENOENT, "no such file or directory: '" + path + "'");
        }
        return d;
    }

    /**
     * kernel: btrfs_lookup_dentry() → btrfs_inode_by_name() → btrfs_lookup_dir_item() — the entry named
     * {@code name} in {@code dir}, or null. The port stores one name per DIR_ITEM key (a second name with
     * the same hash is refused at creation), so the name is compared, not only the hash.
     */
    DirItem lookup(Dirs.Dir dir, String name) {
        byte[] b = Trees.lookup(fs, dir.root, dirItemKey(dir.ino, name));
        if (b == null) {
            return null;
        }
        DirItem d = DirItem.decode(b);
        return d.name().equals(name) ? d : null;
    }

    /** {@link #lookup} of the last component of {@code path} under its parent's lock: ENOENT when there is none. */
    DirItem existing(Dirs.Dir dir, String name, String path) {
        DirItem d = lookup(dir, name);
        if (d == null) {
            throw new BtrfsException(Errno.ENOENT, "no such file or directory: '" + path + "'");
        }
        return d;
    }

    /**
     * Into a directory entry that must be a directory: a subdirectory of the same subvolume, or — when its
     * location is a ROOT_ITEM — the top directory of that subvolume (fixup_tree_root_location; a deleted
     * one is ENOENT, btrfs_get_fs_root with check_ref). A file: ENOTDIR.
     */
    Dirs.Dir enter(Dirs.Dir dir, DirItem d, CharSequence path) {
        if (d.location().type() == ItemType.ROOT_ITEM) {
            Root sub = FsRoots.getFsRoot(fs, d.location().objectid(), true);
            return alive(ctx.dirs.top(sub), path.toString());
        }
        if (d.type() != DirItem.FT_DIR) {
            throw new BtrfsException(Errno.ENOTDIR, "not a directory: '" + path + "'");
        }
        return alive(ctx.dirs.get(dir.root, d.location().objectid()), path.toString());
    }

    static boolean isDir(DirItem d) { return d.type() == DirItem.FT_DIR || d.location().type() == ItemType.ROOT_ITEM; }

    static boolean isSubvolume(DirItem d) { return d.location().type() == ItemType.ROOT_ITEM; }

    /** (dir, DIR_ITEM, name hash) */
    static Key dirItemKey(long dirIno, String name) { return new Key(dirIno, ItemType.DIR_ITEM, DirItem.nameHash(name)); }
}
