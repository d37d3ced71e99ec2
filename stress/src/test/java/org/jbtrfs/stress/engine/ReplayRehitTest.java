package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.report.Summary;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How often a replay of a multi-lane failing cycle hits its class again. Thread timing does not
 * replay, so this is a measurement, not a property: tagged "timing", outside the default build
 * ({@code mvn -pl stress verify -Dgroups=timing}); stress/scripts/replay-rehit.sh measures every switch.
 */
@Tag("timing")
class ReplayRehitTest {
    @Test
    void aFoundCycleReplaysItsClass() {
        StressOptions o = StressOptions.defaults().withSeed(1).withReverted(EnumSet.of(FixSwitch.QGROUP_RESCAN_RO_REMOUNT))
            .withDurationNanos(30_000_000_000L).withStopAfterFailures(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = StressRunner.run(o, new PrintStream(out, true, StandardCharsets.UTF_8), false);
        FailureClass c = s.classes().get(0);
        ReplayToken t = s.first().values().iterator().next().replay();
        ByteArrayOutputStream rout = new ByteArrayOutputStream();
        Summary r = StressRunner.replay(o.withReplay(t).withRepeat(5, c.id()), new PrintStream(rout, true, StandardCharsets.UTF_8));
        System.out.println(c.signature() + ": " + r.replay().line());
        assertTrue(r.replay().rehits() >= 1, r.replay().line() + "\n" + rout.toString(StandardCharsets.UTF_8));
    }
}
