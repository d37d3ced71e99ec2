package org.jbtrfs.stress.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.OpenMode;
import org.jbtrfs.stress.classify.Classifier;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.classify.Signature;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The RO-leak oracle on patch 2/5's own scenario: a stray orphan item (its delete failed with ENOMEM), umount, mount
 * -o ro — with the patch reverted btrfs_find_orphan_roots joins a transaction on the read-only mount. At umount
 * patch 4/5's assertion would catch it; but when the filesystem is remounted read-write first, the remount's
 * transactions commit the leaked one and nothing is left to see. The check before the RW remount sees it, and the
 * classifier names the switch; with the patch applied it sees nothing.
 */
class RoLeakCheckTest {

    @ParameterizedTest(name = "patch 2/5 applied={0}")
    @ValueSource(booleans = {true, false})
    void aTransactionOpenOnAnRoMountIsALeakBeforeTheRwRemountCommitsIt(boolean applied) {
        try (BtrfsModule mod = BtrfsModule.load(config(applied, FixSwitch.ORPHAN_ROOTS_RO_MOUNT))) {
            var dev = formatted(mod);
            Btrfs fs = mod.mount(dev, "");
            fs.createSubvolume("sv");
            fs.deleteSubvolume("sv");
            mod.faults().armOnce(Fault.DEL_ORPHAN_ITEM_ENOMEM);
            fs.runCleanerPass(Duration.ofSeconds(10));
            assertEquals(1, mod.faults().fired(Fault.DEL_ORPHAN_ITEM_ENOMEM), "the drop left its orphan item");
            fs.umount();

            Btrfs ro = mod.mount(dev, "ro");
            Observation obs = new Observation();
            boolean found = RoLeakCheck.check(ro::inspect, obs, "lifecycle");
            assertEquals(!applied, found);
            if (applied) {
                assertNull(obs.roLeak);
            } else {
                Classifier.Verdict v = Classifier.classify(obs, EnumSet.of(FixSwitch.ORPHAN_ROOTS_RO_MOUNT));
                assertEquals(Set.of(Symptom.RO_LEAK), v.symptoms());
                assertTrue(v.bugs().contains(FixSwitch.ORPHAN_ROOTS_RO_MOUNT.kebab()), v.bugs().toString());
                assertEquals("leak:btrfs_find_orphan_roots", Signature.of(obs, v.symptoms()).text().replaceAll("@.*", ""));
            }
            ro.remount("rw"); // its transactions commit whatever was open
            ro.sync();
            assertTrue(ro.inspect().openTransactions().isEmpty(), "nothing left for an umount to see");
            assertFalse(RoLeakCheck.check(ro::inspect, new Observation(), "lifecycle"), "read-write: not asked");
            ro.umount();
            assertTrue(mod.unload().clean(), mod.log().dmesg());
        }
    }

