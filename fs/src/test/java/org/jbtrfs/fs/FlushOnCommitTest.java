package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.kernel.MountOpt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * -o flushoncommit (v5.11 super.c btrfs_parse_options; transaction.c btrfs_start_delalloc_flush,
 * btrfs_wait_delalloc_flush, btrfs_commit_transaction) and {@link FixSwitch#FLUSHONCOMMIT_WRITEBACK_WARN} (later
 * upstream: a0f0cf8341e3, v5.17), both directions.
 *
 * <p>A commit of a filesystem mounted with flushoncommit writes back the dirty inodes before it waits for its writers
 * and waits for their ordered extents: the data written before the commit is in it, a power cut after it keeps the
 * data. Without the option the commit holds the inode item but not its data (disk_i_size moves at the ordered
 * extent's completion): the file is empty after the cut.
 *
 * <p>Kernel or port: the warning is the kernel's. 5.11 calls writeback_inodes_sb, whose __writeback_inodes_sb_nr warns
 * ({@code WARN_ON(!rwsem_is_locked(&sb->s_umount))}, fs-writeback.c:2468) when the bdi has dirty inodes and nobody
 * holds s_umount — a commit of a kworker (START_SYNC), of the transaction kthread, of an fsync. The fix calls
 * try_to_writeback_inodes_sb (s_umount for read if it can, else no writeback). Read: 5.11 transaction.c and
 * fs-writeback.c (__writeback_inodes_sb_nr, writeback_inodes_sb_nr, try_to_writeback_inodes_sb), a0f0cf8341e3.
 */
class FlushOnCommitTest {

    private static final byte[] DATA = data();

    private static byte[] data() {
        byte[] b = new byte[64 * 1024];
        Arrays.fill(b, (byte) 0x5a);
        return b;
    }

    private static KernelConfig config(Crc32cImpl crc, boolean fixed) {
        KernelConfig c = KernelConfig.defaults().crc32c(crc);
        return fixed ? c : c.revert(FixSwitch.FLUSHONCOMMIT_WRITEBACK_WARN);
    }

    /**
     * A file written (its pages dirty, nothing written back), a commit through BTRFS_IOC_START_SYNC and WAIT_SYNC — a
     * kworker's commit, holding no s_umount — then a power cut and a mount: what the commit put on disk.
     */
    private static byte[] afterACommitAndAPowerCut(BtrfsModule mod, String options) {
        FlakeyBlockDevice flakey = mod.createFlakeyDevice("flakey-sdc", mod.createDevice("sdc", 64L << 20));
        mod.mkfs(flakey);
        Btrfs fs = mod.mount(flakey, options);
        fs.createFile("f");
        fs.writeFile("f", DATA);
        fs.waitSync(fs.startSync());
        flakey.dropWrites(); // power cut
        fs.umount();
        flakey.allowWrites();
        Btrfs again = mod.mount(flakey, "");
        byte[] read = again.readFile("f");
        again.umount();
        return read;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAKworkersCommitWarnsInWritebackInodesSb(Crc32cImpl crc) {
        try (BtrfsModule mod = BtrfsModule.load(config(crc, false))) {
            assertArrayEquals(DATA, afterACommitAndAPowerCut(mod, "flushoncommit"), "the commit wrote the data");
            assertTrue(mod.log().contains("fs/fs-writeback.c:2468 __writeback_inodes_sb_nr"), mod.log().dmesg());
            assertTrue(mod.log().tainted());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheCommitTakesSUmountAndWritesTheDataWithoutAWarning(Crc32cImpl crc) {
        try (BtrfsModule mod = BtrfsModule.load(config(crc, true))) {
            assertArrayEquals(DATA, afterACommitAndAPowerCut(mod, "flushoncommit"), "the commit wrote the data");
            assertFalse(mod.log().contains("__writeback_inodes_sb_nr"), mod.log().dmesg());
            assertTrue(mod.unload().clean());
            assertFalse(mod.log().tainted(), mod.log().dmesg());
        }
    }

    /** Without the option the same commit has the inode but not its data: an empty file after the cut; no warning. */
    @ParameterizedTest(name = "fixed {0}")
    @ValueSource(booleans = {false, true})
    void withoutTheOptionTheCommitLeavesTheDataOut(boolean fixed) {
        try (BtrfsModule mod = BtrfsModule.load(config(Crc32cImpl.GENERIC, fixed))) {
            assertEquals(0, afterACommitAndAPowerCut(mod, "").length);
            assertFalse(mod.log().tainted(), mod.log().dmesg());
        }
    }

    /**
     * The option's messages (btrfs_set_and_info / btrfs_clear_and_info: only when the bit changes), a sync (s_umount
     * held for read: no warning either way) and an umount (close_ctree's commits under s_umount held for write).
     */
    @ParameterizedTest(name = "fixed {0}")
    @ValueSource(booleans = {false, true})
    void theOptionTurnsOnAndOffAndSyncsAndUmountsDoNotWarn(boolean fixed) {
        try (BtrfsModule mod = BtrfsModule.load(config(Crc32cImpl.GENERIC, fixed))) {
            var sdc = mod.createDevice("sdc", 64L << 20);
            mod.mkfs(sdc);
            Btrfs fs = mod.mount(sdc, "flushoncommit");
            assertTrue(mod.log().contains("BTRFS info (device sdc): turning on flush-on-commit"), mod.log().dmesg());
            assertTrue(fs.fsInfo().mountOpt.test(MountOpt.FLUSHONCOMMIT));
            fs.createFile("a");
            fs.writeFile("a", DATA);
            fs.sync();
            fs.remount("flushoncommit,commit=5");
            assertEquals(1, mod.log().matching(e -> e.message().contains("turning on flush-on-commit")).size());
            fs.remount("noflushoncommit");
            assertTrue(mod.log().contains("turning off flush-on-commit"));
            assertFalse(fs.fsInfo().mountOpt.test(MountOpt.FLUSHONCOMMIT));
            fs.remount("flushoncommit");
            fs.writeFile("a", DATA);
            fs.umount();
            assertTrue(mod.unload().clean());
            assertFalse(mod.log().tainted(), mod.log().dmesg());
        }
    }
}
