package org.jbtrfs.stress.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.KernelBug;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.watch.Busy;
import org.junit.jupiter.api.Test;

class ClassifierTest {
    private static Inspection leakedBy(String thread, String function) {
        var t = new Inspection.TransactionInfo(42, "RUNNING", List.of(new Inspection.Handle(thread, function, "START")));
        return new Inspection(List.of(t), List.of(), List.of(), List.of(), Map.of(), false, Set.of(), Set.of(), true, 41,
            List.of(), Map.of(), List.of(), List.of(), Map.of());
    }

    private static List<LogEntry> assertionLog(String expr) {
        KernelLog log = new KernelLog(64, new ManualClock());
        try {
            log.assertThat(false, expr, "disk-io.c", 4185);
        } catch (KernelBug expected) {
            // the BUG line follows the assertion line
        }
        return log.entries();
    }

    @Test
    void theOpenerOfTheLeakedTransactionNamesTheFix() {
        Observation o = new Observation();
        o.log = assertionLog("list_empty(&fs_info->trans_list)");
        o.afterUmount = leakedBy("btrs1-kworker/u4:0", "btrfs_qgroup_rescan_worker");
        var v = Classifier.classify(o, EnumSet.of(FixSwitch.QGROUP_RESCAN_RO_REMOUNT));
        assertEquals(EnumSet.of(Symptom.TRANS_LIST_ASSERT), v.symptoms(), "the BUG after an assertion is the same report");
        assertEquals(Set.of("qgroup-rescan-ro-remount"), v.bugs());
    }

    @Test
    void theCleanerCountsOnlyWhenItWasTheCleaner() {
        assertEquals(FixSwitch.CLEANER_RO_REMOUNT_RACE, Classifier.opener(
            new Inspection.Handle("btrfs-cleaner", "btrfs_start_trans_remove_block_group", "START")));
        assertEquals(null, Classifier.opener(new Inspection.Handle("stress-driver-0", "btrfs_evict_inode", "JOIN")));
        assertEquals(FixSwitch.ORPHAN_ROOTS_RO_MOUNT, Classifier.opener(
            new Inspection.Handle("stress-driver-0", "btrfs_find_orphan_roots", "JOIN")));
    }

    @Test
    void evidenceForAnAppliedFixIsUnknown() {
        Observation o = new Observation();
        o.log = assertionLog("list_empty(&fs_info->trans_list)");
        o.afterUmount = leakedBy("kworker", "btrfs_qgroup_rescan_worker");
        var v = Classifier.classify(o, EnumSet.noneOf(FixSwitch.class));
        assertEquals(Set.of(Classifier.UNKNOWN), v.bugs());
        assertTrue(v.evidence().stream().anyMatch(e -> e.contains("which is applied")), v.evidence().toString());
    }

    @Test
    void delayedIputsAssertionAndDeadRootsAreTheirOwnFixes() {
        Observation o = new Observation();
        o.log = assertionLog("list_empty(&fs_info->delayed_iputs)");
        o.deadRootLeaks.add(257L);
        var v = Classifier.classify(o, EnumSet.allOf(FixSwitch.class));
        assertEquals(EnumSet.of(Symptom.DELAYED_IPUTS_ASSERT, Symptom.DEAD_ROOT_LEAK), v.symptoms());
        // the assertion is either fix's: 5/5, or the later close_ctree flush of endio_write_workers
        assertEquals(Set.of("delayed-iputs-ro-remount", "endio-write-flush-at-umount", "dead-roots-before-orphan-cleanup"), v.bugs());
    }

    @Test
    void busyInodesAfterUnmountPointAtTheLateOrderedExtentPut() {
        KernelLog log = new KernelLog(64, new ManualClock());
        log.log(LogLevel.WARNING, LogEntry.Kind.TEXT, "VFS: Busy inodes after unmount of sdc. Self-destruct in 5 seconds.  Have a nice day...");
        Observation o = new Observation();
        o.log = log.entries();
        o.slabsInUse.add("btrfs_inode: 1");
        var v = Classifier.classify(o, EnumSet.of(FixSwitch.ENDIO_WRITE_FLUSH_AT_UMOUNT));
        assertEquals(EnumSet.of(Symptom.SLAB_LEAK), v.symptoms());
        assertEquals(Set.of("endio-write-flush-at-umount"), v.bugs());
    }

    @Test
    void warningsErrorLinesAndStrayExceptionsAreSymptoms() {
        KernelLog log = new KernelLog(64, new ManualClock());
        log.warnOn(true, "block-group.c", 125, "btrfs_put_block_group");
        log.log(LogLevel.ERR, LogEntry.Kind.TEXT, "BTRFS error (device sdc): something");
        Observation o = new Observation();
        o.log = log.entries();
        o.workloadError = new IllegalStateException("boom");
        o.slabsInUse.add("btrfs_delayed_ref_head: 2");
        var v = Classifier.classify(o, EnumSet.noneOf(FixSwitch.class));
        assertEquals(EnumSet.of(Symptom.WARNING, Symptom.ERROR, Symptom.SLAB_LEAK), v.symptoms());
        assertEquals(Set.of(Classifier.UNKNOWN), v.bugs());
    }

    @Test
    void aCleanCycleHasNoVerdict() {
        var v = Classifier.classify(new Observation(), EnumSet.allOf(FixSwitch.class));
        assertTrue(v.symptoms().isEmpty());
        assertTrue(v.bugs().isEmpty());
    }
}