    /**
     * The oracle on the fsync's window (FsyncRoRemountRaceTest's steps): with the proposed fix reverted the fsync past
     * its test starts a transaction after the RO remount's last commit and — the port has no tree log — commits it on
     * the read-only filesystem. Nothing is left open, so a check of open transactions alone saw nothing; the write is
     * seen ({@code RO_WRITE}), in the same class the kernel's open transaction would give, named by the fsync.
     */
    @ParameterizedTest(name = "proposed fix applied={0}")
    @ValueSource(booleans = {true, false})
    void aTransactionCommittedOnTheReadOnlyFilesystemIsTheSameLeakCommitted(boolean applied) {
        try (BtrfsModule mod = BtrfsModule.load(config(applied, FixSwitch.FSYNC_RO_REMOUNT_RACE))) {
            var dev = formatted(mod);
            Btrfs fs = mod.mount(dev, "");
            fs.createFile("f");
            fs.sync();
            fs.writeFile("f", new byte[] {1});
            FileHandle h = fs.open("f", OpenMode.READ_ONLY);
            mod.hooks().parkAt(Hook.FSYNC_BEFORE_START_TRANSACTION);
            TestThread<Void> fsync = TestThread.run("lane:file:0", h::fsync);
            mod.hooks().awaitParked(Hook.FSYNC_BEFORE_START_TRANSACTION, Duration.ofSeconds(10));
            TestThread<Void> remount = TestThread.run("lane:lifecycle:0", () -> fs.remount("ro"));
            if (applied) {
                // the remount waits for the counted fsync after setting RO
                Waits.within(Duration.ofSeconds(10)).until(() -> fs.inspect().sbRdonly());
            } else {
                remount.join();
            }
            mod.hooks().release(Hook.FSYNC_BEFORE_START_TRANSACTION);
            fsync.join();
            remount.join();
            h.close();
            assertTrue(fs.inspect().openTransactions().isEmpty(), "nothing open: the fsync committed or never started");
            Observation obs = new Observation();
            assertEquals(!applied, RoLeakCheck.check(fs::inspect, obs, "lifecycle"));
            if (!applied) {
                Classifier.Verdict v = Classifier.classify(obs, EnumSet.of(FixSwitch.FSYNC_RO_REMOUNT_RACE));
                assertEquals(Set.of(Symptom.RO_WRITE), v.symptoms());
                assertEquals(Set.of(FixSwitch.FSYNC_RO_REMOUNT_RACE.kebab()), v.bugs());
                assertEquals("leak:btrfs_sync_file@file,lifecycle", Signature.of(obs, v.symptoms()).text());
            }
            fs.remount("rw");
            assertEquals(java.util.List.of(), fs.inspect().committedReadOnly(), "an RW remount starts afresh");
            fs.umount();
            assertTrue(mod.unload().clean(), mod.log().dmesg());
        }
    }

    /**
     * A port bug of the oracle, met by the explorer in stop 53 (class {@code leak:btrfs_ioctl_start_sync@lifecycle,subvol},
     * symptom RO_LEAK only, unexplained): a START_SYNC's async commit whose kworker has completed the commit (the RO
     * remount's btrfs_commit_super waited for that) but not yet taken the transaction off trans_list is on the list
     * before the RW remount — committed, not open. The oracle now leaves a COMPLETED transaction out; at umount the same
     * state is patch 4/5's assertion, which is the kernel's (AsyncCommitTransactionKthreadTest).
     */
    @org.junit.jupiter.api.Test
    void aCompletedTransactionStillListedIsNoLeakBeforeTheRwRemount() {
        try (BtrfsModule mod = BtrfsModule.load(config(false, FixSwitch.ASYNC_COMMIT_TRANSACTION_KTHREAD))) {
            var dev = formatted(mod);
            Btrfs fs = mod.mount(dev, "");
            fs.createFile("f");
            mod.hooks().parkAt(Hook.COMMIT_AFTER_COMPLETED, org.jbtrfs.core.Role.WORKER);
            fs.startSync();
            mod.hooks().awaitParked(Hook.COMMIT_AFTER_COMPLETED, Duration.ofSeconds(10));
            fs.remount("ro");
            assertEquals("COMPLETED", fs.inspect().openTransactions().get(0).state(), "still listed");
            Observation obs = new Observation();
            assertFalse(RoLeakCheck.check(fs::inspect, obs, "lifecycle"));
            assertNull(obs.roLeak);
            mod.hooks().disarm(Hook.COMMIT_AFTER_COMPLETED);
            Waits.within(Duration.ofSeconds(10)).until(() -> fs.inspect().openTransactions().isEmpty());
            fs.remount("rw");
            fs.umount();
            assertTrue(mod.unload().clean());
        }
    }

    /** Every fix applied, or all but {@code fix}. */
    private static KernelConfig config(boolean applied, FixSwitch fix) {
        return applied ? KernelConfig.defaults() : KernelConfig.defaults().revert(fix);
    }

    /** A 64 MiB device of {@code mod}, mkfs'd. */
    private static org.jbtrfs.core.BlockDevice formatted(BtrfsModule mod) {
        var dev = mod.createDevice("sdb", 64L << 20);
        mod.mkfs(dev);
        return dev;
    }
}
