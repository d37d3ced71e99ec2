package org.jbtrfs.stress.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jbtrfs.stress.classify.FailureClass;

/**
 * {@code --report DIR}: per failure class one self-contained page (XHTML-well-formed HTML, inline SVG and
 * CSS, no script, nothing fetched) drawn from the class's first failing cycle ({@link CycleReport}), and an
 * {@code index.html} that lists the classes. A page shows what an engineer reads to name the racing
 * window: the verdict and the exact replay command; an overview of the cycle on a linear time axis (one
 * row per thread: the driver, each lane, the cleaner, the transaction kthread, the rescan worker, other
 * workers); the same events as a table in time order, one column per thread (reading down a column is
 * what that thread did, across is what ran at once: the operations as bars from start to end, the hook
 * arrivals with the perturbation's delay, the kernel log lines across every column); the kernel log and
 * the evidence.
 */
public final class HtmlReport {
    /** The table shows at most this many rows: the last ones, where the cycle failed. */
    static final int MAX_ROWS = 700;
    private static final int ROW = 16;
    private static final int TIME_W = 78;
    private static final int COL_W = 116;
    private static final int LOG_W = 470;
    private static final Set<String> LOUD = Set.of("WARNING", "ASSERTION", "BUG", "USE_AFTER_FREE", "DOUBLE_FREE", "OOPS", "HUNG_TASK",
        "PANIC", "SLAB_LEAK", "STATE_LEAK");

    private HtmlReport() { }

    /** Writes index.html and one class-ID.html per class that has a cycle report; returns the pages written. */
    public static List<Path> write(Summary s, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> pages = new ArrayList<>();
        for (FailureClass c : s.classes()) {
            CycleReport r = s.cycleReports() == null ? null : s.cycleReports().get(c.id());
            if (r != null) {
                Path p = dir.resolve(page(c));
                Files.writeString(p, classPage(s, c, r));
                pages.add(p);
            }
        }
        Path index = dir.resolve("index.html");
        Files.writeString(index, index(s));
        pages.add(0, index);
        return pages;
    }

    static String page(FailureClass c) { return "class-" + c.id() + ".html"; }

    /** The command that replays the class's first cycle with the run's config. */
    static String replayCommand(Summary s, CycleReport r) {
        return "java -jar stress/target/jbtrfs-stress.jar replay " + r.replay() + " --class " + r.classId() + s.config().replayOptions();
    }

    private static String head(String title) {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" + esc(title) + "</title>\n<style>\n"
            + "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:13px;margin:16px 20px;color:#1d2430;background:#fff}\n"
            + "h1{font-size:20px;margin:0 0 6px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #d5dae1}\n"
            + "code,pre,.mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n"
            + "pre{background:#f5f7fa;border:1px solid #dde2e8;padding:8px;overflow-x:auto;white-space:pre-wrap}\n"
            + "table.facts td{padding:2px 10px 2px 0;vertical-align:top}table.facts td:first-child{color:#5a6473;white-space:nowrap}\n"
            + "table.list{border-collapse:collapse}table.list td,table.list th{border:1px solid #d5dae1;padding:3px 8px;text-align:left}\n"
            + ".sig{font-size:14px;font-weight:bold;color:#9b1c1c}.replay{background:#fff8e1;border-color:#e5c96b}\n"
            + ".loud{color:#b00020;font-weight:bold}.quiet{color:#5a6473}.legend span{margin-right:14px}\n"
            + "</style>\n</head>\n<body>\n";
    }

