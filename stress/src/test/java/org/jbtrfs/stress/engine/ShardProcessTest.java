package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.report.SummaryJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out end to end: three shards of one seed and cycle bound run as local processes (the CLI with the
 * test-only fault of {@link FailAt}: cycles 5 and 60 fail with one class, 20 with another, 37 with the
 * first again, and 40 would fail with the second — but 37 ended its epoch), their JSON summaries are
 * merged with the CLI's {@code merge}, and the merge equals an unsharded run over the same cycles: the
 * same classes with the same counts and first replays, the same cycles and failing cycles. Epochs 0 and 3
 * are shard 1's, epoch 1 shard 2's, epoch 2 shard 3's. Every fix is applied: nothing but the fault fails.
 */
class ShardProcessTest {
    private static final String FAIL_AT = "5:ise,20:uoe,37:ise,40:uoe,60:ise";
    /**
     * The stall threshold far above the default 0.4 s: four JVMs share the machine's cores with the rest of the build, and
     * an operation of theirs blocked 0.4 s by the load alone is a stall class the merge would carry faithfully but the
     * expected counts do not name (the clean-clone run of 997662d met one: "fill block group" on a reservation ticket).
     * What this test checks is the merge, not the machine's speed; a real hang is still the hung-task watchdog's.
     */
    private static final String[] RUN = {"--workload", "full", "--seed", "7", "--cycles", "64", "--stall-threshold", "5"};

    private static Process start(Path dir, String name, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Djbtrfs.test.failAt=" + FAIL_AT, "-cp", System.getProperty("java.class.path"), FailAt.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".out").toFile()).start();
    }

    private static int exit(Process p, Path dir, String name) throws Exception {
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), name + " did not end");
        return p.exitValue();
    }

    private static String[] with(String... more) {
        List<String> l = new ArrayList<>(List.of(RUN));
        l.addAll(List.of(more));
        return l.toArray(new String[0]);
    }

    @Test
    void threeShardsMergedAreTheUnshardedRun(@TempDir Path dir) throws Exception {
        List<Process> shards = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            shards.add(start(dir, "shard" + i, with("--shard", i + "/3", "--json", dir.resolve("shard" + i + ".json").toString())));
        }
        Process whole = start(dir, "whole", with("--json", dir.resolve("whole.json").toString()));
        for (int i = 1; i <= 3; i++) {
            assertEquals(1, exit(shards.get(i - 1), dir, "shard" + i), Files.readString(dir.resolve("shard" + i + ".out")));
        }
        assertEquals(1, exit(whole, dir, "whole"), Files.readString(dir.resolve("whole.out")));
        Process merge = start(dir, "merge", "merge", dir.resolve("shard1.json").toString(), dir.resolve("shard2.json").toString(),
            dir.resolve("shard3.json").toString(), "--json", dir.resolve("merged.json").toString());
        assertEquals(1, exit(merge, dir, "merge"), "some merged cycle failed: " + Files.readString(dir.resolve("merge.out")));

        Summary w = SummaryJson.read(dir.resolve("whole.json"));
        Summary m = SummaryJson.read(dir.resolve("merged.json"));
        assertEquals(Map.of("error:IllegalStateException@driver", 3L, "error:UnsupportedOperationException@driver", 1L), counts(w),
            "the unsharded run: 5, 37, 60 and 20 failed; 40 was never run");
        assertEquals(counts(w), counts(m));
        assertEquals(firsts(w), firsts(m));
        assertEquals("7:5 --class " + w.classes().get(0).id(), w.classes().get(0).firstReplay());
        assertEquals(w.cycles(), m.cycles(), "cycles 0-5, 16-20, 32-37, 48-60");
        assertEquals(30, w.cycles());
        assertEquals(w.failingCycles(), m.failingCycles());
        assertEquals(w.bugs(), m.bugs());
        assertEquals(w.config(), m.config());
        assertEquals(List.of("1/3", "2/3", "3/3"), m.range().shards());
        assertEquals(w.cycleReports().keySet(), m.cycleReports().keySet());
        assertEquals(SummaryJson.read(dir.resolve("shard2.json")).cycles(), 5, "shard 2 ran epoch 1 up to its failing cycle 20");
    }

    private static Map<String, Long> counts(Summary s) {
        Map<String, Long> m = new TreeMap<>();
        for (FailureClass c : s.classes()) {
            m.put(c.signature(), c.count());
        }
        return m;
    }

    private static Map<String, String> firsts(Summary s) {
        Map<String, String> m = new TreeMap<>();
        for (FailureClass c : s.classes()) {
            m.put(c.signature(), c.firstReplay());
        }
        return m;
    }
}
