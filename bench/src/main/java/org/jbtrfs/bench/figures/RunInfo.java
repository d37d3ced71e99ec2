package org.jbtrfs.bench.figures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What scripts/figures.sh recorded about the run, in order: {@code key: value} lines of
 * {@code run.txt} (date, commit, the machine, the load average as each phase started and ended, the
 * settings of each phase).
 */
final class RunInfo {
    private final Map<String, String> entries;

    private RunInfo(Map<String, String> entries) { this.entries = entries; }

    static RunInfo read(Path file) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file)) {
                int i = line.indexOf(": ");
                if (i > 0) {
                    m.put(line.substring(0, i).trim(), line.substring(i + 2).trim());
                }
            }
        }
        return new RunInfo(m);
    }

    String get(String key) { return entries.getOrDefault(key, "unknown"); }

    Map<String, String> all() { return entries; }

    /**
     * A warning when the machine was busier than it has CPUs during any phase (the 1-minute load
     * average of a "load ..." entry above "cpus"), else empty.
     */
    String loadWarning() {
        double cpus;
        try {
            cpus = Double.parseDouble(get("cpus"));
        } catch (NumberFormatException e) {
            return "";
        }
        double max = 0;
        for (Map.Entry<String, String> e : entries.entrySet()) {
            if (e.getKey().startsWith("load ")) {
                try {
                    max = Math.max(max, Double.parseDouble(e.getValue().split(",")[0].trim()));
                } catch (NumberFormatException ignored) {
                    // not a load average
                }
            }
        }
        return max > cpus ? "**The machine was busy during this run** (a 1-minute load average of up to " + Fmt.num(max)
            + " on " + get("cpus") + " CPUs, this run's own threads included): the figures are pessimistic and their error bars wide."
            : "";
    }
}
