package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.HookAction;
import org.jbtrfs.core.Role;
import org.jbtrfs.fs.tools.Blkid;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_SWAP_BEFORE_SUPERS} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Found by the explorer with every other fix applied (class
 * {@code b63cd7f4}, seed 71006, {@code mount:EIO at DevReplace.initDevReplace}; {@code 436af5da}, seed 71009): a replace
 * finished, its last commit failed, and the next mount found the new device with a superblock of devid 1 whose replace
 * item said STARTED — and no target. btrfs_dev_replace_finishing commits, then takes device_list_mutex ("Prevent
 * write_all_supers() during the finishing procedure") and sets FINISHED and swaps the devices. That keeps a commit's
 * write_all_supers from running during the swap, not a commit that is past btrfs_run_dev_replace (its item written
 * STARTED, from commit_cowonly_roots) and before write_all_supers: the commit's superblocks wait for the mutex and then
 * go to the new device list — the target, now devid 1. Until finishing's last commit writes FINISHED, a crash (or that
 * commit failing) leaves disks whose newest superblock names a replace in progress from itself to a target of devid 0
 * that no disk holds: "tgtdev (devid 0) is missing" (-EIO). The old device keeps the superblock of finishing's own
 * commit (the last one written to it), older than the target's. Read: dev-replace.c btrfs_dev_replace_finishing,
 * btrfs_run_dev_replace, btrfs_init_dev_replace; transaction.c btrfs_commit_transaction (tree_log_mutex from
 * commit_fs_roots to after write_all_supers; the wait for the previous transaction); disk-io.c write_all_supers (the
 * devid of each device's dev_item taken at the write) — v5.11, and mainline's btrfs_dev_replace_finishing (2025: the same
 * mutexes, the same comment).
 *
 * <p>The proposed fix: finishing takes tree_log_mutex before device_list_mutex — the commit holds it from
 * commit_fs_roots until its superblocks are written — so such a commit writes its STARTED superblocks to the old device
 * list (the source as devid 1, the target as devid 0) before the swap: a crash after it resumes the replace.
 *
 * <p>The hooks: {@link Hook#DEV_REPLACE_FINISHING_AFTER_COMMIT} holds finishing after its commit; a sync's commit is
 * held at {@link Hook#COMMIT_AFTER_UNBLOCKED} (its item written, its superblocks not), and the same hook holds
 * finishing's last commit for the power cut.
 */
class DevReplaceSwapBeforeSupersTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return fixed ? new Repro(crc) : new Repro(crc, FixSwitch.DEV_REPLACE_SWAP_BEFORE_SUPERS);
    }

    /**
     * A replace on flakey disks whose finishing meets a sync's commit between its item and its superblocks; the power
     * goes (both disks) before finishing's last commit writes anything; umounted, the disks back.
     */
    private static FlakeyBlockDevice[] finishingAcrossACommitThenAPowerCut(Repro r, boolean fixed) {
        FlakeyBlockDevice src = DevReplaceTest.flakeyDisk(r, "sdx");
        FlakeyBlockDevice tgt = DevReplaceTest.flakeyDisk(r, "sdy");
        r.mod.mkfs(src);
        Btrfs fs = r.mod.mount(src, "");
        fs.createFile("/f");
        fs.writeFile("/f", DevReplaceTest.DATA);
        fs.sync();
        r.mod.hooks().parkAt(Hook.DEV_REPLACE_FINISHING_AFTER_COMMIT, Role.USER);
        TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
        r.mod.hooks().awaitParked(Hook.DEV_REPLACE_FINISHING_AFTER_COMMIT, Repro.WAIT);
        // the sync's commit, and after it finishing's last one
        r.mod.hooks().arm(Hook.COMMIT_AFTER_UNBLOCKED, HookAction.park().onlyFor(Role.USER), 2);
        fs.createFile("/g"); // a transaction for the sync to commit
        TestThread<Void> sync = TestThread.run("sync", fs::sync);
        r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_UNBLOCKED, Repro.WAIT); // the item written STARTED, no superblock yet
        r.mod.hooks().disarm(Hook.DEV_REPLACE_FINISHING_AFTER_COMMIT);
        if (fixed) {
            Repro.awaitBlockedOn(fs, "replace", "mutex_lock(tree_log_mutex) held by sync");
        } else {
            // the swap done; finishing's last commit waits for the sync's transaction to complete
            Waits.within(Repro.WAIT).until(() -> r.logged("dev_replace from sdx (devid 1) to sdy finished"));
        }
        r.mod.hooks().release(Hook.COMMIT_AFTER_UNBLOCKED); // the sync's superblocks
        sync.join();
        r.mod.hooks().awaitParked(Hook.COMMIT_AFTER_UNBLOCKED, Repro.WAIT); // finishing's last commit, FINISHED
        assertTrue(r.logged("dev_replace from sdx (devid 1) to sdy finished"), r.mod.log().dmesg());
        src.dropWrites(); // the machine loses power: both disks
        tgt.dropWrites();
        r.mod.hooks().disarm(Hook.COMMIT_AFTER_UNBLOCKED);
        assertEquals(DevReplaceResult.NO_ERROR, start.join());
        fs.umount();
        src.allowWrites();
        tgt.allowWrites();
        return new FlakeyBlockDevice[] {src, tgt};
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedACommitAcrossTheSwapLeavesTheNewDeviceNamingAMissingTarget(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            FlakeyBlockDevice[] disks = finishingAcrossACommitThenAPowerCut(r, false);
            FlakeyBlockDevice src = disks[0];
            FlakeyBlockDevice tgt = disks[1];
            assertEquals(1, Blkid.probe(tgt).devid(), "the sync's superblock went to the swapped-in target");
            assertTrue(Blkid.probe(tgt).generation() > Blkid.probe(src).generation(), "and the source's is older");
            BtrfsException e = assertThrows(BtrfsException.class, () -> r.mod.mount(tgt, ""));
            assertEquals(Errno.EIO, e.errno());
            assertTrue(r.logged("tgtdev (devid 0) is missing"), r.mod.log().dmesg());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedTheSwapWaitsForTheCommitsSuperblocksAndTheReplaceResumes(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            FlakeyBlockDevice[] disks = finishingAcrossACommitThenAPowerCut(r, true);
            FlakeyBlockDevice src = disks[0];
            FlakeyBlockDevice tgt = disks[1];
            assertEquals(1, Blkid.probe(src).devid(), "the sync's superblock went to the old device list");
            assertEquals(0, Blkid.probe(tgt).devid());
            assertEquals(Blkid.probe(src).generation(), Blkid.probe(tgt).generation());
            Btrfs again = r.mod.mount(src, ""); // STARTED, both devices: resumed, to its end
            DevReplaceTest.awaitResumedReplaceFinished(r, "sdx", "sdy");
            again.umount();
            Btrfs moved = r.mod.mount(tgt, "");
            assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
