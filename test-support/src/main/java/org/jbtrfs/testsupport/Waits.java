package org.jbtrfs.testsupport;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/**
 * The one Awaitility preset of jbtrfs's tests, used explicitly at each wait: {@code Waits.within().until(...)}.
 * Nothing here (or anywhere in the tests) changes Awaitility's global defaults, so a wait means the same whichever
 * test class ran first in the JVM.
 *
 * <ul>
 *   <li>bound: {@link #BOUND} (10 s) unless the call names its own — a bound is where a lost wake-up or a hang
 *       fails the test, never a time a passing test waits for;</li>
 *   <li>poll: from the start, every millisecond — the conditions are cheap reads that flip in microseconds, and
 *       Awaitility's default 100 ms first delay would dominate every reproducer;</li>
 *   <li>exceptions: none ignored — a condition that throws fails the wait at once, with its exception.</li>
 * </ul>
 */
public final class Waits {
    /** How long any wait may take before it fails the test. */
    public static final Duration BOUND = Duration.ofSeconds(10);

    /** The poll interval, from the first evaluation on. */
    public static final Duration POLL = Duration.ofMillis(1);

    private Waits() { }

    /** A wait bounded by {@link #BOUND}. */
    public static ConditionFactory within() {
        return within(BOUND);
    }

    /** A wait bounded by {@code bound}. */
    public static ConditionFactory within(Duration bound) {
        return Awaitility.await().atMost(bound).pollDelay(Duration.ZERO).pollInterval(POLL);
    }
}
