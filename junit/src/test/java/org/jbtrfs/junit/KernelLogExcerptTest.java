package org.jbtrfs.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.junit.jupiter.api.Test;

class KernelLogExcerptTest {
    private static LogEntry entry(long seq, LogLevel level, LogEntry.Kind kind, String message) {
        return new LogEntry(seq, level, seq * 1000, "umount", kind, message);
    }

    /** A KASAN report has two traces (access, free): each is cut on its own; frames of other code go. */
    @Test
    void eachTraceKeepsItsFirstJbtrfsFrames() {
        String report = String.join("\n",
            "BUG: KASAN: use-after-free in btrfs_queue_work",
            "Call Trace:",
            " workqueue.BtrfsWorkqueue.queueWork:77",
            " java.util.concurrent.FutureTask.run:264",
            " transaction.DiskIo.writeBtreeInode:120",
            " transaction.DiskIo.closeBtree:99",
            " fs.CloseCtree.run:88",
            " fs.Btrfs.umount:110",
            " com.example.MyTest.leaks:31",
            "Freed by task umount:",
            " workqueue.FsWorkqueues.stopAll:140",
            " fs.CloseCtree.run:80");
        assertEquals(List.of(
            "BUG: KASAN: use-after-free in btrfs_queue_work",
            "Call Trace:",
            " workqueue.BtrfsWorkqueue.queueWork:77",
            " transaction.DiskIo.writeBtreeInode:120",
            " transaction.DiskIo.closeBtree:99",
            " fs.CloseCtree.run:88",
            " ... 3 more frames",
            "Freed by task umount:",
            " workqueue.FsWorkqueues.stopAll:140",
            " fs.CloseCtree.run:80"), KernelLogExcerpt.trimTraces(report));
    }

    @Test
    void onlyReportingEntriesAreShownAndTheExcerptIsBounded() {
        List<LogEntry> log = new ArrayList<>();
        log.add(entry(0, LogLevel.INFO, LogEntry.Kind.TEXT, "BTRFS info (device sdc): disk space caching is enabled"));
        log.add(entry(1, LogLevel.ERR, LogEntry.Kind.TEXT, "BTRFS error (device sdc): commit super ret -5"));
        for (int i = 0; i < 30; i++) {
            log.add(entry(2 + i, LogLevel.WARNING, LogEntry.Kind.WARNING,
                "WARNING: CPU: 0 PID: 1 at fs/btrfs/block-group.c:" + i + " btrfs_free_block_groups\nCall Trace:\n core.A.b:1\n core.A.c:2"));
        }
        String excerpt = KernelLogExcerpt.of(log);
        assertTrue(!excerpt.contains("disk space caching"), excerpt);
        assertTrue(excerpt.contains("commit super ret -5"), excerpt);
        assertTrue(excerpt.lines().count() <= KernelLogExcerpt.MAX_LINES + 1, excerpt);
        assertTrue(excerpt.endsWith("  ... 21 more entries in the file\n"), excerpt);
    }

    @Test
    void aQuietLogSaysSo() {
        List<LogEntry> log = List.of(entry(0, LogLevel.INFO, LogEntry.Kind.TEXT, "BTRFS info (device sdc): first mount"));
        assertEquals("  (nothing at warning level or worse; 1 entry in all)\n", KernelLogExcerpt.of(log));
    }
}
