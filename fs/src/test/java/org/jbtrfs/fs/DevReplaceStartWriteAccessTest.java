package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FixSwitch#DEV_REPLACE_START_WRITE_ACCESS} (proposed, not upstream), both directions, both crc32c modes.
 *
 * <p>Decision: <b>kernel bug</b>, 5.11 through mainline. Found by the explorer's replace lane with every other fix
 * applied (stop 65: classes {@code leak:btrfs_dev_replace_start@lifecycle,replace} — a transaction of
 * btrfs_dev_replace_start open on the read-only filesystem at its next RW remount — and
 * {@code leak:btrfs_dev_replace_finishing+btrfs_dev_replace_start}). btrfs_ioctl_dev_replace's START tests SB_RDONLY
 * and takes the exclusive operation, but not write access on the mount (mnt_want_write_file, which btrfs_ioctl_balance,
 * btrfs_ioctl_add_dev and btrfs_ioctl_rm_dev take). An RO remount meanwhile finds no writer and goes on: SB_RDONLY set,
 * btrfs_dev_replace_suspend_for_unmount finds the replace NEVER_STARTED (nothing to suspend), btrfs_scrub_cancel finds
 * no scrub, btrfs_commit_super, done. btrfs_dev_replace_start then sets the replace STARTED and commits its state —
 * btrfs_start_transaction and btrfs_commit_transaction, which test no read-only state — on the read-only filesystem;
 * the copy runs there and btrfs_dev_replace_finishing commits twice more and swaps the devices. A script's
 * {@code btrfs replace start ... & mount -o remount,ro} is enough. The proposed fix: START takes write access for the
 * replace, as the balance ioctl does for a balance; an RO remount then fails with EBUSY while a replace runs through
 * the ioctl (as while a balance runs; the port's RO remount waits for the writer instead of refusing); the replace a mount resumes runs in its kthread, without write access, and the
 * suspend stops it ({@link FixSwitch#DEV_REPLACE_RESUME_SUSPEND_RACE}). Read: ioctl.c btrfs_ioctl_dev_replace,
 * btrfs_ioctl_balance; dev-replace.c btrfs_dev_replace_by_ioctl, btrfs_dev_replace_start,
 * btrfs_dev_replace_suspend_for_unmount; super.c btrfs_remount; fs/super.c reconfigure_super,
 * sb_prepare_remount_readonly (v5.11); btrfs_ioctl_dev_replace in mainline (2025: still no mnt_want_write_file).
 *
 * <p>The hook: {@link Hook#DEV_REPLACE_START_BEFORE_TRANSACTION} holds the ioctl after it set the replace STARTED.
 */
class DevReplaceStartWriteAccessTest {

    private static Repro repro(Crc32cImpl crc, boolean fixed) {
        return fixed ? new Repro(crc) : new Repro(crc, FixSwitch.DEV_REPLACE_START_WRITE_ACCESS);
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void revertedTheReplaceCommitsOnTheReadOnlyFilesystem(Crc32cImpl crc) {
        try (Repro r = repro(crc, false)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Role.USER);
            TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Repro.WAIT);
            fs.remount("ro"); // no writer holds the mount: it goes through
            assertTrue(fs.inspect().committedReadOnly().isEmpty(), "the remount's commit is the last so far");
            r.mod.hooks().disarm(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION);
            start.join();
            List<String> openers = fs.inspect().committedReadOnly().stream()
                .flatMap(t -> t.functions().stream()).toList();
            assertTrue(openers.contains("btrfs_dev_replace_start"), openers.toString());
            fs.umount();
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void appliedAnRoRemountIsBusyWhileTheReplaceRuns(Crc32cImpl crc) {
        try (Repro r = repro(crc, true)) {
            Btrfs fs = DevReplaceTest.withFiles(r);
            BlockDevice tgt = r.mod.createDevice("sdd", 64L << 20);
            r.mod.hooks().parkAt(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Role.USER);
            TestThread<DevReplaceResult> start = TestThread.call("replace", () -> fs.replaceStart(1, tgt));
            r.mod.hooks().awaitParked(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION, Repro.WAIT);
            // sb_prepare_remount_readonly finds the replace's writer in flight: the kernel's EBUSY, which the port turns
            // into a wait for the writer (Btrfs#prepareRemountReadonly: a remount retried until it succeeds)
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            Waits.within(Repro.WAIT).until(() -> Blocked.in(remount.thread(), "Btrfs", "prepareRemountReadonly"));
            r.mod.hooks().disarm(Hook.DEV_REPLACE_START_BEFORE_TRANSACTION);
            assertEquals(DevReplaceResult.NO_ERROR, start.join());
            remount.join();
            assertEquals(DevReplaceStatus.State.FINISHED, fs.replaceStatus().state(), "nothing suspended it");
            assertTrue(fs.inspect().committedReadOnly().isEmpty(), fs.inspect().toString());
            fs.umount();
            Btrfs moved = r.mod.mount(tgt, "");
            assertArrayEquals(DevReplaceTest.DATA, moved.readFile("/f2"));
            moved.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
