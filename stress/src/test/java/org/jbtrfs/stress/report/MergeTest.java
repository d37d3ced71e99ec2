package org.jbtrfs.stress.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.Shard;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.stress.cli.StressMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Merging shards' summaries: what is refused, how the totals and the first replays are made. */
class MergeTest {
    private static FailureClass cls(String sig, long count, String first, double at) {
        return new FailureClass("id-" + sig, sig, "error", "x", List.of("driver"), count, first + " --class id-" + sig, at, List.of("unexplained"),
            "not triaged", List.of("ERROR"));
    }

    private static Summary shard(StressOptions o, long cycles, double seconds, List<FailureClass> classes) {
        Map<Hook, Long> hooks = new EnumMap<>(Hook.class);
        hooks.put(Hook.UMOUNT_START, cycles);
        Map<Symptom, Long> sym = new EnumMap<>(Symptom.class);
        sym.put(Symptom.ERROR, classes.stream().mapToLong(FailureClass::count).sum());
        long failing = sym.get(Symptom.ERROR);
        Summary.Config config = Summary.Config.of(o);
        return new Summary(Summary.Version.current(), config, Summary.Range.of(o), cycles, seconds, cycles / seconds, o.seed(),
            config.reverted(), config.kernel(), config.crc32c(), 1, config.workload(), failing, failing == 0 ? Map.of() : Map.of("unknown",
                failing), sym, Map.of(), hooks, new EnumMap<>(Fault.class), failing, classes, null, List.of("a note"), null, Map.of());
    }

    private static StressOptions opts(int i, int n) {
        return StressOptions.defaults().withSeed(9).withCycles(96).withShard(new Shard(i, n));
    }

    @Test
    void countsAddFirstReplaysAreTheFirstInSeedOrderAndSecondsTheLongestShard() throws Exception {
        Summary a = shard(opts(1, 3), 40, 3.0, List.of(cls("A", 2, "9:50", 2.5), cls("B", 1, "9:3", 0.2)));
        Summary b = shard(opts(2, 3), 30, 5.0, List.of(cls("A", 1, "9:20", 4.9)));
        Summary c = shard(opts(3, 3), 26, 2.0, List.of());
        Summary m = Merge.of(List.of(new Merge.Input("a", a), new Merge.Input("b", b), new Merge.Input("c", c)));
        assertEquals(96, m.cycles());
        assertEquals(4, m.failingCycles());
        assertEquals(5.0, m.seconds(), "the longest shard: they run side by side");
        assertEquals(96 / 5.0, m.cyclesPerSecond(), 1e-9);
        Map<String, String> first = new TreeMap<>();
        Map<String, Long> counts = new TreeMap<>();
        for (FailureClass f : m.classes()) {
            first.put(f.signature(), f.firstReplay());
            counts.put(f.signature(), f.count());
        }
        assertEquals(Map.of("A", "9:20 --class id-A", "B", "9:3 --class id-B"), first, "seed order, not the time into a shard");
        assertEquals(Map.of("A", 3L, "B", 1L), counts);
        assertEquals("A", m.classes().get(0).signature(), "most frequent first");
        assertEquals(96L, m.hooks().get(Hook.UMOUNT_START));
        assertEquals(4L, m.symptoms().get(Symptom.ERROR));
        assertEquals(List.of("1/3", "2/3", "3/3"), m.range().shards());
        assertTrue(m.notes().contains("shard 2/3: a note"), m.notes().toString());
        assertTrue(m.text().startsWith("jbtrfs stress: 96 cycles in 5.0 s (19.2 cycles/s), seed 9, shards 1/3,2/3,3/3, kernel all-fixes"),
            m.text());
        Summary partial = Merge.of(List.of(new Merge.Input("a", a), new Merge.Input("c", c)));
        assertTrue(partial.notes().contains("shards missing from this merge: 2/3"), partial.notes().toString());
    }

