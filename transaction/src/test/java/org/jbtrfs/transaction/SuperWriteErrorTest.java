package org.jbtrfs.transaction;

import static org.jbtrfs.transaction.TestFs.data;
import static org.jbtrfs.transaction.TestFs.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.disk.SuperBlock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Port bug (stop 71, read while porting the {@code bio-write-eio} fault site): a failed superblock write or barrier
 * reached the committer as the device's raw exception — no btrfs_handle_fs_error, no message, the filesystem left
 * writable with a commit that had failed. 5.11's write_all_supers flushes every device first (barrier_all_devices; a
 * failed flush of a device the chunks use: btrfs_handle_fs_error "errors while submitting device barriers." and -EIO),
 * then writes the superblocks and counts the devices whose write failed (btrfs_end_super_write's "lost page write due to
 * IO error", wait_dev_supers' "error writing primary super block to device N"); more than num_devices - 1 of them is
 * btrfs_handle_fs_error "%d errors while writing supers" and -EIO. btrfs_commit_transaction then goes to scrub_continue
 * and falls through into cleanup_transaction. Kernel functions read (v5.11): disk-io.c write_all_supers,
 * barrier_all_devices, check_barrier_error, write_dev_supers, wait_dev_supers, btrfs_end_super_write; transaction.c
 * btrfs_commit_transaction. Both tests fail on the code before (no "errors while" line, the filesystem not in error).
 */
class SuperWriteErrorTest {
    private TestFs t;

    @AfterEach
    void unload() { t.close(); }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aFailedSuperblockWriteIsAnFsErrorAndFailsTheCommit(Crc32cImpl crc) {
        String dmesg = commitThatFails(crc, true);
        assertTrue(dmesg.contains("error writing primary super block to device 1"), dmesg);
        assertTrue(dmesg.contains("in write_all_supers: errno=-5 EIO (1 errors while writing supers)"), dmesg);
    }

    @ParameterizedTest
    @EnumSource(Crc32cImpl.class)
    void aFailedBarrierIsAnFsErrorAndWritesNoSuperblock(Crc32cImpl crc) {
        String dmesg = commitThatFails(crc, false);
        assertTrue(dmesg.contains("in write_all_supers: errno=-5 EIO (errors while submitting device barriers.)"), dmesg);
    }

    /**
     * A commit whose superblock write ({@code superWrite}) or barrier fails: -EIO, the filesystem in error and read-only,
     * the old superblock on disk, the teardown clean. Returns the kernel log.
     */
    private String commitThatFails(Crc32cImpl crc, boolean superWrite) {
        t = new TestFs(crc);
        Failing dev = new Failing(t.dev);
        FsInfo fs = t.open(dev);
        long gen = t.onDiskGeneration();
        TransHandle h = Transactions.start(fs, fs.fsRoot(), 1, "test_writer");
        Trees.insert(h, fs.fsRoot(), key(1), data(1, "a"));
        dev.failSuper = superWrite;
        dev.failFlush = !superWrite;
        BtrfsException e = assertThrows(BtrfsException.class, () -> Transactions.commit(h));
        dev.failSuper = false;
        dev.failFlush = false;
        assertEquals(Errno.EIO, e.errno());
        assertTrue(fs.fsState.test(FsState.ERROR), "btrfs_handle_fs_error");
        assertTrue(fs.sbRdonly(), "forced readonly");
        assertEquals(gen, t.onDiskGeneration(), "the old superblock stays");
        String dmesg = t.kernel.log().dmesg();
        DiskIo.errorCommitSuper(fs);
        t.closeTail(fs);
        assertEquals(List.of(), t.unload());
        return dmesg;
    }

    /** A disk whose superblock writes, or whose flushes, fail with EIO while asked to. */
    private static final class Failing implements BlockDevice {
        private final BlockDevice backing;
        volatile boolean failSuper;
        volatile boolean failFlush;

        Failing(BlockDevice backing) { this.backing = backing; }

        @Override public String name() { return "sdc"; }
        @Override public long size() { return backing.size(); }
        @Override public IoCounters counters() { return backing.counters(); }
        @Override public void read(long offset, byte[] dst, int dstOff, int len) { backing.read(offset, dst, dstOff, len); }

        @Override public void write(long offset, byte[] src, int srcOff, int len) {
            if (failSuper && offset == SuperBlock.OFFSET) {
                throw new BtrfsException(Errno.EIO, "write error on sdc at " + offset);
            }
            backing.write(offset, src, srcOff, len);
        }

        @Override public void flush() {
            if (failFlush) {
                throw new BtrfsException(Errno.EIO, "flush error on sdc");
            }
            backing.flush();
        }
    }
}
