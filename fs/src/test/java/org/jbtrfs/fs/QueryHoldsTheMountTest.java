package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Hook;
import org.jbtrfs.testsupport.Blocked;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A read-only ioctl ({@code btrfs replace status}, {@code quota rescan -s}, the qgroup usage...) holds the mount while
 * it runs, as an umount racing it needs.
 *
 * <p>Decision: <b>port bug</b>, fixed in stop 74. The explorer's class {@code a55fe7f0} (seed 73010, lockdep and slab
 * debug, every fix applied): the replace lane's {@code replaceStatus()} reported KASAN's use-after-free in
 * btrfs_dev_replace_status — the port's read-only ioctls tested that the mount was there, then ran without holding it,
 * so an umount of another lane could run close_ctree and free fs_info between the two. The kernel cannot: the ioctl
 * runs on an open file (fdget in ksys_ioctl), which holds the mount, and do_umount's propagate_mount_busy refuses a
 * busy mount (EBUSY); once the umount has detached the mount no path reaches the filesystem. The port's umount waits
 * for the syscalls in flight instead of refusing (see {@link Btrfs#umount()}): the query now takes the mount as every
 * other syscall does, and answers EINVAL, at once, when an umount already holds it. Read: fs/ioctl.c ksys_ioctl,
 * fs/namespace.c do_umount and propagate_mount_busy, fs/btrfs/ioctl.c btrfs_ioctl_dev_replace (its STATUS case) and
 * dev-replace.c btrfs_dev_replace_status (v5.11).
 */
class QueryHoldsTheMountTest {

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void anUmountWaitsForAQueryInFlight(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            var rwsem = fs.fsInfo().devReplace.rwsem;
            // the test holds dev_replace.rwsem: the status ioctl waits inside btrfs_dev_replace_status, past its entry
            rwsem.writeLock().lock();
            TestThread<DevReplaceStatus> status;
            TestThread<Void> umount;
            try {
                status = TestThread.call("replace status", fs::replaceStatus);
                Waits.within(Repro.WAIT).until(() -> Blocked.in(status.thread(), "DevReplace", "status"));
                umount = TestThread.run("umount", fs::umount);
                // the umount waits for the mount (the ioctl holds it), not inside close_ctree for the rwsem
                Waits.within(Repro.WAIT).until(() -> Blocked.in(umount.thread(), "Btrfs", "umount")
                    && !Blocked.onStack(umount.thread(), "VfsSuper", "killSb"));
                assertTrue(fs.isMounted(), "the umount has not detached the mount under the ioctl");
                assertEquals(0, r.mod.hooks().arrivals(Hook.UMOUNT_START), "close_ctree has not begun");
            } finally {
                rwsem.writeLock().unlock();
            }
            assertEquals(DevReplaceStatus.State.NEVER_STARTED, status.join().state());
            umount.join();
            assertFalse(fs.isMounted());
            assertFalse(r.mod.log().dmesg().contains("KASAN"), r.mod.log().dmesg());
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::replaceStatus).errno());
        }
    }

    /**
     * An umount that passed its busy check has detached the mount, though its deactivate_super still waits for s_umount,
     * which a remount holds (here at a hook): a query is EINVAL at once — the kernel's path no longer reaches the
     * filesystem — not a wait for the remount the reproducer holds.
     */
    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aQueryWhileAnUmountWaitsForARemountIsEinvalAtOnce(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            r.mod.hooks().parkAt(Hook.REMOUNT_BEFORE_COMMIT_SUPER);
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            r.mod.hooks().awaitParked(Hook.REMOUNT_BEFORE_COMMIT_SUPER, Repro.WAIT);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            Waits.within(Repro.WAIT).until(() -> Blocked.in(umount.thread(), "Btrfs", "umountHoldingTheMount"));
            TestThread<Void> query = TestThread.run("query",
                () -> assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::replaceStatus).errno()));
            try {
                query.join();
            } finally {
                r.mod.hooks().release(Hook.REMOUNT_BEFORE_COMMIT_SUPER);
            }
            remount.join();
            umount.join();
            assertFalse(fs.isMounted());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aQueryDuringAnUmountsCloseCtreeIsEinvalAtOnce(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            r.mod.hooks().parkAt(Hook.UMOUNT_START);
            TestThread<Void> umount = TestThread.run("umount", fs::umount);
            r.mod.hooks().awaitParked(Hook.UMOUNT_START, Repro.WAIT);
            // polled by a reproducer holding the umount at a hook: an answer, not a wait behind close_ctree
            TestThread<Void> queries = TestThread.run("queries", () -> {
                assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::replaceStatus).errno());
                assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::rescanStatus).errno());
                assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class, fs::qgroupUsage).errno());
            });
            queries.join();
            r.mod.hooks().release(Hook.UMOUNT_START);
            umount.join();
        }
    }
}
