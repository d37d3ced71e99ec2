package org.jbtrfs.stress.lanes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.engine.StressRunner;
import org.jbtrfs.stress.report.Summary;
import org.junit.jupiter.api.Test;

/**
 * Stop 35: a lanes cycle may end with a power cut — fstests' {@code _flakey_drop_and_remount} on the dm-flakey target the
 * runner puts under every main device — and the next cycle of the epoch mounts what the last commit before the cut
 * left (orphans of files unlinked while open, subvolumes deleted and not yet dropped, a rescan in progress, older
 * free-space caches) through open_ctree's recovery paths, which the clean umounts before never left them.
 */
class LanePowerCutTest {

    @Test
    void aShareOfTheCyclesEndsWithAPowerCutNamedInThePlan() {
        int cuts = 0;
        int n = 2000;
        for (int c = 0; c < n; c++) {
            LanePlan p = LanePlan.of(Seeds.cycleSeed(35, 0, c), c % 16);
            if (p.powerCut()) {
                cuts++;
                assertTrue(p.toString().contains("power cut at the end"), p.toString());
            }
        }
        assertTrue(cuts > n * (LanePlan.P_POWER_CUT - 0.05) && cuts < n * (LanePlan.P_POWER_CUT + 0.05), "cuts: " + cuts);
    }

    /**
     * The cycles after a power cut mount and run like any other: with every fix applied, an epoch of 16 cycles of which
     * the plans cut the power several times ends with no failing cycle — the mounts after the cuts find a filesystem
     * btrfs recovers (its last commit), not a harness's half-written one. Bounded by cycles, like the engine's own
     * hundred-cycle check; the seed is one whose first epoch cuts the power at least three times.
     */
    @Test
    void theMountsAfterPowerCutsRecoverAndTheEpochRunsClean() {
        long seed = 0;
        for (long s = 1; ; s++) {
            int cuts = 0;
            for (int c = 0; c < 15; c++) {
                cuts += LanePlan.of(Seeds.cycleSeed(s, 0, c), c).powerCut() ? 1 : 0;
            }
            if (cuts >= 3) {
                seed = s;
                break;
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = StressRunner.run(StressOptions.defaults().withSeed(seed).withCycles(16)
            .withLanes(List.of("lifecycle", "file", "subvol", "quota", "sync")), new PrintStream(out, true, StandardCharsets.UTF_8), false);
        assertEquals(16, s.cycles());
        assertEquals(0, s.failingCycles(), out.toString(StandardCharsets.UTF_8));
    }
}
