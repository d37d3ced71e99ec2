package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.tools.Blkid;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_SCRATCH_BEFORE_COMMIT} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Found by the explorer's replace lane with every other fix
 * applied (stop 65: {@code fsck:SUPERBLOCK} — neither disk of the filesystem had a superblock of devid 1 after an
 * injected commit EIO during a replace — and {@code mount:EIO at DevReplace.initDevReplace} — "tgtdev is missing"
 * after a power cut). btrfs_dev_replace_finishing writes the devices' superblocks outside the transactions that make
 * the writes safe:
 * <ol>
 *   <li>its first btrfs_commit_transaction failing (an I/O error aborted it) is only WARN_ON(ret): the procedure goes
 *       on, swaps the devices, scratches the old device's superblocks (btrfs_scratch_superblocks, straight to the
 *       disk), and its last commit — "write back the superblocks", the one that would give the target devid 1 —
 *       fails too. On disk: the old device without a superblock, the target with devid 0 and an item saying STARTED;
 *       no device to mount the filesystem through.</li>
 *   <li>a replace that ends CANCELED (a user's cancel, a copy that failed) has its target destroyed at once —
 *       btrfs_destroy_dev_replace_tgtdev scratches its superblocks — while the CANCELED state waits for the next
 *       commit; a crash in between leaves the item STARTED and the target gone: "cannot mount because device replace
 *       operation is ongoing and tgtdev is missing" (-EIO without -o degraded). (The cancel of a suspended replace
 *       commits first, then destroys the target: the order the running one lacks.)</li>
 * </ol>
 * The proposed fix: a failed first commit ends finishing with its error, the replace left STARTED as the disk has it;
 * the CANCELED and FINISHED states are committed before the target or the old device is scratched, and a failed commit
 * keeps the device. Read: dev-replace.c btrfs_dev_replace_finishing, btrfs_dev_replace_cancel,
 * btrfs_destroy_dev_replace_tgtdev (volumes.c), btrfs_scratch_superblocks (v5.11); btrfs_dev_replace_finishing in
 * mainline (2025: the same WARN_ON and the same order).
 *
 * <p>The hook: {@link Hook#DEV_REPLACE_NEXT_CHUNK} holds the copy.
 */
class DevReplaceScratchBeforeCommitTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return fixed ? new Repro(crc) : new Repro(crc, FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT);
    }

    /** A replace whose finishing commit fails: the copy held, the next commit's EIO armed, the copy let go. */
    private static TestThread<DevReplaceResult> replaceWhoseFinishingCommitFails(Repro r, Btrfs fs, BlockDevice tgt) {
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO); // the copy commits nothing: finishing's commit is next
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        return start;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAFailedCommitLeavesNoDeviceToMount(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            assertEquals(DevReplaceResult.NO_ERROR, replaceWhoseFinishingCommitFails(r, fs, tgt).join(),
                "the ioctl says nothing of it");
            assertTrue(r.logged("WARNING: CPU: 0 PID: ") && r.logged("dev-replace.c:741"), r.mod.log().dmesg());
            fs.umount();
            assertNull(Blkid.probe(r.dev), "the old device scratched");
            assertEquals(0, Blkid.probe(tgt).devid(), "the target never became devid 1");
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> r.mount("")).errno());
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, () -> r.mod.mount(tgt, "")).errno());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAFailedCommitLeavesTheReplaceToResume(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            BtrfsException e = assertThrows(BtrfsException.class, replaceWhoseFinishingCommitFails(r, fs, tgt)::join);
            assertEquals(Errno.EIO, e.errno());
            fs.umount();
            assertEquals(1, Blkid.probe(r.dev).devid());
            assertEquals(0, Blkid.probe(tgt).devid());
            Btrfs again = r.mount(""); // the item as the last commit left it, STARTED: resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            Btrfs moved = r.mod.mount(tgt, "");
            assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f4"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /** A replace on flakey disks cancelled during its copy, then a power cut (both disks) before any other commit. */
    private static void cancelThenPowerCut(Repro r, FlakeyBlockDevice src, FlakeyBlockDevice tgt) {
        Btrfs fs = r.mod.mount(src, "");
        fs.createFile("/f");
        fs.writeFile("/f", DevReplaceTest.DATA);
        fs.sync();
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
        TestThread<DevReplaceResult> cancel = TestThread.call("cancel", fs::replaceCancel);
        Repro.awaitBlockedOn(fs, "cancel", "btrfs_scrub_cancel");
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        assertEquals(Errno.ECANCELED, assertThrows(BtrfsException.class, start::join).errno());
        assertEquals(DevReplaceResult.NO_ERROR, cancel.join());
        src.dropWrites(); // the machine loses power: both disks
        tgt.dropWrites();
        fs.umount();
        src.allowWrites();
        tgt.allowWrites();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedACancelThenAPowerCutLeavesTheItemStartedAndTheTargetGone(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            r.mod.mkfs(src);
            cancelThenPowerCut(r, src, tgt);
            assertNull(Blkid.probe(tgt), "the target was scratched before the cut");
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mod.mount(src, ""));
            assertEquals(Errno.EIO, e.errno());
            assertTrue(r.logged("tgtdev (devid 0) is missing"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedACancelThenAPowerCutMountsWithTheReplaceCancelled(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            r.mod.mkfs(src);
            cancelThenPowerCut(r, src, tgt);
            assertNull(Blkid.probe(tgt), "the target is gone, its cancel committed first");
            Btrfs again = r.mod.mount(src, "");
            assertEquals(DevReplaceStatus.State.CANCELED, again.replaceStatus().state());
            assertArrayEquals(DevReplaceTest.DATA, again.readFile("/f"));
            assertNotNull(Blkid.probe(src));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * The first commit of a replace writes the source's superblock and then the target's: a crash between the two (here
     * the target's disk loses its writes from the start's commit on) leaves the source's item STARTED and, without the
     * fix, no superblock on the target — the next mount finds no target (-EIO).
     */
    private static void startWithTheTargetsFirstSuperblockLost(Repro r, FlakeyBlockDevice src, FlakeyBlockDevice tgt) {
        Btrfs fs = r.mod.mount(src, "");
        fs.createFile("/f");
        fs.writeFile("/f", DevReplaceTest.DATA);
        fs.sync();
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Repro.WAIT);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
        tgt.dropWrites(); // the target's disk loses everything from the start's commit on
        r.mod.hooks().disarm(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION);
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT); // the start's commit is on the source's disk
        src.dropWrites(); // and now the source's: the machine is off
        r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
        start.join();
        fs.umount();
        src.allowWrites();
        tgt.allowWrites();
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedACrashInTheFirstCommitLeavesNoTargetToFind(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            r.mod.mkfs(src);
            startWithTheTargetsFirstSuperblockLost(r, src, tgt);
            assertNull(Blkid.probe(tgt), "the target never got a superblock");
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> r.mod.mount(src, "")).errno());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedACrashInTheFirstCommitFindsTheTargetAndResumes(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            r.mod.mkfs(src);
            startWithTheTargetsFirstSuperblockLost(r, src, tgt);
            assertEquals(0, Blkid.probe(tgt).devid(), "its superblock was written before the first commit");
            Btrfs again = r.mod.mount(src, "");
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            again.umount();
            assertArrayEquals(DevReplaceTest.DATA, r.mod.mount(tgt, "").readFile("/f"));
        }
    }

    /**
     * The fix's order — the end committed, then the target scratched — has its own crash window: the commit on disk,
     * the scratch lost. The next mount finds a target of devid 0 beside an item of a replace that ended; 5.11's
     * btrfs_init_dev_replace refuses it (-EUCLEAN, the window the cancel of a suspended replace has in the kernel); the
     * fix ignores it with a warning. (Without the fix the order is the other one: the test above.)
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedATargetWhoseScratchACrashLostIsIgnored(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
            FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
            r.mod.mkfs(src);
            Btrfs fs = r.mod.mount(src, "");
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_NEXT_CHUNK, Role.USER);
            TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_NEXT_CHUNK, Repro.WAIT);
            TestThread<DevReplaceResult> cancel = TestThread.call("cancel", fs::replaceCancel);
            Repro.awaitBlockedOn(fs, "cancel", "btrfs_scrub_cancel");
            tgt.dropWrites(); // the target's scratch will be lost
            r.mod.hooks().disarm(Hook.DEV_REPLACE_NEXT_CHUNK);
            assertEquals(Errno.ECANCELED, assertThrows(BtrfsException.class, start::join).errno());
            cancel.join();
            fs.umount();
            tgt.allowWrites();
            assertEquals(0, Blkid.probe(tgt).devid(), "the scratch was lost");
            Btrfs again = r.mod.mount(src, "");
            assertTrue(r.logged("ignoring the target sdy of an ended replace"), r.mod.log().dmesg());
            assertEquals(DevReplaceStatus.State.CANCELED, again.replaceStatus().state());
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * btrfs_dev_replace_start's failure path — its btrfs_start_transaction refused once an abort made the filesystem
     * read-only — scratches the target (leave:), though a commit in between (here a sync, in the kernel any commit, the
     * transaction kthread's) may have written the STARTED state already: the next mount finds the replace ongoing and no
     * target (-EIO). The fix keeps the target: the next mount resumes the replace.
     */
    private static Btrfs startRefusedAfterItsStateWasCommitted(Repro r, boolean fixed, BlockDevice tgt) {
        Btrfs fs = DevReplaceTest.withFiles(r);
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Repro.WAIT);
        fs.createFile("/during"); // a transaction to commit
        fs.sync(); // its commit writes the STARTED item and the target's superblock
        r.abortByACommitEio(fs);
        r.mod.hooks().disarm(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION);
        assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, start::join).errno());
        fs.umount();
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAStartRefusedAfterItsStateWasCommittedLeavesNoTarget(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            startRefusedAfterItsStateWasCommitted(r, false, tgt);
            assertNull(Blkid.probe(tgt), "scratched by the start's failure path");
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> r.mount("")).errno());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAStartRefusedAfterItsStateWasCommittedIsResumed(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            startRefusedAfterItsStateWasCommitted(r, true, tgt);
            assertEquals(0, Blkid.probe(tgt).devid());
            Btrfs again = r.mount("");
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            assertArrayEquals(DevReplaceTest.DATA, r.mod.mount(tgt, "").readFile("/f1"));
        }
    }

    /**
     * Stop 71 (explorer class {@code eea8aa3f mount EIO at DevReplace.initDevReplace}, every fix applied, seed 71002,
     * 1 of 43,153 cycles; replay 0/5): a replace suspended while the filesystem stays mounted — its resume kthread held
     * when an RO remount suspended it, so the RO→RW remount could not resume it ("cannot resume dev-replace, other
     * exclusive operation running") — is cancelled, and the cancel's commit fails. btrfs_dev_replace_cancel's suspended
     * case only WARN_ONs the failed commit and destroys the target: the disk keeps SUSPENDED and loses the device it
     * names, and the next mount fails "tgtdev (devid 0) is missing" (-EIO without -o degraded). Read: dev-replace.c
     * btrfs_dev_replace_cancel (v5.11; mainline the same, and a 2026 stable series that keeps the destroy on the
     * transaction start's failure too), btrfs_init_dev_replace, btrfs_resume_dev_replace_async. The proposed fix keeps
     * the target and fails the ioctl with the commit's error; the next mount resumes the replace.
     */
    private static BlockDevice suspendedInMountThenCancelWhoseCommitFails(Repro r, boolean fixed) {
        // (suspendedReplaceOnDisk's RO remount during the ioctl needs DEV_REPLACE_START_WRITE_ACCESS reverted)
        BlockDevice tgt = DevReplaceTest.suspendedReplaceOnDisk(r);
        Btrfs fs = DevReplaceTest.mountWithTheReplaceSuspendedInMount(r);
        r.mod.faults().armOnce(Fault.COMMIT_TRANSACTION_EIO);
        if (fixed) {
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, fs::replaceCancel).errno());
        } else {
            assertEquals(DevReplaceResult.NO_ERROR, fs.replaceCancel(), "the ioctl says nothing of it");
        }
        assertTrue(r.logged("dev-replace.c:978"), r.mod.log().dmesg());
        r.mod.hooks().disarm(Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB);
        DevReplaceTest.awaitDevReplaceKthreadGone(r.mod);
        fs.umount();
        return tgt;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedACancelWhoseCommitFailedLeavesTheSuspendedReplaceWithoutItsTarget(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)) {
            BlockDevice tgt = suspendedInMountThenCancelWhoseCommitFails(r, false);
            assertNull(Blkid.probe(tgt), "the target destroyed");
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> r.mount("")).errno());
            assertTrue(r.logged("tgtdev (devid 0) is missing"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedACancelWhoseCommitFailedKeepsTheTargetAndTheReplaceResumes(Crc32cImpl crc) {
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS)) {
            BlockDevice tgt = suspendedInMountThenCancelWhoseCommitFails(r, true);
            assertEquals(0, Blkid.probe(tgt).devid(), "the target kept");
            Btrfs again = r.mount(""); // the item as the disk has it, SUSPENDED: resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdc", "sdd");
            again.umount();
            assertArrayEquals(DevReplaceTest.DATA, r.mod.mount(tgt, "").readFile("/f1"));
        }
    }

    /**
     * Stop 71 (explorer class {@code 7f38f0fd}'s cycle, {@code bio-write-eio}, seed 71004, 1 of 42,364 cycles): the
     * target fails its writes (a bad disk) when the replace starts. The start's commit writes the source's superblock —
     * STARTED — and fails on the target's ("1 errors while writing supers", max_errors 0): the disk names a target that
     * has no superblock, and the next mount fails "tgtdev (devid 0) is missing". With the proposed fix the target's
     * superblock is written first, and its failure ends the start before anything is committed.
     */
    private static FlakeyBlockDevice replaceOntoADiskFailingWrites(Repro r, boolean fixed) {
        Btrfs fs = DevReplaceTest.withFiles(r);
        FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdd");
        tgt.errorWrites();
        if (fixed) {
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, tgt)).errno());
            assertTrue(r.logged("error writing primary super block to device 0"), r.mod.log().dmesg());
        } else {
            assertThrows(BtrfsException.class, () -> fs.replaceStart(1, tgt));
            assertTrue(r.logged("1 errors while writing supers") && r.logged("dev-replace.c:563"), r.mod.log().dmesg());
        }
        fs.umount();
        tgt.allowWrites();
        return tgt;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedAStartOntoADiskFailingWritesCommitsAReplaceWhoseTargetHasNoSuperblock(Crc32cImpl crc) {
        // DEV_REPLACE_TARGET_WRITE_ERRORS reverted too: the kernel's order. Applied, it skips the superblock of a target
        // with uncounted errors (stop 72) — no failed superblock write, and the copy's errors end the replace instead
        try (Repro r = new Repro(crc, FixSwitch.DEV_REPLACE_SCRATCH_BEFORE_COMMIT, FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS)) {
            FlakeyBlockDevice tgt = replaceOntoADiskFailingWrites(r, false);
            assertNull(Blkid.probe(tgt), "no superblock on the target");
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> r.mount("")).errno());
            assertTrue(r.logged("tgtdev (devid 0) is missing"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAStartOntoADiskFailingWritesEndsBeforeItsCommit(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            replaceOntoADiskFailingWrites(r, true);
            Btrfs again = r.mount("");
            assertEquals(DevReplaceStatus.State.NEVER_STARTED, again.replaceStatus().state());
            assertArrayEquals(DevReplaceTest.DATA, again.readFile("/f1"));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    /**
     * A bad disk whose every write fails (-EIO); the first time the filesystem writes a superblock to it, a commit of
     * another task (here a sync; in the kernel the transaction kthread's, any commit) runs to its end first.
     */
    private static BlockDevice badDiskCommittingDuringItsFirstSuperblock(Repro r, Btrfs fs) {
        BlockDevice disk = r.mod.createDevice("sdd-disk", 64L << 20);
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        BlockDevice bad = new BlockDevice() {
            @Override public String name() { return disk.name(); }
            @Override public long size() { return disk.size(); }
            @Override public void read(long offset, byte[] dst, int dstOff, int len) { disk.read(offset, dst, dstOff, len); }
            @Override public void write(long offset, byte[] src, int srcOff, int len) {
                if (offset == org.jbtrfs.core.disk.SuperBlock.OFFSET && first.getAndSet(false)) {
                    TestThread<Void> sync = TestThread.run("sync", () -> {
                        fs.createFile("/during");
                        fs.sync();
                    });
                    try {
                        sync.join();
                    } catch (RuntimeException e) {
                        // the sync's own superblock write to this disk failed: its commit's error, not the test's
                    }
                }
                throw new BtrfsException(Errno.EIO, "write error on " + disk.name());
            }
            @Override public void flush() { }
            @Override public org.jbtrfs.core.IoCounters counters() { return disk.counters(); }
        };
        return r.mod.createFlakeyDevice("sdd", bad);
    }

    /**
     * Stop 72 (class {@code 60bba383}, seed 72002, every fix applied): the fix's early superblock was written after the
     * start had set STARTED and mapped the target; a commit in between (the transaction kthread's, commit=2) recorded
     * STARTED on the source — its own write to the target failed — and when the early write failed too the start ended,
     * the item left STARTED with no target: the next mount failed "tgtdev (devid 0) is missing". A port bug in the
     * proposed fix: the early superblock is now written before the state is STARTED, so no commit can record the replace
     * before the target has taken it.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedACommitDuringTheTargetsFailedFirstSuperblockRecordsNoReplace(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = badDiskCommittingDuringItsFirstSuperblock(r, fs);
            assertEquals(Errno.EIO, assertThrows(BtrfsException.class, () -> fs.replaceStart(1, tgt)).errno());
            assertTrue(r.logged("error writing primary super block to device 0"), r.mod.log().dmesg());
            fs.umount();
            Btrfs again = r.mount("");
            assertEquals(DevReplaceStatus.State.NEVER_STARTED, again.replaceStatus().state());
            assertEquals(0, again.fileSize("/during"), "the sync's commit is on disk");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
