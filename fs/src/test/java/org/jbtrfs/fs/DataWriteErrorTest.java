package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.tools.Check;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug (stop 71, read while porting the {@code bio-write-eio} fault site): a data bio's device write error was
 * thrown at the writer as well as ending the bio — through btrfs_wq_submit_bio the bio then ended twice (its ordered
 * extent's bytes and the inode's pages under writeback counted down twice), inline (fsync) the error left the writeback
 * loop early. In 5.11 btrfs_map_bio's submission does not fail for a device's error: btrfs_end_bio ends the bio with it,
 * end_bio_extent_writepage → end_extent_writepage marks the ordered extent (BTRFS_ORDERED_IOERR, its completion gives
 * the reserved extent back and inserts no file extent) and the mapping (mapping_set_error) — fsync reports it once, as
 * -EIO. Kernel functions read (v5.11): extent_io.c end_bio_extent_writepage, end_extent_writepage; inode.c
 * btrfs_submit_data_bio, btrfs_finish_ordered_io; volumes.c btrfs_map_bio, btrfs_end_bio; file.c btrfs_sync_file.
 * Both fail on the code before: inline the error reached fsync twice (thrown at the writer, then left in the mapping for
 * the next fsync); through the workers the twice-ended bio hung the umount.
 */
class DataWriteErrorTest {
    private static final byte[] DATA = new byte[64 * 1024];

    static {
        Arrays.fill(DATA, (byte) 0x3c);
    }

    /** fsync's own writeback (sync_writers: the checksum inline) meets the error; fsync reports it once. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anFsyncsFailedDataWriteIsItsEioOnce(Crc32cImpl crc) {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().crc32c(crc))) {
            Written w = written(mod);
            FlakeyBlockDevice flakey = w.flakey();
            FileHandle fh = w.fh();
            BtrfsException e = assertThrows(BtrfsException.class, fh::fsync);
            flakey.allowWrites();
            assertEquals(Errno.EIO, e.errno());
            fh.fsync(); // reported once (the mapping's error is taken)
            fh.close();
            w.fs().umount();
            assertTrue(Check.check(flakey, crc).clean(), () -> Check.check(flakey, crc).toString());
            assertTrue(mod.log().contains("errs: wr 1, rd 0, flush 0, corrupt 0, gen 0"), mod.log().dmesg());
        }
    }

    /** sync_file_range's writeback goes through btrfs_wq_submit_bio; the error waits in the mapping for fsync. */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anAsyncDataBiosWriteErrorEndsItOnceAndReachesFsync(Crc32cImpl crc) {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults().crc32c(crc))) {
            Written w = written(mod);
            FlakeyBlockDevice flakey = w.flakey();
            FileHandle fh = w.fh();
            fh.syncFileRange();
            BtrfsException e = assertThrows(BtrfsException.class, fh::fsync);
            flakey.allowWrites();
            assertEquals(Errno.EIO, e.errno());
            fh.pwrite(0, DATA); // the range written again, and this time it lands
            fh.fsync();
            fh.close();
            w.fs().umount();
            assertTrue(Check.check(flakey, crc).clean(), () -> Check.check(flakey, crc).toString());
            Btrfs again = mod.mount(flakey, "");
            assertTrue(Arrays.equals(DATA, again.readFile("f")), "the rewritten range");
            again.umount();
        }
    }

    /** A file written through a handle (its pages dirty, nothing written back) on a dm-flakey disk now failing writes. */
    private static Written written(BtrfsModule mod) {
        FlakeyBlockDevice flakey = mod.createFlakeyDevice("flakey-sdc", mod.createDevice("sdc", 64L << 20));
        mod.mkfs(flakey);
        Btrfs fs = mod.mount(flakey, "");
        fs.createFile("f");
        FileHandle fh = fs.open("f");
        fh.write(DATA);
        flakey.errorWrites();
        return new Written(flakey, fs, fh);
    }

    private record Written(FlakeyBlockDevice flakey, Btrfs fs, FileHandle fh) { }
}
