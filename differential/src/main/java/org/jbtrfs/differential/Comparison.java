package org.jbtrfs.differential;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.differential.scenario.Scenario;

/**
 * Lines up the kernel's and the port's observations by key and gives each row a verdict: agree,
 * differ, expected (a difference the scenario explains), measured (with the ratio), one-sided.
 */
public final class Comparison {
    /** What a row shows for a key one side did not produce. */
    public static final String ABSENT = "—";
    private static final Pattern NUMBER = Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)");

    private Comparison() { }

    /** The rows of {@code kernel} vs {@code port} for {@code scenario}: the kernel's keys in order, then the port's others. */
    public static List<Row> compare(Scenario scenario, TargetRun kernel, TargetRun port) {
        Map<String, Observation> k = byKey(kernel.observations());
        Map<String, Observation> p = byKey(port.observations());
        List<String> keys = new ArrayList<>(k.keySet());
        for (String key : p.keySet()) {
            if (!k.containsKey(key)) {
                keys.add(key);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (String key : keys) {
            rows.add(row(scenario, key, k.get(key), p.get(key)));
        }
        return rows;
    }

    static Row row(Scenario scenario, String key, Observation k, Observation p) {
        String kv = k == null ? ABSENT : k.value();
        String pv = p == null ? ABSENT : p.value();
        String expected = scenario.expectedDifference(key, kv, pv);
        if (k != null && k.kind() == Observation.Kind.UNOBSERVABLE || p != null && p.kind() == Observation.Kind.UNOBSERVABLE) {
            String why = k != null && k.note() != null ? k.note() : p != null && p.note() != null ? p.note() : "";
            return new Row(key, kv, pv, Verdict.ONE_SIDED, expected != null ? expected : why);
        }
        if (k != null && k.kind() == Observation.Kind.MEASURED || p != null && p.kind() == Observation.Kind.MEASURED) {
            return new Row(key, kv, pv, Verdict.MEASURED, ratio(kv, pv));
        }
        if (kv.equals(pv)) {
            return new Row(key, kv, pv, Verdict.AGREE, "");
        }
        return expected != null ? new Row(key, kv, pv, Verdict.EXPECTED, expected) : new Row(key, kv, pv, Verdict.DIFFER, "");
    }

    /** "port 10.4× faster" style text for two measurements with the same unit, or "" when they cannot be compared. */
    static String ratio(String kernel, String port) {
        Double kv = number(kernel);
        Double pv = number(port);
        if (kv == null || pv == null || kv == 0 || pv == 0 || !unit(kernel).equals(unit(port))) {
            return "";
        }
        String u = unit(kernel);
        if (u.endsWith("/s")) {
            return String.format(Locale.ROOT, "port/kernel %.1f×", pv / kv);
        }
        if (u.equals("µs") || u.equals("ms") || u.equals("s")) {
            return pv <= kv ? String.format(Locale.ROOT, "port %.1f× faster", kv / pv) : String.format(Locale.ROOT, "port %.1f× slower", pv / kv);
        }
        return String.format(Locale.ROOT, "port/kernel %.2f", pv / kv);
    }

    private static Double number(String s) {
        Matcher m = NUMBER.matcher(s.replace(",", ""));
        return m.find() ? Double.valueOf(m.group(1)) : null;
    }

    private static String unit(String s) {
        String t = s.replace(",", "").replaceFirst("^[0-9]+(?:\\.[0-9]+)?\\s*", "");
        int sp = t.indexOf(' ');
        return sp < 0 ? t : t.substring(0, sp);
    }

    private static Map<String, Observation> byKey(List<Observation> obs) {
        Map<String, Observation> m = new LinkedHashMap<>();
        for (Observation o : obs) {
            m.put(o.key(), o);
        }
        return m;
    }

    /** Observations with the same key (a repeat's iterations) become one: the value if always the same, else a tally. */
    public static List<Observation> tally(List<Observation> raw) {
        Map<String, List<Observation>> groups = new LinkedHashMap<>();
        for (Observation o : raw) {
            groups.computeIfAbsent(o.key(), x -> new ArrayList<>()).add(o);
        }
        List<Observation> out = new ArrayList<>();
        for (List<Observation> g : groups.values()) {
            Observation first = g.get(0);
            if (g.size() == 1) {
                out.add(first);
                continue;
            }
            Map<String, Integer> counts = new LinkedHashMap<>();
            for (Observation o : g) {
                counts.merge(o.value(), 1, Integer::sum);
            }
            List<Map.Entry<String, Integer>> entries = new ArrayList<>(counts.entrySet());
            entries.sort((a, b) -> b.getValue() != a.getValue().intValue() ? b.getValue() - a.getValue() : a.getKey().compareTo(b.getKey()));
            StringBuilder v = new StringBuilder();
            for (Map.Entry<String, Integer> e : entries) {
                v.append(v.length() > 0 ? ", " : "").append(e.getKey()).append(" ×").append(e.getValue());
            }
            out.add(new Observation(first.key(), v + " (of " + g.size() + ")", first.kind(), first.note()));
        }
        return out;
    }

    /** "12 agree, 1 DIFFER, 3 expected, 2 measured, 1 one-sided". */
    public static String summary(List<Row> rows) {
        Map<Verdict, Integer> c = new LinkedHashMap<>();
        for (Verdict v : Verdict.values()) {
            c.put(v, 0);
        }
        rows.forEach(r -> c.merge(r.verdict(), 1, Integer::sum));
        StringBuilder s = new StringBuilder();
        c.forEach((v, n) -> {
            if (n > 0) {
                s.append(s.length() > 0 ? ", " : "").append(n).append(' ').append(v.word());
            }
        });
        return s.length() == 0 ? "no observations" : s.toString();
    }
}