    private static String index(Summary s) {
        StringBuilder sb = new StringBuilder(head("jbtrfs stress: failure classes"));
        sb.append("<h1>jbtrfs stress: failure classes</h1>\n<pre>").append(esc(s.text().lines().findFirst().orElse(""))).append("</pre>\n");
        sb.append("<p>").append(s.classes().size()).append(" classes in ").append(s.failingCycles()).append(" failing cycles of ")
            .append(s.cycles()).append(".</p>\n");
        sb.append("<table class=\"list\">\n<tr><th>class</th><th>cycles</th><th>signature</th><th>attributed to</th><th>decision</th>"
            + "<th>first replay</th></tr>\n");
        for (FailureClass c : s.classes()) {
            boolean page = s.cycleReports() != null && s.cycleReports().containsKey(c.id());
            sb.append("<tr><td class=\"mono\">").append(page ? "<a href=\"" + page(c) + "\">" + c.id() + "</a>" : c.id())
                .append("</td><td>").append(c.count()).append("</td><td class=\"mono\">").append(esc(c.signature()))
                .append("</td><td>").append(esc(String.join(", ", c.attributedTo()))).append("</td><td>").append(esc(c.decision()))
                .append("</td><td class=\"mono\">").append(esc(c.firstReplay())).append("</td></tr>\n");
        }
        sb.append("</table>\n");
        if (s.classes().isEmpty()) {
            sb.append("<p>No class: every cycle passed.</p>\n");
        }
        return sb.append("</body>\n</html>\n").toString();
    }

    private static String classPage(Summary s, FailureClass c, CycleReport r) {
        StringBuilder sb = new StringBuilder(head("class " + c.id() + " " + c.signature()));
        sb.append("<h1>class <code>").append(c.id()).append("</code></h1>\n<p class=\"sig mono\">").append(esc(c.signature())).append("</p>\n");
        sb.append("<table class=\"facts\">\n");
        fact(sb, "failing cycles", c.count() + " (symptoms: " + String.join(", ", c.symptoms()) + ")");
        fact(sb, "kind, site", c.kind() + " in " + c.site());
        fact(sb, "threads", String.join(", ", c.lanes()));
        fact(sb, "attributed to", String.join(", ", c.attributedTo()));
        fact(sb, "decision", c.decision());
        fact(sb, "drawn cycle", "filesystem " + r.filesystem() + ", cycle " + r.cycle() + ", cycle seed " + r.cycleSeed()
            + ": symptoms " + String.join(", ", r.symptoms()));
        fact(sb, "schedule", r.schedule());
        fact(sb, "run", s.text().lines().findFirst().orElse(""));
        sb.append("</table>\n<h2>Replay</h2>\n<pre class=\"replay\">").append(esc(replayCommand(s, r)))
            .append("</pre>\n");
        sb.append("<p class=\"quiet\">Every choice of the cycle replays exactly (the plan, each lane's operations, the hook delays, the "
            + "faults); thread timing does not, so a race may need a few replays (<code>--repeat N</code> counts the re-hits).</p>\n");
        sb.append("<h2>Overview (linear time)</h2>\n").append(overview(r));
        sb.append("<h2>Timeline (events in time order)</h2>\n").append(legend()).append(table(r));
        sb.append("<h2>Kernel log</h2>\n<pre>");
        for (CycleReport.LogLine l : r.log()) {
            boolean loud = loud(l);
            sb.append(loud ? "<span class=\"loud\">" : "").append(esc(String.format(Locale.ROOT, "[%9.3f ms] %-18s %s", l.ms(), l.thread(),
                l.text()))).append(loud ? "</span>" : "").append('\n');
        }
        sb.append("</pre>\n<h2>Evidence</h2>\n<pre>").append(esc(String.join("\n", r.evidence()))).append("</pre>\n");
        sb.append("<p><a href=\"index.html\">all classes</a></p>\n</body>\n</html>\n");
        return sb.toString();
    }

    private static void fact(StringBuilder sb, String k, String v) {
        sb.append("<tr><td>").append(esc(k)).append("</td><td>").append(esc(v)).append("</td></tr>\n");
    }

    private static boolean loud(CycleReport.LogLine l) {
        return LOUD.contains(l.kind()) || l.level().equals("ERR") || l.level().equals("CRIT") || l.level().equals("ALERT")
            || l.level().equals("EMERG");
    }

