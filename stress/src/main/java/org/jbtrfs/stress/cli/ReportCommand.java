package org.jbtrfs.stress.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jbtrfs.stress.report.Summary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code report SUMMARY.json --dir DIR}: the HTML report of a summary written earlier (a run's or a merge's). */
@Command(name = "report", sortOptions = false, usageHelpAutoWidth = true,
    description = {"Write the HTML report (index.html and a page per failure class) of a JSON summary."})
final class ReportCommand implements Callable<Integer> {
    private final Cli cli;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(index = "0", paramLabel = "SUMMARY.json", description = "a --json summary (of a run or of a merge)")
    Path file;

    @Option(names = "--dir", paramLabel = "DIR", required = true, description = "where to write the pages")
    Path dir;

    ReportCommand(Cli cli) { this.cli = cli; }

    @Override
    public Integer call() {
        Summary s = MergeCommand.read(file);
        cli.finish(s, null, dir);
        return 0;
    }
}
