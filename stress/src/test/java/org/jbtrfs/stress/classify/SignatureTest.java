package org.jbtrfs.stress.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.ReplayToken;
import org.junit.jupiter.api.Test;

/**
 * Class signatures are built from the evidence's kind, kernel site and lanes only: transids, inode and
 * subvolume numbers, byte numbers, device names and timings do not change them, so the same bug has the
 * same signature (and id) in every run.
 */
class SignatureTest {
    private static Inspection leaked(long transid, String function, String thread) {
        return new Inspection(List.of(new Inspection.TransactionInfo(transid, "RUNNING",
            List.of(new Inspection.Handle(thread, function, "START")))), List.of(), List.of(), List.of(), Map.of(), false,
            Set.of(), Set.of(), true, transid - 1, List.of(), Map.of(), List.of(), List.of(), Map.of(), List.of());
    }

    private static Signature leak(long transid, String lane) {
        Observation o = new Observation();
        o.umounted(lane, leaked(transid, "btrfs_qgroup_rescan_worker", "btrfs1-kworker/u4:" + transid % 3), null);
        return Signature.of(o, EnumSet.of(Symptom.TRANS_LIST_ASSERT));
    }

    @Test
    void aLeakIsNamedByItsOpenerAndLanesNotItsNumbers() {
        Signature a = leak(17, "lifecycle");
        Signature b = leak(4242, "lifecycle");
        assertEquals("leak:btrfs_qgroup_rescan_worker@kworker,lifecycle", a.text());
        assertEquals(a, b);
        assertEquals(a.id(), b.id());
        assertEquals(8, a.id().length());
        assertNotEquals(a.id(), leak(17, "dev2").id(), "another lane's umount is another class");
    }

    private static Signature oops(long id, String dev) {
        Observation o = new Observation();
        o.log = List.of(new LogEntry(1, LogLevel.EMERG, 0, "btrfs-cleaner", LogEntry.Kind.OOPS,
            "Oops: unexpected exception in kthread btrfs-cleaner: org.jbtrfs.core.BtrfsException: item (" + id
                + " ROOT_ITEM 0) not found in tree 1 (device " + dev + ")\nCall Trace:\n  DeadRoots.dropSnapshot+0x1f/0x40\n  Cleaner.run"));
        return Signature.of(o, EnumSet.of(Symptom.ERROR));
    }

    @Test
    void anOopsIsNamedByItsMessageAndFrameWithoutNumbers() {
        Signature a = oops(256, "sdc");
        assertEquals(a.text(), oops(261, "sdd").text());
        assertEquals("oops", a.kind());
        assertEquals(List.of("btrfs-cleaner"), a.lanes());
        assertEquals(true, a.site().endsWith(" at DeadRoots.dropSnapshot"), a.site());
    }

    /** Stop 52: scrub names the device after "on dev" (the kernel's format); one class for every filesystem of a run. */
    @Test
    void aDeviceNamedOnDevIsDropped() {
        assertEquals(Signature.normalise("BTRFS error (device sdd): unable to fixup (regular) error at logical 7 on dev sdd"),
            Signature.normalise("BTRFS error (device sdc): unable to fixup (regular) error at logical 9 on dev sdc"));
    }

    /** Stop 78 (hunt 78001: one class per disk): the device a statistics line counts on is dropped too. */
    @Test
    void theDeviceADevStatLineNamesIsDropped() {
        assertEquals(Signature.normalise("BTRFS error (device sde): bdev sde errs: wr 0, rd 1, flush 0, corrupt 0, gen 0"),
            Signature.normalise("BTRFS error (device sdc): bdev sdk errs: wr 0, rd 3, flush 0, corrupt 0, gen 0"));
    }

    @Test
    void aStallIsNamedByTheSleepItWaitedInNotHowLong() {
        Observation o1 = new Observation();
        o1.stall(new Observation.Stall("driver-0", "umount", 1_200_000_000L, "Kthread.park <- CloseCtree.closeCtree", "x", null));
        Observation o2 = new Observation();
        o2.stall(new Observation.Stall("driver-1", "umount", 400_000_001L, "Kthread.park <- CloseCtree.closeCtree", "y", null));
        Signature a = Signature.of(o1, EnumSet.of(Symptom.STALL));
        assertEquals("stall:umount in Kthread.park <- CloseCtree.closeCtree@driver", a.text());
        assertEquals(a, Signature.of(o2, EnumSet.of(Symptom.STALL)));
        assertEquals(org.jbtrfs.core.FixSwitch.CLEANER_LOST_PARK_WAKEUP, Classifier.stallCause("Kthread.park <- CloseCtree.closeCtree"));
        assertEquals(org.jbtrfs.core.FixSwitch.TRANS_KTHREAD_LOST_STOP_WAKEUP, Classifier.stallCause("Kthread.stop <- CloseCtree.closeCtree"));
    }

    @Test
    void aClassTableCountsCyclesOfOneSignatureAndKeepsTheFirstReplay() {
        ClassTable t = new ClassTable();
        Signature s = leak(5, "lifecycle");
        for (int c = 3; c < 6; c++) {
            t.record(new CycleResult(0, c, 0, new ReplayToken(9, c, 0), EnumSet.of(Symptom.TRANS_LIST_ASSERT),
                Set.of("qgroup-rescan-resume-rearm"), List.of(), List.of(), null, "", s), c);
        }
        FailureClass fc = t.snapshot().get(0);
        assertEquals(3, fc.count());
        assertEquals("9:3 --class " + s.id(), fc.firstReplay());
        assertEquals(List.of("qgroup-rescan-resume-rearm"), fc.attributedTo());
        assertEquals("kernel bug kept bug-for-bug; proposed fix qgroup-rescan-resume-rearm", fc.decision());
        FailureClass merged = fc.merge(fc);
        assertEquals(6, merged.count());
    }
}
