package org.jbtrfs.differential;

import java.util.List;
import org.jbtrfs.differential.scenario.Scenario;

/** The side-by-side table as Markdown (what README shows) — one row per observation. */
public final class TableRenderer {
    private TableRenderer() { }

    /** Both targets: observation, kernel value, port value, verdict, reason. */
    public static String sideBySide(Scenario s, TargetRun kernel, TargetRun port, List<Row> rows) {
        StringBuilder b = new StringBuilder();
        heading(b, s);
        b.append("| observation | ").append(esc(kernel.target())).append(" | ").append(esc(port.target())).append(" | verdict | reason |\n");
        b.append("|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append("| ").append(esc(r.key())).append(" | ").append(esc(r.kernel())).append(" | ").append(esc(r.port()))
                .append(" | ").append(r.verdict().word()).append(" | ").append(esc(r.reason())).append(" |\n");
        }
        errors(b, kernel);
        errors(b, port);
        b.append('\n').append(Comparison.summary(rows)).append(String.format(java.util.Locale.ROOT,
            " (kernel %.1f s, port %.1f s)%n", kernel.seconds(), port.seconds()));
        return b.toString();
    }

    /** One target only (the other was not run): observation and value. */
    public static String single(Scenario s, TargetRun run) {
        StringBuilder b = new StringBuilder();
        heading(b, s);
        b.append("| observation | ").append(esc(run.target())).append(" |\n|---|---|\n");
        for (Observation o : run.observations()) {
            b.append("| ").append(esc(o.key())).append(" | ").append(esc(o.value()))
                .append(o.note() != null ? " (" + esc(o.note()) + ")" : "").append(" |\n");
        }
        errors(b, run);
        b.append(String.format(java.util.Locale.ROOT, "%n%d observations (%.1f s)%n", run.observations().size(), run.seconds()));
        return b.toString();
    }

    private static void heading(StringBuilder b, Scenario s) {
        b.append("### ").append(s.name()).append("\n\n");
        if (!s.description().isEmpty()) {
            b.append(s.description()).append("\n\n");
        }
        if (!s.params().isEmpty()) {
            b.append("Parameters: ");
            s.params().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> b.append(e.getKey()).append('=').append(e.getValue()).append(' '));
            b.append("\n\n");
        }
    }

    private static void errors(StringBuilder b, TargetRun r) {
        if (r.error() != null) {
            b.append("\n**").append(esc(r.target())).append(" stopped early:** ").append(esc(r.error())).append('\n');
        }
    }

    /** Table cells cannot hold '|' or newlines. */
    static String esc(String s) { return s == null ? "" : s.replace("|", "\\|").replace("\n", " "); }
}
