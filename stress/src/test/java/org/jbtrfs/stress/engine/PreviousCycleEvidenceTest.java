package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.junit.jupiter.api.Test;

/**
 * A failing cycle's evidence ends with what the epoch's previous cycle on its filesystem did (stop 75: a replace an
 * umount suspended in one cycle and the next cycle's mount resumed showed no cause in the failing cycle alone).
 */
class PreviousCycleEvidenceTest {

    @Test
    void thePreviousCycleIsItsPlanAndItsLastKernelLogLinesFirstLineEach() {
        List<LogEntry> log = new ArrayList<>();
        for (int i = 0; i < Driver.PREVIOUS_LOG_LINES + 5; i++) {
            log.add(new LogEntry(i, LogLevel.INFO, i, "lane:lifecycle:0", LogEntry.Kind.TEXT, "line " + i + "\n  Call Trace:"));
        }
        List<String> lines = Driver.previousCycleLines(41, "lanes lifecycle+replace", log);
        assertEquals(Driver.PREVIOUS_LOG_LINES + 1, lines.size());
        assertTrue(lines.get(0).startsWith("the epoch's previous cycle on this filesystem, 41: lanes lifecycle+replace; its last "
            + Driver.PREVIOUS_LOG_LINES + " of " + log.size() + " kernel log lines:"), lines.get(0));
        assertEquals("  [41] lane:lifecycle:0: line 5", lines.get(1), "the oldest kept, its first line only");
        assertEquals("  [41] lane:lifecycle:0: line " + (log.size() - 1), lines.get(lines.size() - 1));
    }

    @Test
    void aShortLogIsKeptWhole() {
        List<String> lines = Driver.previousCycleLines(3, "none", List.of(
            new LogEntry(0, LogLevel.INFO, 0, "stress-driver-0", LogEntry.Kind.TEXT, "BTRFS info (device sdc): suspending dev_replace for unmount")));
        assertEquals(List.of("the epoch's previous cycle on this filesystem, 3: none; its kernel log:",
            "  [3] stress-driver-0: BTRFS info (device sdc): suspending dev_replace for unmount"), lines);
    }
}
