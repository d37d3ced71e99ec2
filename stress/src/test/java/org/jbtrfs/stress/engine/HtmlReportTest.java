package org.jbtrfs.stress.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.report.CycleReport;
import org.jbtrfs.stress.report.HtmlReport;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.report.SummaryJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * The failure report of a known failing cycle: a lanes cycle that fails (the test-only fault of
 * {@link FailAt}: cycle 3 of seed 11, whatever the timing) after its lanes ran. Its page has the thread
 * columns, the cycle's operations and kernel log lines, the exact replay command; it is well-formed
 * XHTML and fetches nothing; the JSON summary carries the cycle so that a merge can draw it again.
 */
class HtmlReportTest {
    @AfterEach
    void noFault() { FailAt.install(null); }

    @Test
    void aFailingCyclesPageShowsItsThreadsOperationsAndLog(@TempDir Path dir) throws Exception {
        FailAt.install(Map.of(3L, "ise"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = StressRunner.run(StressOptions.defaults().withSeed(11).withCycles(4).withReport(dir),
            new PrintStream(out, true, StandardCharsets.UTF_8), false);
        assertEquals(1, s.failingCycles(), out.toString(StandardCharsets.UTF_8));
        FailureClass c = s.classes().get(0);
        assertEquals("error:IllegalStateException@driver", c.signature());
        CycleReport r = s.cycleReports().get(c.id());
        assertNotNull(r);
        assertEquals("11:3", r.replay());
        List<Path> pages = HtmlReport.write(s, dir);
        assertEquals(List.of(dir.resolve("index.html"), dir.resolve("class-" + c.id() + ".html")), pages);
        String page = Files.readString(pages.get(1));

        for (String column : List.of("driver", "lifecycle", "btrfs-cleaner", "btrfs-transaction", "rescan worker", "other workers")) {
            assertTrue(page.contains(">" + column + "</text>"), "column " + column);
        }
        assertTrue(r.ops().stream().anyMatch(o -> o.column().equals("driver") && o.name().startsWith("mount")), r.ops().toString());
        assertTrue(r.ops().stream().anyMatch(o -> o.column().equals("lifecycle")), "the lifecycle lane's operations: " + r.ops());
        for (CycleReport.Span o : r.ops()) {
            assertTrue(page.contains("<title>" + o.name() + " "), "operation " + o.name() + " drawn with its time");
        }
        assertFalse(r.log().isEmpty(), "the cycle logged (mount: disk space caching)");
        for (CycleReport.LogLine l : r.log()) {
            assertTrue(page.contains(HtmlReportTestText.esc(l.text().lines().findFirst().orElse(""))), "log line " + l.text());
        }
        assertTrue(page.contains("java -jar stress/target/jbtrfs-stress.jar replay 11:3 --class " + c.id()
            + " --crc32c generic --workload lanes"), "the exact replay command");
        assertTrue(page.contains("IllegalStateException: test fault at cycle 3"), "the evidence");

        for (Path p : pages) {
            String html = Files.readString(p);
            assertFalse(html.contains("http://") || html.contains("https://"), p + " refers to the network");
            assertFalse(html.contains("<script"), p + " has a script");
            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(p.toFile());
            assertEquals("html", d.getDocumentElement().getTagName());
            NodeList svgs = d.getElementsByTagName("svg");
            assertTrue(p.endsWith("index.html") || svgs.getLength() >= 2, "a class page has the overview and the table");
        }
        String index = Files.readString(pages.get(0));
        assertTrue(index.contains("<a href=\"class-" + c.id() + ".html\">" + c.id() + "</a>"), index);

        Path json = dir.resolve("s.json");
        Files.writeString(json, SummaryJson.write(s));
        Summary back = SummaryJson.read(json);
        assertEquals(s.cycleReports(), back.cycleReports(), "the JSON carries the cycle report as it was");
        assertEquals(s.classes(), back.classes());
        List<String> seen = new ArrayList<>();
        back.first().forEach((k, f) -> seen.add(k + " " + f.replay()));
        assertEquals(List.of("unknown 11:3"), seen);
    }

    /**
     * With several filesystems the kthreads of a lanes cycle's mounts belong to that cycle: their hook arrivals are
     * perturbed by its schedule and drawn in its report. Regression: the lanes workload never registered them (only
     * the full workload did), so with {@code --filesystems N > 1} the cleaner and the transaction kthread ran
     * unperturbed and unrecorded — patch 3/5's window, which needs the cleaner held before its transaction, was
     * never found (seed 3, 3 filesystems, 1,500 cycles, patch reverted: 0 finds; registered: 8 in 30 s).
     */
    @Test
    void withSeveralFilesystemsALanesCyclesKthreadsAreInItsTimeline(@TempDir Path dir) {
        CycleReport r = failingCycleOfTwoFilesystems(dir);
        List<String> kthreadMarks = r.arrivals().stream().map(CycleReport.Mark::column)
            .filter(c -> c.equals("btrfs-cleaner") || c.equals("btrfs-transaction")).toList();
        assertFalse(kthreadMarks.isEmpty(), "the kthreads' hook arrivals: " + r.arrivals());
    }

    /**
     * With several filesystems the driver thread's own hook arrivals — the cycle's mount, its lifecycle steps, its
     * final umount — belong to its cycle too. Regression (stop 58): the driver thread was never registered, so with
     * {@code --filesystems N > 1} (every hunt's and time-to-find's setting) its arrivals went to the shared scope: the
     * cycle's mount and close_ctree were never perturbed nor drawn. With one filesystem they always were.
     */
    @Test
    void withSeveralFilesystemsTheDriversOwnArrivalsAreInItsTimeline(@TempDir Path dir) {
        CycleReport r = failingCycleOfTwoFilesystems(dir);
        assertTrue(r.arrivals().stream().anyMatch(m -> m.column().equals("driver")), "the driver's own arrivals: " + r.arrivals());
    }

    /** The report of cycle 3 of seed 11 on filesystem 0 of two, failed by {@link FailAt} after its lanes ran. */
    private static CycleReport failingCycleOfTwoFilesystems(Path dir) {
        FailAt.install(Map.of(3L, "ise"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Summary s = StressRunner.run(StressOptions.defaults().withSeed(11).withCycles(8).withFilesystems(2).withReport(dir),
            new PrintStream(out, true, StandardCharsets.UTF_8), false);
        assertEquals(1, s.failingCycles(), out.toString(StandardCharsets.UTF_8));
        CycleReport r = s.cycleReports().get(s.classes().get(0).id());
        assertNotNull(r);
        return r;
    }

    /** The report's escaping, as a test sees it. */
    static final class HtmlReportTestText {
        static String esc(String s) {
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;").replace("'", "&#39;");
        }
    }
}
