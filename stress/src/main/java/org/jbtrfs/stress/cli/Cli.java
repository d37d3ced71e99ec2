package org.jbtrfs.stress.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.engine.StressRunner;
import org.jbtrfs.stress.report.HtmlReport;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.report.SummaryJson;

/** What the commands share: where they print, and the end of every command that produces a summary. */
final class Cli {
    /** A command line the options' types accept but the command does not (a range, a combination): exit 2. */
    static final class UsageError extends RuntimeException {
        UsageError(String message) { super(message); }
    }

    /** The files a command could not write or read: exit 2. */
    static final class IoError extends RuntimeException {
        IoError(String message) { super(message); }
    }

    final PrintStream out;
    final PrintStream err;
    final boolean terminal;

    Cli(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    static UsageError usage(String message) { return new UsageError(message); }

    static void range(String option, long v, long min, long max) {
        if (v < min || v > max) {
            throw usage(option + " must be between " + min + " and " + max + ": " + v);
        }
    }

    /** Runs (or replays) and prints the summary; writes the JSON and the report when asked. Exit 0, 1 or 2. */
    int engine(StressOptions opt) {
        if (!opt.seedGiven() && opt.replay() == null) {
            out.println("seed " + opt.seed() + " (from the clock; pass --seed " + opt.seed() + " to repeat the run)");
        }
        Summary s = opt.replay() != null ? StressRunner.replay(opt, out) : StressRunner.run(opt, out, terminal);
        out.print(s.text());
        return finish(s, opt.json(), opt.report());
    }

    /** Writes the summary's JSON and HTML report where asked; the summary's exit code, or 2 when a file cannot be written. */
    int finish(Summary s, Path json, Path report) {
        if (json != null) {
            try {
                Files.writeString(json, SummaryJson.write(s));
            } catch (IOException e) {
                throw new IoError("cannot write " + json + ": " + e.getMessage());
            }
        }
        if (report != null) {
            try {
                List<Path> pages = HtmlReport.write(s, report);
                out.println("report: " + pages.get(0) + " (" + (pages.size() - 1) + " class page" + (pages.size() == 2 ? "" : "s") + ")");
            } catch (IOException e) {
                throw new IoError("cannot write the report to " + report + ": " + e.getMessage());
            }
        }
        out.flush();
        return s.exitCode();
    }
}