    private static String legend() {
        return "<p class=\"legend\"><span><svg width=\"26\" height=\"10\"><rect width=\"26\" height=\"10\" fill=\"#cfe3fa\" "
            + "stroke=\"#4a78b5\"/></svg> operation</span><span><svg width=\"26\" height=\"10\"><rect width=\"26\" height=\"10\" "
            + "fill=\"#ffe2b8\" stroke=\"#c47f17\"/></svg> refused (errno)</span><span><svg width=\"26\" height=\"10\"><rect "
            + "width=\"26\" height=\"10\" fill=\"#f7c6c6\" stroke=\"#b00020\"/></svg> failed</span><span><svg width=\"10\" "
            + "height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#6b7280\"/></svg> hook arrival</span><span><svg width=\"10\" "
            + "height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#7c3aed\"/></svg> delayed by the perturbation</span>"
            + "<span class=\"loud\">red: a kernel log line that is a symptom</span></p>\n";
    }

    /** One row per thread, x linear in time: operations as bars, arrivals as ticks, symptom log lines as red rules. */
    private static String overview(CycleReport r) {
        List<String> cols = r.columns();
        int labelW = 130;
        int w = 1300;
        int plot = w - labelW - 10;
        int rowH = 18;
        int h = cols.size() * rowH + 24;
        double end = Math.max(r.endMs(), 0.001);
        StringBuilder sb = new StringBuilder();
        sb.append("<svg width=\"").append(w).append("\" height=\"").append(h).append("\" viewBox=\"0 0 ").append(w).append(' ').append(h)
            .append("\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n");
        for (int i = 0; i < cols.size(); i++) {
            int y = i * rowH;
            sb.append("<rect x=\"0\" y=\"").append(y).append("\" width=\"").append(w).append("\" height=\"").append(rowH)
                .append("\" fill=\"").append(i % 2 == 0 ? "#f7f9fb" : "#ffffff").append("\"/>\n");
            sb.append("<text x=\"4\" y=\"").append(y + 13).append("\">").append(esc(cols.get(i))).append("</text>\n");
        }
        StringBuilder labels = new StringBuilder();
        for (CycleReport.Span o : r.ops()) {
            int row = cols.indexOf(o.column());
            double x0 = labelW + plot * o.startMs() / end;
            double x1 = Math.max(x0 + 1.5, labelW + plot * o.endMs() / end);
            sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" stroke=\"%s\" "
                    + "stroke-width=\"0.5\"><title>%s</title></rect>\n", x0, row * rowH + 3, x1 - x0, rowH - 6, fill(o), stroke(o),
                esc(o.name() + " " + ms(o.startMs()) + "–" + ms(o.endMs()) + (o.outcome().isEmpty() ? "" : " " + o.outcome()))));
            int fits = (int) ((x1 - x0 - 4) / 5.5);
            if (fits >= 4) {
                labels.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" fill=\"#1d2430\">%s</text>\n", x0 + 2,
                    row * rowH + 12, esc(clip(o.name() + (o.outcome().isEmpty() ? "" : " → " + o.outcome()), fits))));
            }
        }
        for (CycleReport.Mark m : r.arrivals()) {
            int row = cols.indexOf(m.column());
            double x = labelW + plot * m.ms() / end;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1\"/>\n", x,
                row * rowH + 2, x, row * rowH + rowH - 2, m.action().isEmpty() ? "#6b7280" : "#7c3aed"));
        }
        for (CycleReport.LogLine l : r.log()) {
            if (loud(l)) {
                double x = labelW + plot * l.ms() / end;
                sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#b00020\" stroke-width=\"1.5\">"
                    + "<title>%s</title></line>\n", x, x, cols.size() * rowH, esc(firstLine(l.text()))));
            }
        }
        sb.append(labels);
        int axisY = cols.size() * rowH;
        for (int k = 0; k <= 10; k++) {
            double x = labelW + plot * k / 10.0;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#9aa3ae\"/>"
                + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#5a6473\">%s</text>\n", x, axisY, x, axisY + 4, x, axisY + 16,
                ms(end * k / 10.0)));
        }
        sb.append("<text x=\"4\" y=\"").append(axisY + 16).append("\" fill=\"#5a6473\">ms</text>\n");
        return sb.append("</svg>\n").toString();
    }

    /** A table row: its time, and what happens in it. */
    private record Row(double ms, int col, String text, String tip, String kind, CycleReport.Span span, CycleReport.LogLine log) { }

    /** The events in time order, one row each (runs of the same arrival in one column folded), one column per thread. */
    private static String table(CycleReport r) {
        List<String> cols = r.columns();
        List<Row> rows = new ArrayList<>();
        for (CycleReport.Span o : r.ops()) {
            rows.add(new Row(o.startMs(), cols.indexOf(o.column()), o.name() + (o.outcome().isEmpty() ? "" : " → " + o.outcome()),
                o.name() + " " + ms(o.startMs()) + "–" + ms(o.endMs()) + (o.outcome().isEmpty() ? "" : ": " + o.outcome()), "op", o, null));
        }
        for (CycleReport.Mark m : r.arrivals()) {
            rows.add(new Row(m.ms(), cols.indexOf(m.column()), shortHook(m.hook()) + (m.action().isEmpty() ? "" : " " + m.action()),
                m.hook() + " " + m.action() + " at " + ms(m.ms()), m.action().isEmpty() ? "hook" : "delay", null, null));
        }
        for (CycleReport.LogLine l : r.log()) {
            rows.add(new Row(l.ms(), cols.indexOf(l.column()), firstLine(l.text()), l.thread() + ": " + l.text(), "log", null, l));
        }
        rows.sort(Comparator.comparingDouble(Row::ms));
        rows = fold(rows);
        int skipped = Math.max(0, rows.size() - MAX_ROWS);
        rows = rows.subList(skipped, rows.size());
        int top = 34 + (skipped > 0 ? ROW : 0);
        int w = TIME_W + cols.size() * COL_W + LOG_W;
        int h = top + rows.size() * ROW + 8;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg width=\"").append(w).append("\" height=\"").append(h).append("\" viewBox=\"0 0 ").append(w).append(' ').append(h)
            .append("\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"10\">\n");
        for (int c = 0; c < cols.size(); c++) {
            int x = TIME_W + c * COL_W;
            sb.append("<rect x=\"").append(x).append("\" y=\"0\" width=\"").append(COL_W).append("\" height=\"").append(h)
                .append("\" fill=\"").append(c % 2 == 0 ? "#f7f9fb" : "#ffffff").append("\" stroke=\"#e1e5ea\"/>\n");
            sb.append("<text x=\"").append(x + COL_W / 2).append("\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">")
                .append(esc(cols.get(c))).append("</text>\n");
        }
        int logX = TIME_W + cols.size() * COL_W;
        sb.append("<text x=\"4\" y=\"20\" font-weight=\"bold\">ms</text>\n<text x=\"").append(logX + 6)
            .append("\" y=\"20\" font-weight=\"bold\">kernel log</text>\n");
        if (skipped > 0) {
            sb.append("<text x=\"").append(TIME_W + 6).append("\" y=\"").append(34 + 11).append("\" fill=\"#5a6473\">(").append(skipped)
                .append(" earlier rows not shown)</text>\n");
        }
        // operation bars first, so the rows' text is drawn over them
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            if (row.span() == null || row.col() < 0) {
                continue;
            }
            int last = i;
            while (last + 1 < rows.size() && rows.get(last + 1).ms() <= row.span().endMs()) {
                last++;
            }
            int x = TIME_W + row.col() * COL_W + 3;
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"%s\" stroke=\"%s\"/>\n",
                x, top + i * ROW + 1, 12, (last - i + 1) * ROW - 2, fill(row.span()), stroke(row.span())));
        }
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            int y = top + i * ROW + 12;
            sb.append("<text x=\"4\" y=\"").append(y).append("\" fill=\"#5a6473\">").append(ms(row.ms())).append("</text>\n");
            if (row.log() != null) {
                boolean loud = loud(row.log());
                String color = loud ? "#b00020" : "#9aa3ae";
                sb.append("<line x1=\"").append(TIME_W).append("\" y1=\"").append(y - 4).append("\" x2=\"").append(logX).append("\" y2=\"")
                    .append(y - 4).append("\" stroke=\"").append(color).append("\" stroke-dasharray=\"3,3\"/>\n");
                sb.append("<text x=\"").append(logX + 6).append("\" y=\"").append(y).append("\"").append(loud ? " fill=\"#b00020\" font-weight=\"bold\"" : "")
                    .append("><title>").append(esc(row.tip())).append("</title>").append(esc(clip(row.log().thread() + ": " + row.text(), 76)))
                    .append("</text>\n");
                if (row.col() >= 0) {
                    sb.append("<circle cx=\"").append(TIME_W + row.col() * COL_W + 9).append("\" cy=\"").append(y - 4).append("\" r=\"4\" fill=\"")
                        .append(color).append("\"/>\n");
                }
                continue;
            }
            if (row.col() < 0) {
                continue;
            }
            int x = TIME_W + row.col() * COL_W;
            if (!row.kind().equals("op")) {
                sb.append("<circle cx=\"").append(x + 9).append("\" cy=\"").append(y - 4).append("\" r=\"3\" fill=\"")
                    .append(row.kind().equals("delay") ? "#7c3aed" : "#6b7280").append("\"/>\n");
            }
            sb.append("<text x=\"").append(x + 18).append("\" y=\"").append(y).append("\"")
                .append(row.kind().equals("op") ? " font-weight=\"bold\"" : row.kind().equals("delay") ? " fill=\"#5b21b6\"" : " fill=\"#374151\"")
                .append("><title>").append(esc(row.tip())).append("</title>").append(esc(clip(row.text(), 18))).append("</text>\n");
        }
        return sb.append("</svg>\n").toString();
    }

    /** A hook's name without the thread it belongs to (the column says it): "CLEANER_BEFORE_DROP_SNAPSHOT_TRANS" -> "BEFORE_DROP_SNAPSHOT_TRANS". */
    static String shortHook(String hook) {
        for (String p : new String[] {"CLEANER_", "TRANS_KTHREAD_", "QGROUP_RESCAN_"}) {
            if (hook.startsWith(p)) {
                return hook.substring(p.length());
            }
        }
        return hook;
    }

    /** Folds a run of the same hook arriving in the same column with the same decision into one row ("×N"). */
    private static List<Row> fold(List<Row> rows) {
        List<Row> out = new ArrayList<>();
        int i = 0;
        while (i < rows.size()) {
            Row a = rows.get(i);
            int j = i + 1;
            if (a.kind().equals("hook")) {
                while (j < rows.size() && rows.get(j).kind().equals("hook") && rows.get(j).col() == a.col()
                    && rows.get(j).text().equals(a.text())) {
                    j++;
                }
            }
            out.add(j - i == 1 ? a : new Row(a.ms(), a.col(), a.text() + " ×" + (j - i), a.tip() + " (×" + (j - i) + " until "
                + ms(rows.get(j - 1).ms()) + ")", a.kind(), null, null));
            i = j;
        }
        return out;
    }

    private static String fill(CycleReport.Span o) {
        return o.outcome().isEmpty() ? "#cfe3fa" : o.outcome().matches("E[A-Z]+") ? "#ffe2b8" : "#f7c6c6";
    }

    private static String stroke(CycleReport.Span o) {
        return o.outcome().isEmpty() ? "#4a78b5" : o.outcome().matches("E[A-Z]+") ? "#c47f17" : "#b00020";
    }

    private static String ms(double ms) { return String.format(Locale.ROOT, "%.3f", ms); }

    private static String clip(String s, int n) { return s.length() <= n ? s : s.substring(0, n - 1) + "…"; }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Text for XHTML: markup characters escaped, control characters (none is legal XML) dropped. */
    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    if (c >= 0x20 || c == '\n' || c == '\t') {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
