package org.jbtrfs.bench.figures;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jbtrfs.bench.figures.JmhResults.Result;

/** What the JMH sections share: looking results up and printing them with their settings. */
abstract class JmhSection implements Section {
    protected final JmhResults jmh;

    JmhSection(Inputs in) { this.jmh = in.jmh(); }

    /** A table row: what, score ± error with its unit, the JMH settings it ran with. */
    protected static List<String> row(String what, Optional<Result> r) {
        return r.map(x -> List.of(what, Fmt.pm(x.score(), x.error()) + " " + Fmt.unit(x.unit()), x.settings()))
            .orElse(List.of(what, Inputs.NOT_RUN, ""));
    }

    protected static String table(List<List<String>> rows) {
        return Md.table(List.of("benchmark", "score (99.9 % CI)", "JMH settings"), rows);
    }

    /**
     * {@code f} of the scores (a sentence derived from them) when all are present; empty when one is
     * missing, so no sentence speaks of a figure this run did not measure.
     */
    protected static String derived(java.util.function.Function<double[], String> f, List<Optional<Result>> rs) {
        double[] v = new double[rs.size()];
        for (int i = 0; i < v.length; i++) {
            if (rs.get(i).isEmpty()) {
                return "";
            }
            v[i] = rs.get(i).get().score();
        }
        return f.apply(v);
    }

    protected static List<List<String>> newRows() { return new ArrayList<>(); }
}
