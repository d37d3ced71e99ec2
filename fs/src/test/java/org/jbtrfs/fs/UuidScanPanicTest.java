package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * Port bug (harness robustness), stop 46: the wait for uuid_tree_rescan_sem — btrfs_remount going RO and close_ctree
 * "wait for the uuid_scan task to finish" — was a plain {@code Semaphore.acquireUninterruptibly}, the one sleep of the
 * module a panic could not end. A btrfs-uuid kthread unwound by a panic (a hung task elsewhere) never gives the
 * semaphore back; the RO remount waiting for it held s_umount for ever, and the explorer's reload of the panicked
 * module blocked in its umount behind it — a {@code --kernel 5.11} run hung at its end instead of going on with a fresh
 * module. No kernel function changes: down() is uninterruptible in the kernel too (a kthread that dies holding the
 * semaphore hangs the remount: a hung task, which the explorer reports and panics); what changed is that the panic
 * ends the port's sleep, as it ends every other. Read: btrfs_remount, close_ctree, btrfs_uuid_scan_kthread (v5.11).
 */
class UuidScanPanicTest {

    @Test
    void aPanicEndsAnRoRemountWaitingForAUuidScanThatNeverEnds() {
        try (Repro r = new Repro(c -> c)) {
            Btrfs fs = r.mountSettled("");
            // a btrfs-uuid kthread that died holding the semaphore
            assertTrue(fs.fsInfo().uuidTreeRescanSem.tryAcquire());
            TestThread<Void> remount = TestThread.run("remount", () -> fs.remount("ro"));
            Repro.awaitBlockedOn(fs, "remount", "down(uuid_tree_rescan_sem)");
            r.mod.kernel().panic("hung task: remount blocked in 'remount ro'");
            assertInstanceOf(KernelPanic.class, remount.failure());
        }
    }
}
