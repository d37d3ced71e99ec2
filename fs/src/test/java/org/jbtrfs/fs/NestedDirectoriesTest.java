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
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.RootRef;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.fs.tools.DumpTree;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Directories as btrfs keeps them: btrfs_mkdir / btrfs_rmdir / btrfs_unlink write and remove the INODE_ITEM,
 * INODE_REF, DIR_ITEM and DIR_INDEX items, a directory's i_size is twice the length of its names and its nlink
 * stays 1, a subvolume is an entry of any directory with ROOT_REF / ROOT_BACKREF; the path forms "name" and
 * "sv/name" keep working; the offline check finds every image clean.
 */
class NestedDirectoriesTest {
    private Repro r;
    private Btrfs fs;

    @BeforeEach
    void mount() {
        r = new Repro(Crc32cImpl.ACCELERATED);
        fs = r.mountSettled("");
    }

    @AfterEach
    void close() { r.close(); }

    private static void assertErrno(Errno errno, String text, Runnable op) {
        BtrfsException e = assertThrows(BtrfsException.class, op::run);
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }

    private DumpTree dumpAfterUmount() {
        fs.umount();
        return DumpTree.read(r.dev);
    }

    private static Object item(DumpTree d, long tree, Key k) {
        return d.items(tree).stream().filter(i -> i.key().equals(k)).map(DumpTree.Item::value).findFirst().orElse(null);
    }

    @Test
    void filesInNestedDirectoriesAndTheItemsBtrfsWritesForThem() {
        fs.mkdir("a");
        fs.mkdir("a/b");
        fs.createFile("a/b/c");
        fs.writeFile("a/b/c", "hello".getBytes());
        fs.createFile("a/f");
        assertEquals(List.of("a"), fs.list(""));
        assertEquals(List.of("b", "f"), fs.list("a"));
        assertEquals(List.of("c"), fs.list("/a//b/"), "leading, repeated and trailing slashes as path_lookup takes them");
        assertArrayEquals("hello".getBytes(), fs.readFile("a/b/c"));
        assertEquals(5, fs.fileSize("a/b/c"));
        try (FileHandle fh = fs.open("a/b/c")) {
            fh.write("!".getBytes());
        }
        assertEquals(6, fs.fileSize("a/b/c"));

        DumpTree d = dumpAfterUmount();
        long fsTree = ItemType.FS_TREE_OBJECTID;
        InodeItem top = (InodeItem) item(d, fsTree, new Key(256, ItemType.INODE_ITEM, 0));
        assertEquals(2 * "a".length(), top.size(), "the top directory names 'a' twice: DIR_ITEM and DIR_INDEX");
        DirItem a = (DirItem) item(d, fsTree, new Key(256, ItemType.DIR_ITEM, DirItem.nameHash("a")));
        long aIno = a.location().objectid();
        assertEquals(DirItem.FT_DIR, a.type());
        assertEquals(a, item(d, fsTree, new Key(256, ItemType.DIR_INDEX, 2)), "the first index of a directory is 2");
        assertEquals(new InodeRef(2, "a"), item(d, fsTree, new Key(aIno, ItemType.INODE_REF, 256)));
        InodeItem aItem = (InodeItem) item(d, fsTree, new Key(aIno, ItemType.INODE_ITEM, 0));
        assertTrue(aItem.isDir());
        assertEquals(1, aItem.nlink(), "btrfs keeps a directory's nlink at 1 whatever it holds");
        assertEquals(2 * ("b".length() + "f".length()), aItem.size());
        DirItem b = (DirItem) item(d, fsTree, new Key(aIno, ItemType.DIR_ITEM, DirItem.nameHash("b")));
        DirItem c = (DirItem) item(d, fsTree, new Key(b.location().objectid(), ItemType.DIR_ITEM, DirItem.nameHash("c")));
        assertEquals(DirItem.FT_REG_FILE, c.type());
        InodeItem cItem = (InodeItem) item(d, fsTree, new Key(c.location().objectid(), ItemType.INODE_ITEM, 0));
        assertEquals(6, cItem.size());
        assertEquals(1, cItem.nlink());
        assertTrue(Check.check(r.dev).clean(), Check.check(r.dev).text());

        fs = r.mount("");
        assertEquals(List.of("b", "f"), fs.list("a"), "everything is on disk");
        assertArrayEquals("hello!".getBytes(), fs.readFile("a/b/c"));
    }

