package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mount options subvol= and subvolid= (btrfs_parse_subvol_options, mount_subvol,
 * btrfs_get_subvol_name_from_objectid in fs/btrfs/super.c): the mounted tree is that subvolume, paths are
 * relative to it, and every bad value gets the kernel's errno and message — and leaves nothing running.
 */
class SubvolMountTest {
    private Repro r;
    private long sv;
    private long deep;

    /** Top level: sv (with file "in-sv"), dir/deep (a subvolume in a directory), plain directory dir, file f. */
    @BeforeEach
    void layout() {
        r = new Repro(Crc32cImpl.GENERIC);
        Btrfs fs = r.mount("");
        sv = fs.createSubvolume("sv");
        fs.createFile("sv/in-sv");
        fs.mkdir("dir");
        deep = fs.createSubvolume("dir/deep");
        fs.createFile("dir/deep/in-deep");
        fs.createFile("f");
        fs.umount();
    }

    @AfterEach
    void close() {
        try {
            assertTrue(!r.mod.mounts().isEmpty() || Repro.noKthreadRuns(r.mod), "nothing of a failed mount runs");
        } finally {
            r.close(); // even when the check fails: no module outlives its test
        }
    }

    private void assertErrno(Errno errno, String text, String options) {
        List<Btrfs> before = r.mod.mounts();
        Repro.awaitUuidKthreadsGone(r.mod);
        int threads = r.mod.kernel().kthreadd().busy().size();
        BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount(options), options);
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
        assertEquals(before, r.mod.mounts(), "no mount is left by '" + options + "'");
        Repro.awaitUuidKthreadsGone(r.mod);
        assertEquals(threads, r.mod.kernel().kthreadd().busy().size(), "no kthread of the failed mount runs: " + options);
    }

    @Test
    void subvolAndSubvolidMountThatSubvolumeWithPathsRelativeToIt() {
        Btrfs byPath = r.mount("subvol=sv");
        assertEquals(sv, byPath.subvolumeId());
        assertEquals(List.of("in-sv"), byPath.list());
        byPath.createFile("made-through-the-subvol-mount");
        byPath.umount();

        Btrfs byId = r.mount("subvolid=" + deep);
        assertEquals(deep, byId.subvolumeId());
        assertEquals(List.of("in-deep"), byId.list(), "found through ROOT_BACKREF and the INODE_REF of 'dir'");
        byId.umount();

        Btrfs both = r.mount("subvol=/dir/deep,subvolid=" + deep);
        assertEquals(deep, both.subvolumeId());
        both.umount();

        Btrfs hex = r.mount("subvolid=0x" + Long.toHexString(sv));
        assertEquals(sv, hex.subvolumeId(), "match_u64: base 0");
        hex.umount();

        Btrfs top = r.mount("subvolid=0");
        assertEquals(5, top.subvolumeId(), "subvolid=0: 'we want the original fs_tree'");
        assertEquals(List.of("dir", "f", "sv"), top.list());
        assertEquals(List.of("in-sv", "made-through-the-subvol-mount"), top.list("sv"));
        top.umount();

        Btrfs last = r.mount("subvol=dir,subvol=sv");
        assertEquals(sv, last.subvolumeId(), "the last subvol= wins");
        last.umount();
    }

    @Test
    void badSubvolOptionsAreTheKernelsErrors() {
        assertErrno(Errno.ENOENT, "no such file or directory: 'nosuch'", "subvol=nosuch");
        assertErrno(Errno.ENOTDIR, "not a directory", "subvol=f/x");
        assertErrno(Errno.EINVAL, "'dir' is not a valid subvolume", "subvol=dir");
        assertTrue(r.logged("BTRFS error (device sdc): 'dir' is not a valid subvolume"));
        assertErrno(Errno.EINVAL, "'f' is not a valid subvolume", "subvol=f");
        assertErrno(Errno.EINVAL, "subvol 'sv' does not match subvolid " + deep, "subvol=sv,subvolid=" + deep);
        assertTrue(r.logged("subvol 'sv' does not match subvolid " + deep));
        assertErrno(Errno.ENOENT, "no subvolume with id 9999", "subvolid=9999");
        assertErrno(Errno.ENOENT, "no subvolume with id 2", "subvolid=2"); // the extent tree: no ROOT_BACKREF
        assertErrno(Errno.EINVAL, "invalid subvolid value 'abc'", "subvolid=abc");
        assertErrno(Errno.EINVAL, "invalid subvolid value '-1'", "subvolid=-1");
        assertErrno(Errno.ERANGE, "out of range", "subvolid=18446744073709551616");
        assertErrno(Errno.EINVAL, "unrecognized mount option 'subvol='", "subvol=");
        assertErrno(Errno.EINVAL, "unrecognized mount option 'subvolid='", "subvolid=");
        assertErrno(Errno.ENAMETOOLONG, "NAME_MAX", "subvol=" + "s".repeat(256));
        // the module is still usable
        Btrfs fs = r.mount("subvol=sv");
        fs.umount();
    }

    @Test
    void aDeletedSubvolumeIsNoLongerMountableById() {
        Btrfs fs = r.mount("");
        fs.unlink("sv/in-sv");
        fs.deleteSubvolume("sv");
        assertErrno(Errno.ENOENT, "no such file or directory: 'sv'", "subvol=sv");
        assertErrno(Errno.ENOENT, "no subvolume with id " + sv, "subvolid=" + sv);
        assertTrue(r.mod.mounts().contains(fs));
        fs.umount();
    }

    @Test
    void aSubvolumeMountedElsewhereCanBeDeletedAndItsTreeStaysUntilThatMountGoes() {
        Btrfs top = r.mountSettled("");
        Btrfs sub = r.mount("subvol=sv");
        top.deleteSubvolume("sv");
        // its root directory is S_DEAD: lookups, readdir and creates in it are ENOENT (IS_DEADDIR)
        for (Runnable op : List.<Runnable>of(sub::list, () -> sub.createFile("new"), () -> sub.readFile("in-sv"))) {
            BtrfsException e = assertThrows(BtrfsException.class, op::run);
            assertEquals(Errno.ENOENT, e.errno(), e.getMessage());
        }
        top.runCleanerPass(Repro.WAIT);
        assertTrue(top.inspect().rootItems().containsKey(sv), "not dropped while a mount holds its root inode");
        sub.umount();
        assertEquals(List.of(sv), top.inspect().deadRoots(), "its last inode went: inode_tree_del queued it");
        top.runCleanerPass(Repro.WAIT);
        assertFalse(top.inspect().rootItems().containsKey(sv), "dropped");
        top.umount();
    }
}
