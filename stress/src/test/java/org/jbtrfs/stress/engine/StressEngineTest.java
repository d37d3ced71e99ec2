package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.stress.cli.StressMain;
import org.jbtrfs.stress.report.Summary;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The engine with the single-driver workload ({@code --workload full}), bounded: a fixed number of cycles
 * with every fix applied finds nothing (default build). The tests tagged {@code timing} are left out of the
 * default build and run by scripts/figures.sh ({@code mvn -B verify -Ptiming}): one asserts a cycle rate,
 * the others find a reverted fix's bug by chance — no hook is armed for it, the seeds below merely happen
 * to reach the window early (stress/scripts/time-to-find.sh: the first failure comes after 0.1–5 s for
 * every seed tried), and each run stops at its first failing cycle.
 */
class StressEngineTest {
    private static Summary run(StressOptions o, ByteArrayOutputStream sink) {
        return StressRunner.run(o, new PrintStream(sink, true, StandardCharsets.UTF_8), false);
    }

    /** Bounded by cycles, not time: every cycle remounts RO (an RW mount always does) and unmounts. */
    @Test
    void everyFixAppliedFindsNothingInAHundredCycles() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(11).withCycles(100), out);
        assertEquals(0, s.failingCycles(), out.toString(StandardCharsets.UTF_8));
        assertEquals(100, s.cycles());
        assertTrue(s.hooks().get(Hook.REMOUNT_BEFORE_COMMIT_SUPER) > 0, s.hooks().toString());
        assertTrue(s.hooks().get(Hook.UMOUNT_BEFORE_STOP_WORKERS) >= 100, s.hooks().toString());
        assertEquals(0, s.exitCode());
        // the driver hands over to the cleaner and the transaction kthread at the least (InterleavingCoverage)
        assertTrue(s.notes().stream().anyMatch(n -> n.matches("interleaving coverage: [1-9][0-9,]* distinct edges .*")), s.notes().toString());
    }

    /** A rate (cycles in 3 s) and windows reached by chance: timing. */
    @Test
    @Tag("timing")
    void everyFixAppliedFindsNothing() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(11).withDurationNanos(3_000_000_000L), out);
        assertEquals(0, s.failingCycles(), out.toString(StandardCharsets.UTF_8));
        assertTrue(s.cycles() > 50, "cycles: " + s.cycles());
        // the workload reaches the windows the fixes are about
        for (Hook h : new Hook[] {Hook.REMOUNT_BEFORE_COMMIT_SUPER, Hook.CLEANER_BEFORE_DELAYED_IPUT,
            Hook.CLEANER_BEFORE_DROP_SNAPSHOT_TRANS, Hook.QGROUP_RESCAN_BEFORE_LEAF, Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE,
            Hook.UMOUNT_BEFORE_STOP_WORKERS}) {
            assertTrue(s.hooks().get(h) > 0, h + " never reached: " + s.hooks());
        }
        assertEquals(0, s.exitCode());
    }

    @ParameterizedTest(name = "revert {0}: found and attributed to {1}")
    @Tag("timing")
    @CsvSource(delimiter = ';', value = {
        "qgroup-rescan-ro-remount; qgroup-rescan-ro-remount; 2",
        "orphan-roots-ro-mount; orphan-roots-ro-mount; 3",
        "dead-roots-before-orphan-cleanup; dead-roots-before-orphan-cleanup; 2",
        "trans-list-assert,qgroup-rescan-ro-remount; qgroup-rescan-ro-remount; 1",
        "endio-write-flush-at-umount; endio-write-flush-at-umount; 3"})
    void aRevertedFixIsFoundByChanceAndAttributed(String revert, String bug, long seed)  {
        Set<FixSwitch> reverted = StressOptions.switches(revert);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(seed).withReverted(reverted).withCycles(600)
            .withDurationNanos(10_000_000_000L).withStopAfterFailures(1), out);
        String report = out.toString(StandardCharsets.UTF_8);
        assertTrue(s.bugs().getOrDefault(bug, 0L) > 0, "not found in " + s.cycles() + " cycles: " + s.bugs() + "\n" + report);
        assertTrue(report.contains("attributed:  [" + bug + "]"), "a full report names the fix");
        assertTrue(report.contains("--replay " + s.first().get(bug).replay()), "and says how to replay it");
        assertEquals(1, s.exitCode());
        if (reverted.contains(FixSwitch.TRANS_LIST_ASSERT)) {
            // without patch 4/5's assertion the leak reaches the final writeback: the seed's symptoms
            assertEquals(0, s.symptoms().get(Symptom.TRANS_LIST_ASSERT));
            assertTrue(s.symptoms().get(Symptom.USE_AFTER_FREE) > 0 && s.symptoms().get(Symptom.WARNING) > 0, s.symptoms().toString());
        }
    }

    /**
     * Patch 3/5's reachable window: the cleaner's block-group step (a second data chunk filled and emptied).
     * Since the RO remount writes back data and metadata before setting RO (sync_filesystem, issue 10) the
     * cleaner's pass usually ends first: the window takes longer to hit (3–12 s on a loaded 2-core
     * machine until stop 32; stop 34 measured 30.7 s for seed 1 and 9.6 s for seed 2 through the CLI, and this run,
     * seed 1 under surefire, did not find it within its 60 s: docs/explorer.md, stop 34), hence the wide bound; the run
     * stops at the first find.
     */
    @Test
    @Tag("timing")
    void theCleanerBlockGroupWindowIsFoundByChance() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = run(StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(1)
            .withReverted(EnumSet.of(FixSwitch.CLEANER_RO_REMOUNT_RACE))
            .withCycles(3000).withDurationNanos(60_000_000_000L).withStopAfterFailures(1), out);
        assertTrue(s.bugs().getOrDefault("cleaner-ro-remount-race", 0L) > 0, s.bugs().toString());
    }

    /** Replays the first failure a seeded run finds: that run finds it by chance, so timing. */
    @Test
    @Tag("timing")
    void aFailingCycleReplaysFromItsSeed() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StressOptions o = StressOptions.defaults().withWorkload(StressOptions.Workload.FULL).withSeed(2).withReverted(EnumSet.of(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP))
            .withCycles(300).withDurationNanos(8_000_000_000L).withStopAfterFailures(1);
        Summary s = run(o, out);
        ReplayToken t = s.first().get("dead-roots-before-orphan-cleanup").replay();
        ByteArrayOutputStream replayOut = new ByteArrayOutputStream();
        StressOptions r = o.withReplay(t);
        Summary rs = StressRunner.replay(r, new PrintStream(replayOut, true, StandardCharsets.UTF_8));
        String text = replayOut.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("replaying cycles " + (t.cycle() - t.cycle() % Seeds.EPOCH) + ".." + t.cycle()), text);
        assertTrue(text.contains("cycle seed 0x" + Long.toHexString(Seeds.cycleSeed(t.runSeed(), t.fs(), t.cycle()))), text);
        assertEquals(t.cycle() % Seeds.EPOCH + 1, rs.cycles(), "the epoch's earlier cycles ran first");
    }

    @Test
    void theMinimalCycleOnTwoFilesystemsIsClean(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Path json = dir.resolve("summary.json");
        int code = StressMain.run(new String[] {"--workload", "minimal", "--cycles", "400", "--filesystems", "2", "--seed", "3",
            "--json", json.toString()}, new PrintStream(out), new PrintStream(out), false);
        assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
        String j = Files.readString(json);
        for (String key : new String[] {"\"cycles\": 400", "\"seconds\"", "\"cyclesPerSecond\"", "\"seed\": 3", "\"reverted\": []",
            "\"bugs\"", "\"symptoms\"", "\"USE_AFTER_FREE\": 0", "\"DEAD_ROOT_LEAK\": 0", "\"HUNG_TASK\": 0", "\"first\"", "\"hooks\""}) {
            assertTrue(j.contains(key), key + " missing in " + j);
        }
    }
}
