package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * FIFREEZE / FITHAW (fs/super.c freeze_super, thaw_super; fs/btrfs/super.c btrfs_freeze, btrfs_unfreeze; 5.11): what
 * a frozen btrfs blocks and refuses, and the kernel bug found while porting it.
 *
 * <p>{@link #aReadOnlyFrozenSuperblockMountedReadWriteThenThawed}: decision <b>kernel bug</b>, kept bug-for-bug;
 * proposed fix {@link FixSwitch#MOUNT_RW_FROZEN}. Read (v5.11; v5.12 and mainline alike): fs/super.c freeze_super (a
 * read-only superblock: SB_FREEZE_COMPLETE and return — no sb_wait_write, no level taken), thaw_super_locked (tests
 * sb_rdonly() at thaw time: read-write now, it calls ->unfreeze_fs and sb_freeze_unlock, percpu_up_write of every
 * level), reconfigure_super ("if (sb->s_writers.frozen != SB_UNFROZEN) return -EBUSY"); fs/btrfs/super.c btrfs_mount
 * (5.11: vfs_kern_mount is EBUSY for an RW mount of an RO superblock, so it mounts it RO and calls btrfs_remount itself
 * under s_umount — not reconfigure_super; mainline's btrfs_reconfigure_for_mount calls btrfs_reconfigure the same way);
 * kernel/locking/percpu-rwsem.c percpu_up_write and kernel/rcu/sync.c rcu_sync_exit (WARN_ON_ONCE on GP_IDLE and on
 * gp_count == 0, then gp_count goes negative, and rcu_sync_enter of the next down_write skips the grace period that
 * sends readers to the slow path).
 * <ol>
 *   <li>mount -o ro; fsfreeze -f: the read-only superblock is frozen at once;</li>
 *   <li>a second mount of the device, read-write: btrfs_mount remounts the superblock read-write. Applied: EBUSY, it
 *       stays read-only and frozen;</li>
 *   <li>fsfreeze -u: reverted, the superblock is read-write now, so the thaw releases the three freeze levels it never
 *       took: rcu_sync_exit warns and underflows;</li>
 *   <li>reverted: the next fsfreeze -f keeps no writer out — a write completes on the frozen filesystem.</li>
 * </ol>
 */
class FreezeTest {

    @Test
    void aFrozenFilesystemBlocksWritesUntilThawedAndRefusesRemounts() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a");
            fs.freeze();
            assertTrue(fs.isFrozen());
            assertEquals(Errno.EBUSY, assertThrows(BtrfsException.class, fs::freeze).errno());
            assertEquals(Errno.EBUSY, assertThrows(BtrfsException.class, () -> fs.remount("ro")).errno());
            assertTrue(fs.inspect().openTransactions().isEmpty(), "btrfs_freeze committed the running transaction");
            long generation = fs.inspect().generation();
            TestThread<Void> writer = TestThread.run("writer", () -> fs.createFile("b"));
            Waits.within().until(() -> String.valueOf(r.sleepingOn("writer")).contains("sb_writers.write"));
            assertEquals(generation, fs.inspect().generation(), "nothing written while frozen");
            fs.thaw();
            writer.join();
            assertFalse(fs.isFrozen());
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::thaw).errno());
            fs.remount("ro");
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * The kthreads meet a freeze at their next freezable transaction: the cleaner, woken to drop a deleted subvolume,
     * blocks in btrfs_drop_snapshot's btrfs_start_transaction (sb_start_intwrite, SB_FREEZE_FS held by the freeze) and
     * finishes the drop after the thaw.
     */
    @Test
    void theCleanerBlocksAtItsTransactionWhileFrozen() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("sv");
            fs.deleteSubvolume("sv");
            fs.freeze();
            long generation = fs.inspect().generation();
            assertTrue(fs.wakeCleaner());
            Waits.within().until(() -> String.valueOf(r.sleepingOn("btrfs-cleaner")).contains("sb_writers.fs"));
            assertEquals(generation, fs.inspect().generation(), "nothing written while frozen");
            fs.thaw();
            fs.subvolumeSync(Repro.WAIT);
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A write blocked by the freeze is a syscall in flight through its mount: umount is EBUSY ("target is busy", as the
     * kernel's do_umount answers for a mount a syscall holds), not a wait — the port otherwise waits for in-flight
     * syscalls, and this one would wait for a thaw queued behind the umount. Port behaviour (a deadlock otherwise).
     */
    @Test
    void anUmountWithAWriteBlockedByTheFreezeIsBusy() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.freeze();
            TestThread<Void> writer = TestThread.run("writer", () -> fs.createFile("b"));
            Waits.within().until(() -> String.valueOf(r.sleepingOn("writer")).contains("sb_writers.write"));
            assertEquals(Errno.EBUSY, assertThrows(BtrfsException.class, fs::umount).errno());
            fs.thaw();
            writer.join();
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void anUmountWhileFrozenLeavesTheSuperblockToTheThaw() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs first = r.mountSettled("");
            Btrfs second = r.mount("");
            first.freeze();
            first.umount(); // detached; the freeze and the second mount hold the superblock
            second.umount(); // only the freeze holds it now: nothing closed yet
            assertThrows(BtrfsException.class, second::thaw);
            // the frozen superblock is still there: the device is in use
            assertEquals(Errno.EBUSY, assertThrows(BtrfsException.class, () -> r.mod.mkfs(r.dev)).errno());
            Btrfs third = r.mount(""); // sget finds the frozen superblock
            assertTrue(third.isFrozen());
            third.thaw();
            third.umount(); // the last reference: close_ctree here
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A commit of the freeze fails (an injected EIO in sync_filesystem's commit, whose error 5.11 ignores: the
     * transaction aborts, the filesystem goes read-only), so btrfs_freeze's attach answers EROFS: freeze_super logs "VFS:Filesystem freeze failed", releases the levels it took and drops its reference — the
     * freeze returns the error, nothing stays frozen, a write is EROFS at once instead of blocking. Seed 91091 met
     * this with --faults all; the classifier counts that line as the injected fault's report.
     */
    @Test
    void aFreezeWhoseCommitFailsLeavesNothingFrozen() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("a"); // a running transaction for btrfs_freeze to commit
            r.mod.faults().armOnce(org.jbtrfs.core.Fault.COMMIT_TRANSACTION_EIO);
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, fs::freeze).errno());
            assertTrue(r.logged("VFS:Filesystem freeze failed"), r.mod.log().dmesg());
            assertFalse(fs.isFrozen());
            assertFalse(fs.fsInfo().sbWriters.unbalanced());
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, () -> fs.createFile("b")).errno());
            fs.umount();
        }
    }

    @ParameterizedTest(name = "proposed fix applied={0}, crc32c {1}")
    @CsvSource({"true,GENERIC", "false,GENERIC", "true,ACCELERATED", "false,ACCELERATED"})
    void aReadOnlyFrozenSuperblockMountedReadWriteThenThawed(boolean applied, Crc32cImpl crc) {
        FixSwitch[] reverted = applied ? new FixSwitch[0] : new FixSwitch[] {FixSwitch.MOUNT_RW_FROZEN};
        try (Repro r = new Repro(crc, reverted)) {
            Btrfs ro = r.mountSettled("ro");
            ro.freeze(); // 1.
            assertTrue(ro.isFrozen());
            if (applied) {
                // 2. refused as reconfigure_super refuses a remount
                assertEquals(Errno.EBUSY, assertThrows(BtrfsException.class, () -> r.mount("")).errno());
                assertTrue(ro.inspect().sbRdonly());
                ro.thaw(); // 3.
                assertEquals(0, r.count(org.jbtrfs.core.LogEntry.Kind.WARNING), r.mod.log().dmesg());
                Btrfs rw = r.mount(""); // unfrozen now: remounted read-write as before
                rw.createFile("f");
                rw.freeze(); // 4. a freeze still keeps writers out
                TestThread<Void> writer = TestThread.run("writer", () -> rw.createFile("g"));
                Waits.within().until(() -> String.valueOf(r.sleepingOn("writer")).contains("sb_writers.write"));
                rw.thaw();
                writer.join();
                rw.umount();
                ro.umount();
                assertTrue(r.mod.unload().clean());
                assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
            } else {
                Btrfs rw = r.mount(""); // 2. btrfs_remount, past reconfigure_super's test
                assertFalse(rw.inspect().sbRdonly());
                assertTrue(rw.isFrozen(), "read-write and still frozen");
                rw.createFile("f"); // no level was taken: writes go on
                rw.thaw(); // 3.
                assertTrue(r.logged("at kernel/rcu/sync.c:154 rcu_sync_exit"), r.mod.log().dmesg());
                assertTrue(r.logged("at kernel/rcu/sync.c:155 rcu_sync_exit"), r.mod.log().dmesg());
                assertTrue(rw.fsInfo().sbWriters.unbalanced());
                rw.freeze(); // 4. frozen, but writers are no longer kept out
                long generation = rw.inspect().generation();
                rw.createFile("g");
                assertTrue(rw.isFrozen());
                assertTrue(rw.inspect().openTransactions().size() == 1, "a transaction on a frozen filesystem");
                assertEquals(generation, rw.inspect().generation());
                rw.thaw();
                rw.umount();
                ro.umount();
                assertTrue(r.mod.log().tainted(), "the warnings taint the kernel");
            }
        }
    }

    /**
     * A port bug (stop 35, an audit of the port's waits, not a kernel behaviour): the port's umount waits for the
     * syscalls in flight through its mount where the kernel's is EBUSY at once. An fsync through mount A past its test
     * of the last commit, A's umount waiting for it, a freeze through mount B (the fsync takes no freeze level before
     * its transaction: the freeze completes), and the fsync's transaction then waits for the thaw — which, through A,
     * queued behind the waiting umount: three tasks waiting for each other for ever. The thaw now takes its mount ahead
     * of a waiting umount ({@code Btrfs.readAheadOfUmount}); the kernel never gets here (do_umount's
     * propagate_mount_busy: EBUSY while the fsync holds the mount). Fails without it (checked: the thaw hangs).
     */
    @Test
    void aThawGoesAheadOfAnUmountWaitingForASyscallTheFreezeBlocks() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs a = r.mountSettled("");
            Btrfs b = r.mount("");
            a.createFile("f");
            a.writeFile("f", new byte[] {1, 2, 3});
            FileHandle h = a.open("f", OpenMode.READ_ONLY);
            r.mod.hooks().parkAt(Hook.FSYNC_BEFORE_START_TRANSACTION, Role.USER);
            TestThread<Void> fsync = TestThread.run("fsync", h::fsync);
            r.mod.hooks().awaitParked(Hook.FSYNC_BEFORE_START_TRANSACTION, Repro.WAIT);
            TestThread<Void> umount;
            try {
                umount = TestThread.run("umount-a", a::umount);
                umount.awaitBlockedIn("Btrfs", "umount");
                b.freeze();
            } finally {
                r.mod.hooks().release(Hook.FSYNC_BEFORE_START_TRANSACTION);
            }
            fsync.awaitBlockedIn("PercpuRwSemaphore", "downRead"); // sb_start_intwrite: frozen
            TestThread.run("thaw-a", a::thaw).join(Repro.WAIT);
            fsync.join();
            assertEquals(Errno.EBUSY, ((BtrfsException) umount.failure()).errno(), "the handle is still open through A");
            h.close();
            a.umount();
            b.umount();
            assertTrue(r.mod.unload().clean(), r.mod.log().dmesg());
        }
    }
}