    @Test
    void rmdirRefusesANonEmptyDirectoryAndEvictsAnEmptyOne() {
        fs.mkdir("d");
        fs.createFile("d/x");
        assertErrno(Errno.ENOTEMPTY, "directory not empty: 'd'", () -> fs.rmdir("d"));
        assertErrno(Errno.ENOTDIR, "not a directory: 'd/x'", () -> fs.rmdir("d/x"));
        assertErrno(Errno.EISDIR, "is a directory: 'd'", () -> fs.unlink("d"));
        assertErrno(Errno.EISDIR, "is a directory", () -> fs.open("d"));
        assertErrno(Errno.ENOTDIR, "not a directory: 'd/x'", () -> fs.createFile("d/x/y"));
        assertErrno(Errno.ENOTDIR, "not a directory", () -> fs.list("d/x"));
        assertErrno(Errno.EEXIST, "file exists: 'd'", () -> fs.mkdir("d"));
        assertErrno(Errno.EEXIST, "file exists: 'd/x'", () -> fs.mkdir("d/x"));
        assertErrno(Errno.EBUSY, "mount's root", () -> fs.rmdir("/"));
        fs.unlink("d/x");
        fs.rmdir("d");
        assertEquals(List.of(), fs.list());
        assertErrno(Errno.ENOENT, "no such file or directory: 'd'", () -> fs.createFile("d/y"));
        assertEquals(0, fs.unlinkedInodesInUse(), "the directory's final iput evicted it (btrfs_evict_inode)");

        DumpTree d = dumpAfterUmount();
        List<DumpTree.Item> items = d.items(ItemType.FS_TREE_OBJECTID);
        assertEquals(List.of(new Key(256, ItemType.INODE_ITEM, 0)), items.stream().map(DumpTree.Item::key)
            .filter(k -> k.type() != ItemType.INODE_REF || k.objectid() != 256).toList(),
            "nothing of 'd' or 'x' is left, no orphan item either: " + d.text(ItemType.FS_TREE_OBJECTID));
        assertEquals(0, ((InodeItem) items.get(0).value()).size(), "an empty directory has i_size 0");
        assertTrue(Check.check(r.dev).clean(), Check.check(r.dev).text());
    }

    @Test
    void subvolumesInDirectoriesAndInSubvolumesCrossedByPaths() {
        long sv = fs.createSubvolume("sv");
        fs.createFile("sv/name"); // the path form the stress runner, tests and examples use
        fs.mkdir("dir");
        long inDir = fs.createSubvolume("dir/inner");
        long nested = fs.createSubvolume("sv/nested");
        fs.mkdir("sv/nested/d");
        fs.createFile("sv/nested/d/f");
        fs.createFile("dir/inner/g");
        assertEquals(List.of("name", "nested"), fs.list("sv"));
        assertEquals(List.of("d"), fs.list("sv/nested"));
        assertEquals(List.of("f"), fs.list("sv/nested/d"));
        assertEquals(List.of("g"), fs.list("dir/inner"));

        assertErrno(Errno.ENOTEMPTY, "has subvolumes of its own", () -> fs.deleteSubvolume("sv"));
        assertErrno(Errno.EINVAL, "not a subvolume: 'dir'", () -> fs.deleteSubvolume("dir"));
        assertErrno(Errno.ENOTEMPTY, "directory not empty: 'dir/inner'", () -> fs.rmdir("dir/inner"));

        DumpTree d = dumpAfterUmount();
        assertEquals(new RootRef(256, 2, "sv"), item(d, ItemType.ROOT_TREE_OBJECTID, new Key(5, ItemType.ROOT_REF, sv)));
        assertEquals(new RootRef(256, 2, "sv"), item(d, ItemType.ROOT_TREE_OBJECTID, new Key(sv, ItemType.ROOT_BACKREF, 5)));
        RootRef inner = (RootRef) item(d, ItemType.ROOT_TREE_OBJECTID, new Key(inDir, ItemType.ROOT_BACKREF, 5));
        assertEquals("inner", inner.name());
        assertFalse(inner.dirid() == 256, "its entry is in directory 'dir', not in the top directory");
        assertNotNull(item(d, ItemType.ROOT_TREE_OBJECTID, new Key(sv, ItemType.ROOT_REF, nested)));
        assertEquals(new InodeRef(0, ".."), item(d, sv, new Key(256, ItemType.INODE_REF, 256)),
            "a subvolume's top directory refers to itself as '..' (btrfs_create_subvol_root)");
        assertTrue(Check.check(r.dev).clean(), Check.check(r.dev).text());

        fs = r.mount("");
        fs.unlink("sv/nested/d/f");
        fs.rmdir("sv/nested/d");
        fs.rmdir("sv/nested"); // btrfs_rmdir of an empty subvolume: btrfs_delete_subvolume
        fs.deleteSubvolume("sv"); // no subvolume below it now
        fs.unlink("dir/inner/g");
        fs.rmdir("dir/inner");
        fs.rmdir("dir");
        assertEquals(List.of(), fs.list());
        fs.runCleanerPass(Repro.WAIT);
        fs.runCleanerPass(Repro.WAIT);
        fs.runCleanerPass(Repro.WAIT);
        d = dumpAfterUmount();
        for (long id : new long[] {sv, inDir, nested}) {
            assertNull(item(d, ItemType.ROOT_TREE_OBJECTID, new Key(id, ItemType.ROOT_ITEM, 0)), "subvolume " + id + " dropped");
            assertNull(item(d, ItemType.ROOT_TREE_OBJECTID, new Key(id, ItemType.ROOT_BACKREF, 5)));
        }
        assertTrue(Check.check(r.dev).clean(), Check.check(r.dev).text());
    }

