package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.Transactions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#THAW_FORCED_READONLY} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 and mainline. Found by the explorer with the commit probe (stop 71, class
 * {@code 760222ad}, seed 71009, every fix applied: a quota enable, a quota disable and a balance resume hung in
 * sb_start_write after fsfreeze -u; an injected -ENOSPC had aborted a transaction while the filesystem was frozen;
 * replay 0/3 — the abort must land inside the freeze).
 * <ol>
 *   <li>fsfreeze -f of a read-write filesystem: freeze_super takes SB_FREEZE_WRITE, _PAGEFAULT and _FS.</li>
 *   <li>While frozen, a transaction that does not wait for the freeze (the transaction kthread's
 *       btrfs_attach_transaction) aborts: __btrfs_handle_fs_error sets SB_RDONLY.</li>
 *   <li>fsfreeze -u: thaw_super_locked finds sb_rdonly() and only marks the superblock SB_UNFROZEN — the branch for a
 *       superblock frozen read-only, which took no level — so sb_freeze_unlock never runs.</li>
 *   <li>Every sb_start_write from now on waits for levels nobody will release: a write to the read-only filesystem
 *       that would fail -EROFS hangs instead, as do the ioctls that take write access and the umount's writers.</li>
 * </ol>
 * Read: fs/super.c freeze_super, thaw_super_locked, sb_freeze_unlock (v5.11; mainline tests sb_rdonly() at the thaw
 * too); fs/btrfs/super.c __btrfs_handle_fs_error; transaction.c transaction_kthread. The abort is forced here with
 * btrfs_handle_fs_error, as the transaction kthread's commit would call it.
 */
class ThawForcedReadonlyTest {

    /** A frozen filesystem an abort forces read-only, thawed; then a writer. */
    private static TestThread<Void> writerAfterAThawOfAForcedReadOnlyFreeze(Repro r, Btrfs fs) {
        fs.createFile("a");
        fs.freeze();
        Transactions.handleFsError(fs.fsInfo(), "test_abort_while_frozen", Errno.EIO);
        fs.thaw();
        assertFalse(fs.isFrozen(), "marked unfrozen either way");
        return TestThread.run("writer", () -> fs.createFile("b"));
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAWriterAfterTheThawWaitsForeverOnSbWriters(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.THAW_FORCED_READONLY)) {
            Btrfs fs = r.mountSettled("");
            TestThread<Void> writer = writerAfterAThawOfAForcedReadOnlyFreeze(r, fs);
            Waits.within().until(() -> String.valueOf(r.sleepingOn("writer")).contains("sb_writers.write"));
            r.mod.kernel().panic("test: the writer hangs on the levels the thaw kept");
            assertInstanceOf(KernelPanic.class, writer.failure());
            r.mod.hooks().reset();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheThawReleasesTheLevelsAndAWriterMeetsEROFS(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            TestThread<Void> writer = writerAfterAThawOfAForcedReadOnlyFreeze(r, fs);
            BtrfsException e = assertInstanceOf(BtrfsException.class, writer.failure());
            assertEquals(Errno.EROFS, e.errno());
            assertFalse(fs.fsInfo().sbWriters.unbalanced(), "only what the freeze took was released");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
