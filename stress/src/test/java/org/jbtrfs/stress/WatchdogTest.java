package org.jbtrfs.stress;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WatchdogTest {
    @Test
    void aDriverBlockedPastTheLimitIsReportedWithEveryThreadsStack() {
        Busy stuck = new Busy("driver-0");
        Busy idle = new Busy("driver-1");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        try (Watchdog w = new Watchdog(List.of(idle, stuck), 50_000_000L, seen::set)) {
            stuck.enter("umount");
            await().atMost(Duration.ofSeconds(5)).until(() -> seen.get() != null);
        }
        String r = seen.get().report();
        assertTrue(r.startsWith("INFO: task driver-0 blocked for more than 0 seconds in 'umount'."), r);
        assertTrue(r.contains("task:stress-watchdog"), "all threads are dumped: " + r);
    }

    @Test
    void aDriverBetweenOperationsIsNotHung() {
        Busy b = new Busy("driver-0");
        AtomicReference<Watchdog.Hung> seen = new AtomicReference<>();
        try (Watchdog w = new Watchdog(List.of(b), 20_000_000L, seen::set)) {
            b.enter("mount");
            b.exit();
            await().during(Duration.ofMillis(150)).atMost(Duration.ofSeconds(1)).until(() -> seen.get() == null);
        }
    }

    /** End to end with a limit no operation can meet: the run aborts with a HUNG_TASK cycle and exit 1. */
    @Test
    void theRunnerAbortsOnAHungTask() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Summary s = StressRunner.run(StressOptions.defaults().withSeed(4).withHungTaskNanos(1).withDurationNanos(5_000_000_000L),
            new java.io.PrintStream(out, true), false);
        String text = out.toString();
        assertTrue(s.aborted() != null && s.aborted().startsWith("hung task: driver-0"), s.aborted());
        assertTrue(s.symptoms().get(Symptom.HUNG_TASK) >= 1, s.symptoms().toString());
        assertTrue(text.contains("INFO: task driver-0 blocked for more than"), text);
        assertTrue(s.exitCode() == 1);
    }
}
