package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.Role;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * Scrub among the lifecycle (v5.11 scrub.c, super.c, disk-io.c, transaction.c): a commit waits until every running
 * scrub has paused between stripes (btrfs_scrub_pause before COMMIT_DOING, btrfs_scrub_continue when done); an RO
 * remount cancels a read-only scrub after setting SB_RDONLY (btrfs_scrub_cancel, then btrfs_commit_super); a scrub that
 * may repair holds write access, so the RO remount is refused while it runs; a second scrub of the device is
 * EINPROGRESS; the scrub workqueues live as long as a scrub holds them.
 */
class ScrubLifecycleTest {

    /** A filesystem with a few files over two block groups' worth of stripes, committed. */
    static Btrfs withFiles(Repro r) {
        Btrfs fs = r.mountSettled("");
        for (int i = 0; i < 4; i++) {
            fs.createFile("f" + i);
            fs.writeFile("f" + i, new byte[96 * 1024]);
        }
        fs.sync();
        Repro.awaitOrderedExtentsReleased(fs);
        return fs;
    }

    @Test
    void aCommitWaitsForTheScrubToPauseBetweenStripes() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = withFiles(r);
            r.mod.hooks().parkAt(Hook.SCRUB_STRIPE, Role.USER);
            TestThread<ScrubProgress> scrub = TestThread.call("scrub", () -> fs.scrub(true));
            r.mod.hooks().awaitParked(Hook.SCRUB_STRIPE, Repro.WAIT);
            fs.createFile("during");
            // the scrub is inside a stripe (past its pause test): the commit asks and waits
            TestThread<Void> sync = TestThread.run("sync", fs::sync).describedBy(r::sleepingOn)
                .awaitBlockedOn("btrfs_scrub_pause");
            r.mod.hooks().disarm(Hook.SCRUB_STRIPE);
            sync.join();
            ScrubProgress p = scrub.join();
            assertTrue(p.treeExtentsScrubbed() > 0 && p.dataExtentsScrubbed() > 0, p.toString());
            assertEquals(0, p.errorCount(), p.toString());
            fs.umount();
            assertTrue(r.mod.unload().clean());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * The scrub is held before it marks its first block group read-only — counted as paused there, so the remount's
     * commits pass it — and the RO remount reaches btrfs_scrub_cancel, which waits for it; let go, the scrub stops at
     * its first stripe with -ECANCELED and the remount's btrfs_commit_super follows.
     */
    @Test
    void anRoRemountCancelsAReadOnlyScrub() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = withFiles(r);
            r.mod.hooks().parkAt(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Role.USER);
            TestThread<ScrubProgress> scrub = TestThread.call("scrub", () -> fs.scrub(true));
            r.mod.hooks().awaitParked(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Repro.WAIT);
            assertEquals(Errno.EINPROGRESS, assertThrows(BtrfsException.class, () -> fs.scrub(true)).errno(),
                "one scrub per device");
            // a read-only scrub holds no write access: the remount goes on, and waits in btrfs_scrub_cancel
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro")).describedBy(r::sleepingOn)
                .awaitBlockedOn("btrfs_scrub_cancel");
            assertTrue(fs.inspect().sbRdonly(), "SB_RDONLY is set before the cancel");
            r.mod.hooks().disarm(Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO);
            BtrfsException e = assertInstanceOf(BtrfsException.class, scrub.failure());
            assertEquals(Errno.ECANCELED, e.errno());
            remount.join();
            assertTrue(r.logged("scrub: not finished on devid 1 with status: -125"), r.mod.log().dmesg());
            assertTrue(fs.inspect().openTransactions().isEmpty(), "nothing left open on the read-only filesystem");
            assertTrue(fs.inspect().blockGroups().stream().noneMatch(Inspection.BlockGroup::readOnly));
            fs.umount();
            var rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
            assertFalse(r.mod.log().tainted(), r.mod.log().dmesg());
        }
    }

    /**
     * A scrub that may repair holds write access (mnt_want_write_file) for its whole run: the RO remount waits for it in
     * sb_prepare_remount_readonly (the port's retried EBUSY, see Btrfs#remount) and goes on once it is done.
     */
    @Test
    void aRepairingScrubHoldsWriteAccessSoAnRoRemountWaitsForIt() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = withFiles(r);
            r.mod.hooks().parkAt(Hook.SCRUB_STRIPE, Role.USER);
            TestThread<ScrubProgress> scrub = TestThread.call("scrub", () -> fs.scrub(false));
            r.mod.hooks().awaitParked(Hook.SCRUB_STRIPE, Repro.WAIT);
            TestThread<Void> remount = TestThread.run("remount-ro", () -> fs.remount("ro"))
                .awaitBlockedIn("Btrfs", "prepareRemountReadonly");
            assertFalse(fs.isReadOnly());
            r.mod.hooks().disarm(Hook.SCRUB_STRIPE);
            assertEquals(0, scrub.join().errorCount());
            remount.join();
            assertTrue(fs.isReadOnly());
            assertEquals(Errno.ENOTCONN, assertThrows(BtrfsException.class, fs::scrubCancel).errno());
            fs.umount();
            assertTrue(r.mod.unload().clean());
        }
    }
}
