package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.junit.jupiter.api.Test;

/**
 * Two filesystems in one module share the kernel log. The explorer's run with {@code --filesystems 2}
 * (seed 9009) counted one kernel BUG twice: filesystem 1's umount asserted trans_list empty — a line naming no
 * device, logged by its lifecycle lane — and filesystem 0's cycle took it for its own.
 */
class LogScopeTest {
    private static LogEntry line(long seq, String thread, String message) {
        return new LogEntry(seq, LogLevel.ERR, 0, thread, LogEntry.Kind.ASSERTION, message);
    }

    @Test
    void anotherFilesystemsLanesAndDriverAndDeviceAreNotThisCyclesEvidence() {
        LogEntry otherLane = line(1, "lane:lifecycle:1", "assertion failed: list_empty(&fs_info->trans_list)");
        LogEntry myLane = line(2, "lane:lifecycle:0", "assertion failed: list_empty(&fs_info->trans_list)");
        LogEntry otherDevice = line(3, "btrfs-cleaner", "BTRFS error (device sdd): x");
        LogEntry myDevice = line(4, "btrfs-cleaner", "BTRFS error (device sdc): y");
        LogEntry otherDriver = line(5, "stress-driver-1", "z");
        LogEntry shared = line(6, "btrfs3-kworker/u4:1", "BUG: kernel NULL pointer dereference");
        LogEntry tenth = line(7, "lane:file:10", "w");
        List<LogEntry> all = List.of(otherLane, myLane, otherDevice, myDevice, otherDriver, shared, tenth);
        assertEquals(List.of(myLane, myDevice, shared), LogScope.forFilesystem(all, "stress-driver-0", "sdc", 0));
        assertEquals(List.of(otherLane, otherDevice, otherDriver, shared),
            LogScope.forFilesystem(all, "stress-driver-1", "sdd", 1));
    }

    /**
     * Stop 66, class cc62fc52: a kthread's WARN names no device; another filesystem's btrfs-devrepl WARN after its
     * injected commit error was taken for this filesystem's, whose cycle injected nothing. The line's owner (the device
     * the logging thread served, WorkOwner) tells them apart; the cycle's second device is its own too; an owner-less
     * line stays everyone's.
     */
    @Test
    void aLineNamingNoDeviceBelongsToTheFilesystemItsThreadServed() {
        LogEntry theirs = new LogEntry(1, LogLevel.WARNING, 0, "btrfs-devrepl", LogEntry.Kind.WARNING,
            "WARNING: CPU: 0 PID: 26 at fs/btrfs/dev-replace.c:741 btrfs_dev_replace_finishing", "sdm");
        LogEntry mine = new LogEntry(2, LogLevel.WARNING, 0, "btrfs-devrepl", LogEntry.Kind.WARNING,
            "WARNING: CPU: 0 PID: 27 at fs/btrfs/dev-replace.c:741 btrfs_dev_replace_finishing", "sdk");
        LogEntry dev2 = new LogEntry(3, LogLevel.WARNING, 0, "btrfs-cleaner", LogEntry.Kind.WARNING, "WARNING: x", "sdd");
        LogEntry nobody = new LogEntry(4, LogLevel.WARNING, 0, "btrfs-cleaner", LogEntry.Kind.WARNING, "WARNING: y");
        List<LogEntry> all = List.of(theirs, mine, dev2, nobody);
        // each filesystem's devices (LogScope.devicesOf): its disk, its spare, its dev2 lane's disk
        assertEquals(List.of(mine, dev2, nobody), LogScope.forFilesystem(all, "stress-driver-0",
            java.util.Set.of("sdc", "sdk", "sdd"), 0), "a replace moved filesystem 0 onto its spare sdk");
        assertEquals(List.of(theirs, nobody), LogScope.forFilesystem(all, "stress-driver-1",
            java.util.Set.of("sde", "sdm", "sdf"), 1));
        java.util.concurrent.atomic.AtomicReference<LogEntry> logged = new java.util.concurrent.atomic.AtomicReference<>();
        org.jbtrfs.core.KernelLog log = new org.jbtrfs.core.KernelLog(8, new org.jbtrfs.core.ManualClock());
        org.jbtrfs.core.WorkOwner.run("sdk", () -> logged.set(log.log(LogLevel.WARNING, LogEntry.Kind.WARNING, "WARNING: z")));
        assertEquals("sdk", logged.get().owner(), "the log records the device the thread served");
        LogEntry dev2Named = line(5, "lane:dev2:0", "BTRFS error (device sdd): z");
        assertEquals(List.of(dev2Named), LogScope.forFilesystem(List.of(dev2Named), "stress-driver-0",
            java.util.Set.of("sdc", "sdk", "sdd"), 0), "a line naming the dev2 lane's filesystem is the cycle's");
        assertEquals(null, log.log(LogLevel.INFO, LogEntry.Kind.TEXT, "no work").owner());
    }

