package org.jbtrfs.bench.figures;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The results of a JMH run, read from its {@code -rf json} file. */
final class JmhResults {
    /**
     * One benchmark (with one set of parameters).
     *
     * @param name        class and method, without the package: {@code Crc32cBenchmark.checksum16KiB}
     * @param percentiles "50.0" → value, in {@code unit}
     * @param secondary   secondary metric name → its score (e.g. an @AuxCounters rate)
     * @param settings    forks, warm-up and measurement as JMH ran them, e.g. {@code 1 fork, 3 × 1 s warm-up, 5 × 1 s}
     */
    record Result(String name, Map<String, String> params, String mode, double score, double error, String unit,
                  Map<String, Double> percentiles, Map<String, Double> secondary, String settings) {
        double percentile(String p) {
            Double v = percentiles.get(p);
            return v == null ? Double.NaN : v;
        }
    }

    private final List<Result> results;

    private JmhResults(List<Result> results) { this.results = results; }

    static JmhResults empty() { return new JmhResults(List.of()); }

    static JmhResults read(Path json) throws IOException {
        if (!Files.exists(json)) {
            return empty();
        }
        List<Result> out = new ArrayList<>();
        for (JsonNode b : new ObjectMapper().readTree(json.toFile())) {
            String full = b.path("benchmark").asText();
            String[] parts = full.split("\\.");
            String name = parts[parts.length - 2] + "." + parts[parts.length - 1];
            Map<String, String> params = new TreeMap<>();
            b.path("params").fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue().asText()));
            JsonNode pm = b.path("primaryMetric");
            Map<String, Double> pct = new LinkedHashMap<>();
            pm.path("scorePercentiles").fields().forEachRemaining(e -> pct.put(e.getKey(), number(e.getValue())));
            Map<String, Double> sec = new LinkedHashMap<>();
            b.path("secondaryMetrics").fields().forEachRemaining(e -> sec.put(e.getKey(), number(e.getValue().path("score"))));
            String settings = b.path("forks").asInt() + (b.path("forks").asInt() == 1 ? " fork, " : " forks, ")
                + b.path("warmupIterations").asInt() + " × " + b.path("warmupTime").asText() + " warm-up, "
                + b.path("measurementIterations").asInt() + " × " + b.path("measurementTime").asText() + " measured"
                + (b.path("jvmArgs").isEmpty() ? "" : ", JVM " + String.join(" ", texts(b.path("jvmArgs"))));
            if (b.path("mode").asText().equals("ss")) {
                settings = b.path("forks").asInt() + " forks, one shot each";
            }
            out.add(new Result(name, params, b.path("mode").asText(), number(pm.path("score")), number(pm.path("scoreError")),
                pm.path("scoreUnit").asText(), pct, sec, settings));
        }
        return new JmhResults(out);
    }

    /** The result of {@code name} whose parameters include {@code params} (key, value, key, value...). */
    Optional<Result> find(String name, String... params) {
        outer:
        for (Result r : results) {
            if (!r.name().equals(name)) {
                continue;
            }
            for (int i = 0; i + 1 < params.length; i += 2) {
                if (!params[i + 1].equals(r.params().get(params[i]))) {
                    continue outer;
                }
            }
            return Optional.of(r);
        }
        return Optional.empty();
    }

    List<Result> all() { return results; }

    /** JMH writes "NaN" as a string when there is no error estimate (one sample). */
    private static double number(JsonNode n) {
        if (n.isNumber()) {
            return n.asDouble();
        }
        try {
            return Double.parseDouble(n.asText());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static List<String> texts(JsonNode array) {
        List<String> l = new ArrayList<>();
        array.forEach(n -> l.add(n.asText()));
        return l;
    }
}
