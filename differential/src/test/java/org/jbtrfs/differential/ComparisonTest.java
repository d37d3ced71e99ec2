package org.jbtrfs.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.differential.scenario.Scenario;
import org.jbtrfs.differential.scenario.ScenarioParser;
import org.junit.jupiter.api.Test;

class ComparisonTest {
    private static final Scenario S = ScenarioParser.parse("t.scn", String.join("\n", "scenario t",
        "expect *: qgroup status when ON|RESCAN|INCONSISTENT* vs ON|RESCAN* -- 6.18 sets INCONSISTENT",
        "expect *: dmesg /using crc32c/ -- 6.18 names the driver crc32c-lib"));

    private static TargetRun run(String name, Observation... obs) { return new TargetRun(name, List.of(obs), null, 0.5); }

    @Test
    void rowsAgreeDifferOrDifferForAStatedReason() {
        TargetRun k = run("kernel", Observation.compared("a: root item 256", "refs 0"),
            Observation.compared("a: orphan item 256", "present"),
            Observation.compared("b: qgroup status", "ON|RESCAN|INCONSISTENT ×3 (of 3)"),
            Observation.compared("c: qgroup status", "ON"),
            Observation.compared("d: only the kernel saw this", "x"));
        TargetRun p = run("port", Observation.compared("a: root item 256", "refs 0"),
            Observation.compared("a: orphan item 256", "absent"),
            Observation.compared("b: qgroup status", "ON|RESCAN ×3 (of 3)"),
            Observation.compared("c: qgroup status", "ON|RESCAN"),
            Observation.compared("e: only the port saw this", "y"));
        List<Row> rows = Comparison.compare(S, k, p);
        assertEquals(List.of("a: root item 256", "a: orphan item 256", "b: qgroup status", "c: qgroup status",
            "d: only the kernel saw this", "e: only the port saw this"), rows.stream().map(Row::key).toList());
        assertEquals(List.of(Verdict.AGREE, Verdict.DIFFER, Verdict.EXPECTED, Verdict.DIFFER, Verdict.DIFFER, Verdict.DIFFER),
            rows.stream().map(Row::verdict).toList());
        assertEquals("6.18 sets INCONSISTENT", rows.get(2).reason());
        assertEquals(Comparison.ABSENT, rows.get(4).port());
        assertEquals(Comparison.ABSENT, rows.get(5).kernel());
        assertEquals("1 agree, 4 DIFFER, 1 expected", Comparison.summary(rows));
    }

    @Test
    void measurementsShowTheirRatioAndUnobservableRowsTheirReason() {
        TargetRun k = run("kernel", Observation.measured("m: cycle", "4,000 µs"), Observation.measured("m: rate", "250.0 cycles/s"),
            Observation.measured("m: bytes", "100 bytes"), Observation.unobservable("t: open transactions", "no trans_list"));
        TargetRun p = run("port", Observation.measured("m: cycle", "400 µs"), Observation.measured("m: rate", "2500.0 cycles/s"),
            Observation.measured("m: bytes", "50 bytes"), Observation.compared("t: open transactions", "0"));
        List<Row> rows = Comparison.compare(S, k, p);
        assertEquals("port 10.0× faster", rows.get(0).reason());
        assertEquals(Verdict.MEASURED, rows.get(0).verdict());
        assertEquals("port/kernel 10.0×", rows.get(1).reason());
        assertEquals("port/kernel 0.50", rows.get(2).reason());
        assertEquals(Verdict.ONE_SIDED, rows.get(3).verdict());
        assertEquals("no trans_list", rows.get(3).reason());
        assertEquals("port 2.0× slower", Comparison.ratio("1.0 µs", "2.0 µs"));
        assertEquals("", Comparison.ratio("1 µs", "1 bytes"), "different units are not compared");
    }

    @Test
    void repeatedObservationsAreTalliedMostFrequentFirst() {
        List<Observation> t = Comparison.tally(List.of(Observation.compared("k", "paused"), Observation.compared("x", "1"),
            Observation.compared("k", "completed"), Observation.compared("k", "paused")));
        assertEquals(List.of(Observation.compared("k", "paused ×2, completed ×1 (of 3)"), Observation.compared("x", "1")), t);
    }

    @Test
    void theTableIsMarkdownWithEscapedCells() {
        TargetRun k = run("kernel 6.18", Observation.compared("q: qgroup status", "ON|RESCAN"));
        TargetRun p = new TargetRun("port", List.of(Observation.compared("q: qgroup status", "ON")), "line 3 'umount': EBUSY", 0.1);
        String md = TableRenderer.sideBySide(S, k, p, Comparison.compare(S, k, p));
        assertTrue(md.startsWith("### t\n\n| observation | kernel 6.18 | port | verdict | reason |\n|---|---|---|---|---|\n"), md);
        assertTrue(md.contains("| q: qgroup status | ON\\|RESCAN | ON | DIFFER |  |\n"), md);
        assertTrue(md.contains("**port stopped early:** line 3 'umount': EBUSY"), md);
        assertTrue(md.contains("1 DIFFER (kernel 0.5 s, port 0.1 s)"), md);
        String single = TableRenderer.single(S, k);
        assertTrue(single.contains("| observation | kernel 6.18 |\n|---|---|\n| q: qgroup status | ON\\|RESCAN |\n"), single);
    }
}
