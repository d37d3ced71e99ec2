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
}