    /**
     * With several filesystems, the watchdog's dead-task limit (an operation blocked 250 ms in a kernel sleep on a
     * module an oops tainted D is hung) applies to the filesystem the oops concerns: a kworker's oops names the
     * device of the work it ran, so the other filesystem's slow waits keep the full limit; an oops naming no
     * filesystem counts for every one.
     */
    @Test
    void aKworkersOopsIsADeadTaskOfItsWorksFilesystemOnly() {
        LogEntry kworker = new LogEntry(1, LogLevel.EMERG, 0, "btrfs3-kworker/u4:1", LogEntry.Kind.OOPS,
            "BUG: kernel NULL pointer dereference, address: 0000000000000000\nTainted: G      D\n"
                + "Workqueue: btrfs_work_helper (device sdd)");
        assertEquals(false, LogScope.hasDeadTask(List.of(kworker), "stress-driver-0", "sdc", 0));
        assertEquals(true, LogScope.hasDeadTask(List.of(kworker), "stress-driver-1", "sdd", 1));
        LogEntry kthread = new LogEntry(2, LogLevel.EMERG, 0, "btrfs-cleaner", LogEntry.Kind.OOPS, "Oops: unexpected exception");
        assertEquals(true, LogScope.hasDeadTask(List.of(kthread), "stress-driver-0", "sdc", 0));
        assertEquals(false, LogScope.hasDeadTask(List.of(line(3, "lane:file:0", "assertion failed: x")), "stress-driver-0", "sdc", 0),
            "an assertion alone is not a dead task (its BUG line is)");
        LogEntry kasan = new LogEntry(4, LogLevel.EMERG, 0, "lane:quota2:1", LogEntry.Kind.USE_AFTER_FREE,
            "BUG: KASAN: use-after-free in btrfs_search_slot");
        assertEquals(true, LogScope.hasDeadTask(List.of(kasan), "stress-driver-1", "sdd", 1), "the port's KASAN report oopses");
        assertEquals(false, LogScope.hasDeadTask(List.of(kasan), "stress-driver-0", "sdc", 0));
    }

    /**
     * A hung-task report names the hung task's filesystem by its device with several filesystems (`--kernel 5.12
     * --filesystems 4`, seed 1001: filesystem 3's remount hung on a dead task, the watchdog's report — logged by the
     * watchdog's thread, naming no device — landed in filesystems 0's and 1's cycles, which then failed with the
     * module's rmmod leaks as an unexplained "slab-leak" class).
     */
    @Test
    void aHungTaskReportIsItsFilesystemsOnly() {
        LogEntry hung = new LogEntry(1, LogLevel.ERR, 0, "jbtrfs-watchdog", LogEntry.Kind.HUNG_TASK,
            "INFO: task driver-3 (device sdf) blocked for 254 ms in 'remount ro' on a module with a dead task");
        assertEquals(List.of(), LogScope.forFilesystem(List.of(hung), "stress-driver-0", "sdc", 0));
        assertEquals(List.of(hung), LogScope.forFilesystem(List.of(hung), "stress-driver-3", "sdf", 3));
    }
}
