package org.jbtrfs.bench.figures;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The tests tagged "timing" (left out of the default build): what they assert and how they fared. */
final class TimingSection implements Section {
    private final Inputs in;

    TimingSection(Inputs in) { this.in = in; }

    private long count(String outcome) {
        return in.timing().stream().filter(c -> c.outcome().equals(outcome)).count();
    }

    private double seconds() {
        return in.timing().stream().mapToDouble(TimingSuite.Case::seconds).sum();
    }

    @Override
    public String doc() {
        StringBuilder sb = new StringBuilder("## Timing suite (JUnit tag `timing`)\n\n")
            .append("Tests that assert a speed or find a bug by chance (a seeded run that happens to reach a window)\n")
            .append("are tagged `timing`: the default build (`mvn -B verify`) leaves them out, the script runs them with\n")
            .append("`mvn -B verify -Ptiming`. A failure here is a finding to look at (a slower machine, a heavier load, or\n")
            .append("a window the workload no longer reaches), not a broken build.\n\n");
        if (in.timing().isEmpty()) {
            return sb.append(Inputs.NOT_RUN).append('\n').toString();
        }
        List<List<String>> rows = new ArrayList<>();
        for (TimingSuite.Case c : in.timing()) {
            rows.add(List.of(c.testClass(), c.name(), c.outcome(), Fmt.num(c.seconds())));
        }
        sb.append(Md.table(List.of("class", "test", "outcome", "seconds"), rows)).append('\n')
            .append(summary()).append(".\n");
        return sb.toString();
    }

    private String summary() {
        return String.format(Locale.ROOT, "%d of %d passed (%d failed, %d errors, %d skipped) in %s s", count("passed"),
            in.timing().size(), count("failed"), count("error"), count("skipped"), Fmt.num(seconds()));
    }

    @Override
    public List<Row> rows() {
        return List.of(new Row("timing suite (`@Tag(\"timing\")`: rates and finds by chance)",
            in.timing().isEmpty() ? Inputs.NOT_RUN : summary()));
    }
}
