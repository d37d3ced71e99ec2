package org.jbtrfs.stress.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A hung-task report is delivered only while the operation it names still runs: the report takes milliseconds to
 * build (every thread's stack), and an operation that ended meanwhile — unwound by an earlier report's panic, its
 * cycle judged and the module replaced — must not have the next cycle's module panicked for it.
 */
class WatchdogDeliveryTest {
    @Test
    void aReportOfAnOperationThatEndedMeanwhileIsDropped() {
        List<Watchdog.Hung> delivered = new ArrayList<>();
        Busy b = new Busy("lifecycle");
        b.enter("remount ro");
        long started = b.startedAt();
        Watchdog.Hung h = new Watchdog.Hung(b, null, "INFO: task lifecycle blocked");

        Watchdog.deliver(delivered::add, b, started, h);
        assertEquals(1, delivered.size(), "still in the operation: delivered");

        b.exit();
        Watchdog.deliver(delivered::add, b, started, h);
        assertEquals(1, delivered.size(), "the operation ended before delivery: dropped");
    }
}
