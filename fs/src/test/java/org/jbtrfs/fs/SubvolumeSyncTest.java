package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Errno;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * {@link Btrfs#subvolumeSync}: btrfs subvolume sync — wait until every subvolume deleted so far is dropped —
 * ended by the cleaner's passes (the only place a deleted subvolume is dropped), not by polling, and without
 * waking the cleaner itself.
 */
class SubvolumeSyncTest {

    @Test
    void waitsForTheCleanerToDropEveryDeletedSubvolume() {
        try (Repro r = new Repro(Crc32cImpl.ACCELERATED)) {
            Btrfs fs = r.mountSettled("");
            fs.subvolumeSync(Duration.ZERO); // nothing deleted: nothing to wait for
            long a = fs.createSubvolume("a");
            fs.createFile("a/f");
            long b = fs.createSubvolume("b");
            fs.deleteSubvolume("a");
            fs.deleteSubvolume("b");

            // the manual clock keeps the transaction kthread from waking the cleaner: nothing drops them
            BtrfsException e = assertThrows(BtrfsException.class, () -> fs.subvolumeSync(Duration.ZERO));
            assertEquals(Errno.ETIMEDOUT, e.errno());
            assertTrue(e.getMessage().contains("[" + a + ", " + b + "]"), e.getMessage());

            TestThread<Void> sync = TestThread.run("btrfs subvolume sync", () -> fs.subvolumeSync(Repro.WAIT));
            Waits.within().until(() -> org.jbtrfs.testsupport.Blocked.in(sync.thread(), "Cleaner", "awaitEvent")); // waits for the cleaner
            assertFalse(sync.done());
            // one root per loop of the cleaner (btrfs_clean_one_deleted_snapshot), which goes again at once
            // after a drop and sleeps only when a loop found nothing: this returns with both dropped
            fs.runCleanerPass(Repro.WAIT);
            sync.join();
            assertFalse(fs.inspect().rootItems().containsKey(a));
            assertFalse(fs.inspect().rootItems().containsKey(b));
            fs.umount();
        }
    }

    @Test
    void anUmountEndsTheWaitWithEinval() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createSubvolume("a");
            fs.deleteSubvolume("a");
            TestThread<Void> sync = TestThread.run("btrfs subvolume sync", () -> fs.subvolumeSync(Repro.WAIT));
            Waits.within().until(() -> org.jbtrfs.testsupport.Blocked.in(sync.thread(), "Cleaner", "awaitEvent")); // waits for the cleaner
            fs.umount(); // the waiter holds no s_umount: the umount is not blocked by it
            BtrfsException e = assertThrows(BtrfsException.class, sync::join);
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("sdc is not mounted"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> fs.subvolumeSync(null));
            assertThrows(IllegalArgumentException.class, () -> fs.subvolumeSync(Duration.ofMillis(-1)));
        }
    }
}