    @Test
    void summariesOfAnotherRunOrConfigAreRefused() {
        Summary a = shard(opts(1, 2), 10, 1, List.of());
        Map<String, Summary> bad = new TreeMap<>();
        bad.put("crc32c", shard(opts(2, 2).withCrc32c(org.jbtrfs.core.Crc32cImpl.ACCELERATED), 10, 1, List.of()));
        bad.put("reverted", shard(opts(2, 2).withReverted(StressOptions.switches("trans-list-assert")), 10, 1, List.of()));
        bad.put("kernel", shard(opts(2, 2).withKernel(org.jbtrfs.core.KernelVersion.parse("5.12")), 10, 1, List.of()));
        bad.put("lanes", shard(opts(2, 2).withLanes(List.of("lifecycle")), 10, 1, List.of()));
        bad.put("run seed", shard(opts(2, 2).withSeed(10), 10, 1, List.of()));
        bad.put("shard count", shard(opts(2, 3), 10, 1, List.of()));
        bad.put("twice", shard(opts(1, 2), 10, 1, List.of()));
        bad.put("versions", withVersion(shard(opts(2, 2), 10, 1, List.of()), new Summary.Version(Summary.FORMAT, "0.0.1")));
        bad.put("format", withVersion(shard(opts(2, 2), 10, 1, List.of()), new Summary.Version(1, "0.1.0")));
        Map<String, String> why = Map.of("crc32c", "different configs: crc32c generic vs accelerated", "reverted", "reverted [] vs [trans-list-assert]",
            "kernel", "kernel all-fixes vs 5.12", "lanes", "lanes [lifecycle, file, subvol, quota, sync, dev2, quota2, scrub, file2, balance, balance2, replace] vs [lifecycle]",
            "run seed", "different run seed", "shard count", "different shard count", "twice", "shard 1/2 is given twice",
            "versions", "different versions", "format", "summary format 1");
        bad.forEach((k, s) -> {
            Merge.MergeException e = assertThrows(Merge.MergeException.class,
                () -> Merge.of(List.of(new Merge.Input("a.json", a), new Merge.Input("b.json", s))), k);
            assertTrue(e.getMessage().contains(why.get(k)), k + ": " + e.getMessage());
        });
    }

    private static Summary withVersion(Summary s, Summary.Version v) {
        return new Summary(v, s.config(), s.range(), s.cycles(), s.seconds(), s.cyclesPerSecond(), s.seed(), s.reverted(), s.kernel(),
            s.crc32c(), s.filesystems(), s.workload(), s.failingCycles(), s.bugs(), s.symptoms(), s.first(), s.hooks(), s.faults(),
            s.moduleReloads(), s.classes(), s.replay(), s.notes(), s.aborted(), s.cycleReports());
    }

    /** The CLI: a refused merge and an unreadable file are exit 2 with one line naming the file. */
    @Test
    void theMergeCommandRefusesWithExitTwo(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.json");
        Path b = dir.resolve("b.json");
        Path old = dir.resolve("old.json");
        Files.writeString(a, SummaryJson.write(shard(opts(1, 2), 10, 1, List.of())));
        Files.writeString(b, SummaryJson.write(shard(opts(2, 2).withCrc32c(org.jbtrfs.core.Crc32cImpl.ACCELERATED), 10, 1, List.of())));
        Files.writeString(old, "{\n  \"cycles\": 3,\n  \"seconds\": 1.000\n}\n");
        for (String[] args : new String[][] {{"merge", a.toString(), b.toString()}, {"merge", a.toString(), old.toString()},
            {"merge", a.toString(), dir.resolve("missing.json").toString()}}) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = StressMain.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8), false);
            String e = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, code, e);
            assertTrue(e.startsWith("jbtrfs-stress: merge: ") && e.lines().count() == 1, e);
        }
        Path merged = dir.resolve("m.json");
        Files.writeString(b, SummaryJson.write(shard(opts(2, 2), 10, 1, List.of())));
        int code = StressMain.run(new String[] {"merge", a.toString(), b.toString(), "--json", merged.toString()},
            new PrintStream(new ByteArrayOutputStream()), System.err, false);
        assertEquals(0, code);
        assertEquals(20, SummaryJson.read(merged).cycles());
    }
}
