package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.disk.BalanceArgs;
import org.jbtrfs.core.disk.BalanceItem;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.jbtrfs.transaction.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Balance's lifecycle (volumes.c, v5.11): a balance runs, ends and deletes its item; the pause ioctl stops it between
 * chunks with its item kept; the next read-write mount resumes it in the btrfs-balance kthread, skip_balance and a
 * read-only mount keep it paused; an RO remount pauses the kthread's balance; cancel resets a paused one. Relocation is
 * not ported: the balances here pick no chunk ({@link #NOTHING}, a vrange past the device), except the one that shows the
 * EOPNOTSUPP end. Bad input: a clear errno, nothing lost, the module usable.
 */
class BalanceTest {
    /** -dvrange past the 64 MiB device: the walk looks at every chunk and picks none. */
    static final BalanceFilter NOTHING = BalanceFilter.vrange(1L << 40, (1L << 40) + 1);
    static final BalanceFilter NONE = BalanceFilter.NONE;

    /**
     * A data balance paused between two chunks by the pause ioctl: the balancing pass's test sees the request, the
     * balance ends "paused" (ECANCELED to its ioctl), balance_ctl and the item stay.
     */
    static void pausedBalance(Repro r, Btrfs fs) {
        r.mod.hooks().parkAt(Hook.BALANCE_NEXT_CHUNK, Role.USER);
        TestThread<BalanceProgress> start = TestThread.call("balance", () -> fs.balanceStart(BalanceProgress.DATA, NOTHING,
            NONE, NONE));
        r.mod.hooks().awaitParked(Hook.BALANCE_NEXT_CHUNK, Repro.WAIT);
        TestThread<Void> pause = TestThread.run("pause", fs::balancePause);
        Repro.awaitBlockedOn(fs, "pause", "btrfs_pause_balance");
        r.mod.hooks().disarm(Hook.BALANCE_NEXT_CHUNK);
        BtrfsException e = assertThrows(BtrfsException.class, start::join);
        assertEquals(Errno.ECANCELED, e.errno());
        pause.join();
        assertTrue(r.logged("balance: paused"), r.mod.log().dmesg());
        BalanceProgress p = fs.balanceStatus();
        assertFalse(p.running(), "paused");
        assertNotNull(item(fs), "a paused balance keeps its item");
    }

    static BalanceItem item(Btrfs fs) {
        byte[] b = Trees.lookup(fs.fsInfo(), fs.fsInfo().treeRoot(), BalanceItem.KEY);
        return b == null ? null : BalanceItem.decode(b);
    }

    /** A read-write mount of a filesystem with a paused balance: the kthread resumes it and, picking nothing, ends it. */
    static Btrfs mountResumingToTheEnd(Repro r, String opts) {
        Btrfs fs = r.mount(opts);
        Waits.within(Repro.WAIT).until(() -> r.logged("balance: ended with status: 0"));
        Repro.awaitBalanceKthreadGone(r.mod);
        return fs;
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aBalanceThatPicksNoChunkRunsWholeAndDeletesItsItem(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            BalanceProgress p = fs.balanceStart(BalanceProgress.DATA | BalanceProgress.METADATA, NOTHING, NOTHING, NONE);
            assertEquals(0, p.expected());
            assertEquals(fs.fsInfo().space.blockGroups().size(), p.considered(), "every chunk looked at once");
            assertEquals(0, p.completed());
            assertTrue(r.logged("balance: start -dvrange=1099511627776..1099511627777 -mvrange=1099511627776..1099511627777"),
                r.mod.log().dmesg());
            assertTrue(r.logged("balance: ended with status: 0"));
            assertNull(item(fs), "del_balance_item");
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::balanceStatus).errno());
            fs.balanceStart(BalanceProgress.DATA, NOTHING, NONE, NONE); // the exclusive operation was given back
            fs.umount();
            Check.Report rep = Check.check(r.dev, crc);
            assertTrue(rep.clean(), rep.toString());
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void aChunkTheFiltersPickEndsTheBalanceWithEopnotsupp() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            BtrfsException e = assertThrows(BtrfsException.class,
                () -> fs.balanceStart(BalanceProgress.METADATA, BalanceFilter.usage(100), NONE, NONE));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertTrue(r.logged("balance: ended with status: -95"), r.mod.log().dmesg());
            assertNull(item(fs));
            fs.balanceStart(BalanceProgress.DATA, NOTHING, NONE, NONE);
            fs.createFile("still");
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @ParameterizedTest(name = "crc32c {0}")
    @EnumSource(Crc32cImpl.class)
    void aPausedBalanceSurvivesTheUmountAndTheNextMountResumesIt(Crc32cImpl crc) {
        try (Repro r = new Repro(crc)) {
            Btrfs fs = r.mountSettled("");
            pausedBalance(r, fs);
            assertEquals(Errno.EINPROGRESS, assertThrows(BtrfsException.class,
                () -> fs.balanceStart(BalanceProgress.DATA, NOTHING, NONE, NONE)).errno(), "paused: resume or cancel it");
            fs.umount(); // close_ctree's btrfs_pause_balance: not running, nothing to wait for
            Check.Report rep = Check.check(r.dev, crc);
            assertTrue(rep.clean(), rep.toString());
            Btrfs again = mountResumingToTheEnd(r, "");
            assertTrue(r.logged("balance: resume -dusage=90,vrange=1099511627776..1099511627777"), r.mod.log().dmesg());
            assertNull(item(again), "ended: deleted");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void skipBalanceAndAReadOnlyMountKeepItPaused() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            pausedBalance(r, fs);
            fs.umount();
            Btrfs ro = r.mount("ro");
            assertTrue(ro.balanceStatus().flags() != 0, "btrfs_recover_balance");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, ro::balanceCancel).errno(),
                "the item of a paused balance cannot be deleted read-only");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class, ro::balanceResume).errno());
            ro.umount();
            Btrfs skip = r.mount("skip_balance");
            assertTrue(r.logged("balance: resume skipped"));
            BalanceProgress p = skip.balanceStatus();
            assertFalse(p.running());
            assertTrue((p.flags() & BalanceProgress.RESUME) != 0);
            skip.balanceResume(); // the user resumes it: it runs in this task, to its end
            assertNull(item(skip));
            skip.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void anRoRemountPausesTheResumedBalanceAndTheRwRemountResumesItAgain() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            pausedBalance(r, fs);
            fs.umount();
            // the resume kthread held inside its balance, running
            r.mod.hooks().parkAt(Hook.BALANCE_NEXT_CHUNK, Role.KTHREAD);
            Btrfs again = r.mount("");
            r.mod.hooks().awaitParked(Hook.BALANCE_NEXT_CHUNK, Repro.WAIT);
            assertTrue(again.balanceStatus().running());
            TestThread<Void> remount = TestThread.run("remount", () -> again.remount("ro"));
            Repro.awaitBlockedOn(again, "remount", "btrfs_pause_balance");
            r.mod.hooks().disarm(Hook.BALANCE_NEXT_CHUNK);
            remount.join();
            Repro.awaitBalanceKthreadGone(r.mod);
            assertTrue(r.logged("balance: paused"));
            assertNotNull(item(again));
            assertTrue(again.inspect().committedReadOnly().isEmpty(), "nothing written after the RO remount's commit");
            again.remount("rw"); // btrfs_start_pre_rw_mount resumes it
            Waits.within(Repro.WAIT).until(() -> r.logged("balance: ended with status: 0"));
            Repro.awaitBalanceKthreadGone(r.mod);
            assertNull(item(again));
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    @Test
    void cancelResetsAPausedBalance() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            pausedBalance(r, fs);
            fs.balanceCancel();
            assertTrue(r.logged("balance: canceled"));
            assertNull(item(fs));
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::balanceCancel).errno());
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::balancePause).errno());
            fs.umount();
            Btrfs again = r.mount("");
            assertFalse(r.logged("balance: resume"), "nothing to resume");
            again.umount();
            assertTrue(r.mod.unload().clean());
        }
    }

    // ---- bad input ----------------------------------------------------------------------------------------

    @Test
    void badInputIsRefusedAndLosesNothing() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            assertThrows(IllegalArgumentException.class, () -> fs.balanceStart(BalanceProgress.DATA, null, NONE, NONE));
            assertThrows(IllegalArgumentException.class, () -> fs.balanceStart(BalanceProgress.RESUME, NONE, NONE, NONE));
            assertThrows(IllegalArgumentException.class, () -> BalanceFilter.usage(101));
            assertThrows(IllegalArgumentException.class, () -> BalanceFilter.vrange(5, 5));
            assertEquals(Errno.EINVAL, assertThrows(BtrfsException.class,
                () -> fs.balanceStart(1L << 20, NONE, NONE, NONE)).errno(), "unknown flags");
            // a filter the port has not ported, as an internal caller could pass it (the API has no way to)
            BalanceArgs convert = new BalanceArgs(0, 0, 0, 0, 0, 0, 0, 1L << 4, BalanceArgs.CONVERT, 0, 0, 0);
            BtrfsException e = assertThrows(BtrfsException.class, () -> Balance.ioctlBalance(fs.ctx(), BalanceProgress.DATA,
                convert, BalanceArgs.NONE, BalanceArgs.NONE));
            assertEquals(Errno.EOPNOTSUPP, e.errno());
            assertTrue(e.getMessage().contains("only usage and vrange are ported"), e.getMessage());
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::balanceResume).errno());
            assertFalse(r.logged("balance: start"), "nothing ran");
            fs.balanceStart(BalanceProgress.DATA, NOTHING, NONE, NONE); // the exclusive operation is free
            fs.remount("ro");
            assertEquals(Errno.EROFS, assertThrows(BtrfsException.class,
                () -> fs.balanceStart(BalanceProgress.DATA, NOTHING, NONE, NONE)).errno());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
