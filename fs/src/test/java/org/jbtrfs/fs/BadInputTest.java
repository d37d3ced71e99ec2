package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.disk.SuperBlock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input gets a documented exception with the kernel's errno and message, loses nothing, and leaves the
 * module usable: nothing keeps running after a failed mount, and a good mount works right after.
 */
class BadInputTest {
    private Repro r;

    @BeforeEach
    void load() { r = new Repro(Crc32cImpl.GENERIC); }

    @AfterEach
    void unload() {
        r.closeCheckingNoKthreadSurvives();
    }

    private void assertStillUsable() {
        Btrfs fs = r.mount("");
        fs.createFile("after");
        fs.umount();
    }

    private static void assertErrno(Errno errno, String text, BtrfsException e) {
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(text), e.getMessage());
    }

    @Test
    void unknownMountOption() {
        assertErrno(Errno.EINVAL, "unrecognized mount option 'nosuchopt'", assertThrows(BtrfsException.class, () -> r.mount("ro,nosuchopt")));
        assertTrue(r.logged("BTRFS error (device sdc): unrecognized mount option 'nosuchopt'"));
        assertStillUsable();
    }

    @Test
    void badCommitInterval() {
        assertErrno(Errno.EINVAL, "unrecognized commit_interval value 'abc'", assertThrows(BtrfsException.class, () -> r.mount("commit=abc")));
        Btrfs fs = r.mount("commit=0");
        assertEquals(30, fs.fsInfo().commitInterval());
        assertTrue(r.logged("using default commit interval 30s"));
        fs.remount("commit=400");
        assertTrue(r.logged("excessive commit interval 400"));
        assertEquals(400, fs.fsInfo().commitInterval());
        BtrfsException e = assertThrows(BtrfsException.class, () -> fs.remount("commit=-1"));
        assertErrno(Errno.EINVAL, "commit_interval", e);
        assertEquals(400, fs.fsInfo().commitInterval(), "a failed remount restores the options");
        assertTrue(!fs.inspect().state().contains(FsState.REMOUNTING), "REMOUNTING is cleared on the error path");
        fs.umount();
    }

    /**
     * btrfs_parse_options' compression cases: an unknown type is EINVAL (the kernel prints nothing); "compress" is zlib,
     * a change is logged, compress=no clears it, and a remount that fails restores mount_opt and compress_type.
     */
    @Test
    void compressionOptions() {
        assertErrno(Errno.EINVAL, "unrecognized compression value 'lz4'", assertThrows(BtrfsException.class, () -> r.mount("compress=lz4")));
        assertStillUsable();
        Btrfs fs = r.mount("compress");
        assertTrue(fs.fsInfo().mountOpt.test(org.jbtrfs.core.kernel.MountOpt.COMPRESS));
        assertEquals("zlib", fs.fsInfo().compressType());
        assertTrue(r.logged("use zlib compression, level 3"));
        fs.remount("compress-force=zstd:5");
        assertTrue(r.logged("force zstd compression, level 5"));
        BtrfsException e = assertThrows(BtrfsException.class, () -> fs.remount("compress=lzo,commit=-1"));
        assertErrno(Errno.EINVAL, "commit_interval", e);
        assertEquals("zstd", fs.fsInfo().compressType(), "a failed remount restores compress_type");
        assertTrue(fs.fsInfo().mountOpt.test(org.jbtrfs.core.kernel.MountOpt.FORCE_COMPRESS), "and mount_opt");
        fs.remount("compress=no");
        assertTrue(r.logged("use no compression"));
        assertFalse(fs.fsInfo().mountOpt.test(org.jbtrfs.core.kernel.MountOpt.COMPRESS));
        fs.umount();
    }

    @Test
    void notABtrfsDevice() {
        BlockDevice blank = r.mod.createDevice("sdd", 64L << 20);
        assertErrno(Errno.EINVAL, "no valid btrfs found on sdd", assertThrows(BtrfsException.class, () -> r.mod.mount(blank, "")));
        assertStillUsable();
    }

    @Test
    void corruptTreeBlockFailsTheMountNamingTheBytenr() {
        long rootBytenr;
        byte[] sb = new byte[SuperBlock.SIZE];
        r.dev.read(SuperBlock.OFFSET, sb, 0, sb.length);
        rootBytenr = org.jbtrfs.core.disk.Le.u64(sb, 0x50);
        byte[] one = new byte[1];
        r.dev.read(rootBytenr + 200, one, 0, 1);
        one[0] ^= 0x5a;
        r.dev.write(rootBytenr + 200, one, 0, 1);
        BtrfsException e = assertThrows(BtrfsException.class, () -> r.mount(""));
        assertErrno(Errno.EIO, Long.toString(rootBytenr), e); // 5.11: read_tree_block fails -EIO, open_ctree with it
        assertTrue(r.logged("checksum verify failed on " + rootBytenr));
        assertTrue(r.mod.mounts().isEmpty());
        one[0] ^= 0x5a;
        r.dev.write(rootBytenr + 200, one, 0, 1);
        assertStillUsable();
    }

    @Test
    void writesOnReadOnlyMountAreEROFS() {
        Btrfs fs = r.mount("");
        fs.createFile("a");
        fs.remount("ro");
        assertErrno(Errno.EROFS, "Read-only file system", assertThrows(BtrfsException.class, () -> fs.createFile("b")));
        assertErrno(Errno.EROFS, "Read-only file system", assertThrows(BtrfsException.class, () -> fs.unlink("a")));
        assertErrno(Errno.EROFS, "Read-only file system", assertThrows(BtrfsException.class, () -> fs.createSubvolume("s")));
        // open(2) O_RDWR is EROFS (the lookup first: a missing file is ENOENT); O_RDONLY is fine
        assertErrno(Errno.EROFS, "Read-only file system", assertThrows(BtrfsException.class, () -> fs.open("a")));
        assertErrno(Errno.ENOENT, "", assertThrows(BtrfsException.class, () -> fs.open("nope", OpenMode.WRITE_ONLY)));
        fs.open("a", OpenMode.READ_ONLY).close();
        fs.remount("rw");
        fs.createFile("b");
        fs.umount();
    }

    @Test
    void operationsOnAnUnmountedFilesystemAndDoubleUmountAreEINVAL() {
        Btrfs fs = r.mount("");
        fs.umount();
        assertErrno(Errno.EINVAL, "sdc is not mounted", assertThrows(BtrfsException.class, fs::umount));
        assertErrno(Errno.EINVAL, "not mounted", assertThrows(BtrfsException.class, () -> fs.createFile("x")));
        assertErrno(Errno.EINVAL, "not mounted", assertThrows(BtrfsException.class, () -> fs.remount("ro")));
        assertStillUsable();
    }

    @Test
    void busyCases() {
        Btrfs fs = r.mount("");
        fs.createFile("a");
        FileHandle fh = fs.open("a");
        assertErrno(Errno.EBUSY, "target is busy", assertThrows(BtrfsException.class, fs::umount));
        assertErrno(Errno.EBUSY, "in use", assertThrows(BtrfsException.class, r.mod::unload));
        fh.close();
        assertErrno(Errno.EBADF, "already closed", assertThrows(BtrfsException.class, fh::close));
        fs.umount();
    }

    @Test
    void missingPathsAndExistingNames() {
        Btrfs fs = r.mount("");
        assertErrno(Errno.ENOENT, "no such file", assertThrows(BtrfsException.class, () -> fs.open("nope")));
        assertErrno(Errno.ENOENT, "no such file or directory: 'nosv'", assertThrows(BtrfsException.class, () -> fs.open("nosv/f")));
        fs.createFile("a");
        assertErrno(Errno.EEXIST, "exists", assertThrows(BtrfsException.class, () -> fs.createFile("a")));
        fs.umount();
    }

    @Test
    void remountReadWriteAfterAnErrorIsRefused() {
        Btrfs fs = r.mount("");
        fs.createFile("a");
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
        assertThrows(BtrfsException.class, fs::sync);
        assertTrue(fs.isReadOnly(), "forced readonly");
        assertTrue(r.logged("forced readonly"));
        assertErrno(Errno.EINVAL, "Remounting read-write after error is not allowed",
            assertThrows(BtrfsException.class, () -> fs.remount("rw")));
        assertTrue(fs.isReadOnly());
        fs.umount(); // btrfs_error_commit_super tears the aborted transaction down
        assertTrue(r.mod.mounts().isEmpty());
    }
}
