package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.kernel.Kthread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KernelConfigTest {
    private final KernelConfig defaults = KernelConfig.defaults();

    @Test
    void defaultsApplyEveryFix() {
        assertEquals(EnumSet.allOf(FixSwitch.class), defaults.appliedFixes());
        assertEquals(Set.of(), defaults.revertedFixes());
        assertEquals(Crc32cImpl.ACCELERATED, defaults.crc32c());
        assertTrue(defaults.assertions());
        assertSame(KernelClock.SYSTEM, defaults.clock());
        assertFalse(defaults.slabDebug());
        assertEquals(4, defaults.workerThreads());
        assertEquals(4096, defaults.logCapacity());
    }

    @Test
    void revertMakesACopy() {
        KernelConfig c = defaults.revert(FixSwitch.CLEANER_RO_REMOUNT_RACE, FixSwitch.TRANS_LIST_ASSERT);
        assertEquals(Set.of(FixSwitch.CLEANER_RO_REMOUNT_RACE, FixSwitch.TRANS_LIST_ASSERT), c.revertedFixes());
        assertTrue(c.reverted(FixSwitch.CLEANER_RO_REMOUNT_RACE));
        assertFalse(c.applied(FixSwitch.TRANS_LIST_ASSERT));
        assertTrue(c.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT));
        assertEquals(Set.of(), defaults.revertedFixes(), "the original is immutable");
        assertEquals(c.revertedFixes(), c.revert(List.of(FixSwitch.TRANS_LIST_ASSERT)).revertedFixes(), "idempotent");
        assertTrue(c.toString().contains("CLEANER_RO_REMOUNT_RACE"), c.toString());
    }

    @Test
    void withAppliedSetsExactlyThoseFixes() {
        KernelConfig none = defaults.withApplied(List.of());
        assertEquals(EnumSet.allOf(FixSwitch.class), none.revertedFixes());
        KernelConfig one = none.withApplied(List.of(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP));
        assertEquals(Set.of(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP), one.appliedFixes());
        one.appliedFixes().clear();
        assertEquals(1, one.appliedFixes().size(), "appliedFixes() is a copy");
    }

    @Test
    void otherSettingsCarryTheFixesAlong() {
        ManualClock clock = new ManualClock();
        KernelConfig c = defaults.revert(FixSwitch.ORPHAN_ROOTS_RO_MOUNT).crc32c(Crc32cImpl.GENERIC).assertions(false)
            .clock(clock).slabDebug(true).workerThreads(2).logCapacity(16);
        assertEquals(Set.of(FixSwitch.ORPHAN_ROOTS_RO_MOUNT), c.revertedFixes());
        assertEquals(Crc32cImpl.GENERIC, c.crc32c());
        assertFalse(c.assertions());
        assertSame(clock, c.clock());
        assertTrue(c.slabDebug());
        assertEquals(2, c.workerThreads());
        assertEquals(16, c.logCapacity());
        assertThrows(IllegalArgumentException.class, () -> defaults.workerThreads(0));
        assertThrows(IllegalArgumentException.class, () -> defaults.workerThreads(65));
        assertThrows(IllegalArgumentException.class, () -> defaults.logCapacity(15));
    }

    @Test
    void fixSwitchesParseInKebabCase() {
        for (FixSwitch f : FixSwitch.values()) {
            assertEquals(f, FixSwitch.parse(f.kebab()));
            assertEquals(f, FixSwitch.parse(f.name()));
        }
        assertEquals("qgroup-rescan-ro-remount", FixSwitch.QGROUP_RESCAN_RO_REMOUNT.kebab());
        assertEquals(FixSwitch.DELAYED_IPUTS_RO_REMOUNT, FixSwitch.parse("  Delayed-Iputs-RO-Remount "));
    }

    @Test
    void anUnknownSwitchListsTheValidNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FixSwitch.parse("cleaner-race"));
        assertEquals("unknown fix switch 'cleaner-race'; valid: qgroup-rescan-ro-remount, orphan-roots-ro-mount, "
            + "cleaner-ro-remount-race, trans-list-assert, delayed-iputs-ro-remount, dead-roots-before-orphan-cleanup, "
            + "cleaner-lost-park-wakeup, trans-kthread-lost-stop-wakeup, quota-disable-rescan-deadlock, "
            + "endio-write-flush-at-umount, qgroup-rescan-resume-rearm, orphan-roots-inodes-in-memory, quota-rescan-disable-null-deref, qgroup-rescan-requeue-waited, quota-enable-rescan-einprogress, "
            + "qgroup-status-rescan-without-on, remount-rw-failure-commit, qgroup-rescan-failed-init-rearm, error-commit-super-early, "
            + "qgroup-rescan-end-before-complete, fsync-ro-remount-race, delayed-workers-ro-remount, delalloc-flush-at-umount, mount-rw-frozen, uuid-rescan-generation-check, discard-worker-infinite-loop, discard-resume-ro-to-rw, workers-flush-at-umount, "
            + "quota-enable-qgroup-ioctl-deadlock, quota-disable-qgroup-ioctl-deadlock, backref-deleting-commit-root, scrub-ro-mount-transaction, async-commit-transaction-kthread, commit-trans-lost-wakeup, async-reclaim-requeued-after-cancel, async-reclaim-cancel-strands-tickets, reclaim-delayed-iputs-cleaner-deadlock, data-reclaim-aborted-loop, delayed-refs-refill-race, preempt-reclaim-ro-remount, reclaim-iputs-at-umount, reclaim-writeback-at-umount, balance-resume-pause-race, delayed-workers-at-error-umount, dev-replace-resume-suspend-race, dev-replace-start-write-access, dev-replace-scratch-before-commit, dev-replace-resume-before-exclop, dev-replace-cursor-past-cancelled-chunk, dev-replace-kthread-enospc-warn, resize-thread-pool-scrub-race, flushoncommit-writeback-warn, add-inode-defrag-closing-race, subvol-create-extent-leak, abort-unused-trans-handle, error-during-close-ctree, dev-replace-target-write-errors, thaw-forced-readonly, dev-replace-swap-before-supers, dev-replace-source-write-errors, dev-replace-extra-mirror, dev-replace-unrepaired-metadata, drop-snapshot-walk-error-abort",
            e.getMessage());
    }

    @Test
    void theKernelContextFollowsItsConfig() {
        ManualClock clock = new ManualClock();
        Kernel k = new Kernel("btrfs", defaults.revert(FixSwitch.TRANS_LIST_ASSERT).clock(clock));
        try {
            assertEquals("btrfs", k.name());
            assertFalse(k.applied(FixSwitch.TRANS_LIST_ASSERT));
            assertTrue(k.applied(FixSwitch.QGROUP_RESCAN_RO_REMOUNT));
            assertSame(clock, k.clock());
            assertTrue(k.crc32c().isFast());
            // a kthread that waits for its stop (one that returns on its own is reaped, and stopping it then
            // would be a use-after-free: KthreadTest pins that)
            Kthread t = k.kthreadd().run("btrfs-cleaner", self -> {
                while (true) {
                    self.setCurrentState(Kthread.TaskState.INTERRUPTIBLE);
                    if (self.shouldStop()) {
                        self.setCurrentState(Kthread.TaskState.RUNNING);
                        return 0;
                    }
                    self.schedule();
                }
            });
            assertEquals(0, t.stop());
            assertTrue(t.toString().startsWith("btrfs-cleaner"));
        } finally {
            assertEquals(List.of(), k.shutdown());
        }
        assertEquals(List.of(), k.kthreadd().liveThreads());
    }

    @Test
    void profilesPickTheVersionAndTheSwitches() {
        assertEquals(KernelVersion.V5_10, KernelConfig.v5_10().version());
        assertEquals(Set.of(), KernelConfig.v5_10().appliedFixes());
        assertEquals(KernelVersion.V5_11, KernelConfig.v5_11().version());
        assertEquals(EnumSet.of(FixSwitch.QGROUP_RESCAN_RO_REMOUNT, FixSwitch.ORPHAN_ROOTS_RO_MOUNT, FixSwitch.CLEANER_RO_REMOUNT_RACE,
            FixSwitch.TRANS_LIST_ASSERT, FixSwitch.DELAYED_IPUTS_RO_REMOUNT), KernelConfig.v5_11().appliedFixes());
        assertEquals(KernelVersion.V5_12, KernelConfig.v5_12().version());
        assertEquals(FixSwitch.seed(), KernelConfig.v5_12().appliedFixes());
        assertEquals(EnumSet.allOf(FixSwitch.class), defaults.appliedFixes(), "defaults: every fix, proposed ones too");
        assertEquals(KernelVersion.V5_12, defaults.version());
        assertEquals(KernelConfig.v5_11().appliedFixes(), KernelConfig.profile(KernelVersion.V5_11).appliedFixes());
        assertEquals(KernelVersion.V5_11, KernelVersion.parse("5.11"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelVersion.parse("5.9"));
        assertTrue(e.getMessage().contains("5.10, 5.11, 5.12"), e.getMessage());
    }

    @Test
    void nullArgumentsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> defaults.crc32c(null)).getMessage().contains("crc32c"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> defaults.clock(null)).getMessage().contains("clock"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> defaults.version(null)).getMessage().contains("version"));
        assertThrows(IllegalArgumentException.class, () -> defaults.revert((FixSwitch[]) null));
        assertThrows(IllegalArgumentException.class, () -> defaults.revert(FixSwitch.TRANS_LIST_ASSERT, null));
        assertThrows(IllegalArgumentException.class, () -> defaults.withApplied(null));
    }

    @Test
    void applyAddsFixes() {
        KernelConfig c = KernelConfig.v5_10().apply(FixSwitch.TRANS_LIST_ASSERT);
        assertEquals(Set.of(FixSwitch.TRANS_LIST_ASSERT), c.appliedFixes());
        assertEquals(KernelVersion.V5_10, c.version(), "applying a fix keeps the version");
    }
}
