package org.jbtrfs.stress.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jbtrfs.stress.report.Merge;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.report.SummaryJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code merge a.json b.json ...}: the summary of the run the shards' summaries are parts of. */
@Command(name = "merge", sortOptions = false, usageHelpAutoWidth = true,
    description = {"Merge the JSON summaries of the shards of one run (same seed, bound, shard count and config; see "
        + "docs/sharding.md): counts added, each class's first replay in seed order. Exit 0 when no merged cycle failed, 1 when one "
        + "did, 2 when the summaries do not merge."})
final class MergeCommand implements Callable<Integer> {
    private final Cli cli;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(paramLabel = "SUMMARY.json", arity = "1..*", description = "the shards' --json files")
    List<Path> files;

    @Option(names = "--json", paramLabel = "FILE", description = "write the merged summary as JSON")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "write the HTML report of the merged summary to DIR")
    Path report;

    MergeCommand(Cli cli) { this.cli = cli; }

    @Override
    public Integer call() throws Merge.MergeException {
        List<Merge.Input> inputs = new ArrayList<>();
        for (Path f : files) {
            inputs.add(new Merge.Input(f.toString(), read(f)));
        }
        Summary merged = Merge.of(inputs);
        cli.out.print(merged.text());
        return cli.finish(merged, json, report);
    }

    /** A summary file; one that cannot be read or parsed is a usage error naming it. */
    static Summary read(Path f) {
        try {
            return SummaryJson.read(f);
        } catch (IOException e) {
            throw new Cli.IoError("cannot read " + f + " as a summary: " + firstLine(e.getMessage()));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
