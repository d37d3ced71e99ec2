package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * open(2)'s access mode as the VFS has it (fs/open.c do_dentry_open, fs/file_table.c __fput, fs/namespace.c
 * sb_prepare_remount_readonly, 5.11): a descriptor opened for writing holds the mount's write access for its
 * whole life (FMODE_WRITER), so an RO remount is EBUSY while it is open and it cannot be opened on a read-only
 * mount; a read-only descriptor can be kept across any remount; write(2) on it is EBADF; fsync and sync_file_range
 * take no write access.
 *
 * <p>A port simplification, replaced in stop 25: the handles had no mode — every one was read-write, opened on
 * read-only mounts too, and never made an RO remount busy, so the explorer's lanes kept the VFS's rule themselves
 * (a lock of their own around their writes). The first two cases fail on the old code (the remount succeeds under
 * the open file; there was no read-only mode).
 */
class OpenModeTest {

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void anRoRemountIsBusyWhileAFileIsOpenForWriting(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            for (OpenMode mode : new OpenMode[] {OpenMode.WRITE_ONLY, OpenMode.READ_WRITE}) {
                FileHandle h = fs.open("f", mode);
                BtrfsException e = assertThrows(BtrfsException.class, () -> fs.remount("ro"));
                assertEquals(Errno.EBUSY, e.errno(), e.getMessage());
                assertTrue(e.getMessage().contains("1 files open for writing"), e.getMessage());
                assertFalse(fs.isReadOnly(), "refused before anything changed");
                h.write(new byte[] {7}); // still writable: nothing was set
                h.close();
            }
            fs.remount("ro"); // the last writer closed
            assertTrue(fs.isReadOnly());
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aReadOnlyHandleIsKeptAcrossRemountsAndSyncsWithoutWriteAccess(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            fs.writeFile("f", new byte[] {1, 2, 3});
            FileHandle h = fs.open("f", OpenMode.READ_ONLY);
            assertEquals(OpenMode.READ_ONLY, h.mode());
            h.syncFileRange(); // the dirty page's writeback, through a read-only descriptor
            h.fsync();
            fs.remount("ro");
            h.fsync(); // nothing to write, nothing to commit
            h.syncFileRange();
            BtrfsException w = assertThrows(BtrfsException.class, () -> h.write(new byte[] {4}));
            assertEquals(Errno.EBADF, w.errno(), w.getMessage());
            BtrfsException cw = assertThrows(BtrfsException.class, h::closeFromWorker);
            assertEquals(Errno.EBADF, cw.errno(), "it writes: " + cw.getMessage());
            assertFalse(h.isClosed(), "refused, still open");
            fs.remount("rw");
            h.close();
            assertArrayEquals(new byte[] {1, 2, 3}, fs.readFile("f"));
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }

    @Test
    void aNullModeIsIllegalAndOpensNothing() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fs.open("f", null));
            assertTrue(e.getMessage().contains("mode"), e.getMessage());
            fs.remount("ro"); // no writer was counted
            fs.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