    @Test
    void badPathsGetTheKernelsErrno() {
        fs.createFile("f");
        assertThrows(IllegalArgumentException.class, () -> fs.createFile(null));
        assertErrno(Errno.ENOENT, "empty path", () -> fs.createFile(""));
        assertErrno(Errno.ENOENT, "empty path", () -> fs.open(""));
        assertErrno(Errno.EISDIR, "mount's root", () -> fs.createFile("/"));
        assertErrno(Errno.EISDIR, "is a directory: 'g/'", () -> fs.createFile("g/"));
        assertErrno(Errno.ENOTDIR, "not a directory: 'f/'", () -> fs.open("f/"));
        assertErrno(Errno.ENAMETOOLONG, "NAME_MAX 255", () -> fs.createFile("x".repeat(256)));
        fs.createFile("x".repeat(255));
        assertErrno(Errno.ENAMETOOLONG, "NAME_MAX 255", () -> fs.createFile("é".repeat(128)), "255 bytes, not characters");
        assertErrno(Errno.ENAMETOOLONG, "PATH_MAX", () -> fs.open("a/".repeat(2048)));
        assertErrno(Errno.EINVAL, "'.' and '..' are not supported", () -> fs.createFile("./f2"));
        assertErrno(Errno.EINVAL, "'.' and '..' are not supported", () -> fs.list(".."));
        assertErrno(Errno.EINVAL, "NUL", () -> fs.createFile("a\0b"));
        assertErrno(Errno.ENOENT, "no such file or directory: 'nodir'", () -> fs.mkdir("nodir/x"));
        assertErrno(Errno.ENOENT, "no such file or directory: 'nosuch'", () -> fs.rmdir("nosuch"));
        assertErrno(Errno.ENOENT, "no such file or directory: 'nosuch'", () -> fs.unlink("nosuch"));
        assertErrno(Errno.ENOENT, "no such file or directory: 'nosv'", () -> fs.deleteSubvolume("nosv"));
        assertErrno(Errno.EEXIST, "file exists: 'f'", () -> fs.createSubvolume("f"));
        assertErrno(Errno.EEXIST, "mount's root", () -> fs.mkdir("/"));
        assertThrows(IllegalArgumentException.class, () -> fs.writeFile("f", null));
        assertEquals(List.of("f", "x".repeat(255)), fs.list(null), "null lists the mount's root");
        fs.umount();
        Btrfs again = r.mount("");
        again.createFile("after");
        again.umount();
    }

    private static void assertErrno(Errno errno, String text, Runnable op, String why) {
        BtrfsException e = assertThrows(BtrfsException.class, op::run, why);
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }
}
