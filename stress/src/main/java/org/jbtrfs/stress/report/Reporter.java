package org.jbtrfs.stress.report;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.stress.classify.CycleResult;

/**
 * Console output: the full report of the first failing cycles of each bug (evidence, kernel log
 * excerpt, replay seed, per-thread hook timeline), one line for later ones, and the in-place progress
 * line on a terminal. One lock orders everything written.
 */
public final class Reporter {
    static final int FULL_REPORTS_PER_BUG = 2;
    static final int ONE_LINERS = 40;

    private final PrintStream out;
    private final boolean progress;
    private int oneLiners;
    private boolean progressShown;

    public Reporter(PrintStream out, boolean progress) {
        this.out = out;
        this.progress = progress;
    }

    private final java.util.Map<String, Integer> fullReports = new java.util.HashMap<>();

    /** Full reports go to the first failing cycles of each kind (attribution and symptoms). */
    public synchronized void failure(CycleResult r, long earlierOfThisBug) {
        clearProgress();
        // full reports for the first cycles of each class and each set of symptoms it shows
        int shown = fullReports.merge((r.signature() != null ? r.signature().text() : r.bugs().toString()) + " " + r.symptoms(), 1,
            Integer::sum);
        if (shown <= FULL_REPORTS_PER_BUG) {
            out.print(fullReport(r, 60, 150));
        } else if (oneLiners++ < ONE_LINERS) {
            out.println("FAIL fs " + r.fs() + " cycle " + r.cycle() + " " + r.symptoms() + " -> " + r.bugs()
                + (r.signature() == null ? "" : " class " + r.signature().id()) + "  (replay: --replay " + r.replay() + ")");
        } else if (oneLiners == ONE_LINERS + 1) {
            out.println("(further failing cycles are counted, not printed)");
        }
        out.flush();
    }

    public synchronized void line(String s) {
        clearProgress();
        out.println(s);
        out.flush();
    }

    public synchronized void progress(long cycles, double seconds, long failures, double secondsLeft) {
        if (!progress) {
            return;
        }
        String left = secondsLeft < 0 ? "" : String.format(Locale.ROOT, ", %.0f s left", secondsLeft);
        out.printf(Locale.ROOT, "\r%d cycles, %.0f cycles/s, %d failing, %.1f s elapsed%s   ", cycles,
            seconds > 0 ? cycles / seconds : 0, failures, seconds, left);
        out.flush();
        progressShown = true;
    }

    public synchronized void endProgress() { clearProgress(); }

    private void clearProgress() {
        if (progressShown) {
            out.print("\r" + " ".repeat(78) + "\r");
            progressShown = false;
        }
    }

    public static String fullReport(CycleResult r, int logEntries, int timelineRows) {
        StringBuilder sb = new StringBuilder();
        sb.append("\n=== ").append(r.failed() ? "FAILING CYCLE" : "CYCLE").append(": filesystem ").append(r.fs())
            .append(", cycle ").append(r.cycle()).append(" ===\n");
        sb.append("replay:      --replay ").append(r.replay()).append("  (cycle seed 0x").append(Long.toHexString(r.cycleSeed()))
            .append(")\n");
        sb.append("symptoms:    ").append(r.symptoms().isEmpty() ? "none" : r.symptoms()).append('\n');
        if (r.failed()) {
            sb.append("attributed:  ").append(r.bugs()).append('\n');
        }
        if (r.signature() != null) {
            sb.append("class:       ").append(r.signature().id()).append(' ').append(r.signature().text()).append('\n');
            sb.append("replay:      --replay ").append(r.replay()).append(" --class ").append(r.signature().id()).append('\n');
        }
        sb.append("schedule:    ").append(r.schedule()).append('\n');
        if (!r.evidence().isEmpty()) {
            sb.append("evidence:\n");
            for (String e : r.evidence()) {
                sb.append(indent(e, "  ")).append('\n');
            }
        }
        List<LogEntry> log = r.log();
        sb.append("kernel log (").append(log.size()).append(" lines").append(log.size() > logEntries ? ", last " + logEntries + " shown" : "")
            .append("):\n");
        for (LogEntry e : log.subList(Math.max(0, log.size() - logEntries), log.size())) {
            String[] lines = e.toString().split("\n");
            // a hung task's report is every thread's stack: that is the point of it, print it whole
            int max = e.kind() == LogEntry.Kind.HUNG_TASK ? 2000 : 14;
            for (int i = 0; i < lines.length && i < max; i++) {
                sb.append("  ").append(lines[i]).append('\n');
            }
            if (lines.length > max) {
                sb.append("  ... (").append(lines.length - max).append(" more lines)\n");
            }
        }
        if (r.timeline() != null) {
            sb.append("hook arrivals (per thread):\n").append(r.timeline().render(timelineRows));
        }
        return sb.toString();
    }

    private static String indent(String s, String pre) {
        return pre + s.replace("\n", "\n" + pre);
    }
}
