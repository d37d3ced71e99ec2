package org.jbtrfs.differential.scenario;

import java.util.List;
import java.util.Map;

/**
 * A parsed scenario: steps to run on each target, the observations among them, and the differences
 * expected between the kernel and the port with their reasons.
 *
 * @param name         its name ("btrfs-233-ro-rw")
 * @param description  what it checks and how (free text)
 * @param params       the parameters with their values (defaults or overrides)
 * @param steps        the steps in order
 * @param expectations expected differences
 */
public record Scenario(String name, String description, Map<String, String> params, List<Step> steps,
                       List<Expectation> expectations) {
    public Scenario {
        params = Map.copyOf(params);
        steps = List.copyOf(steps);
        expectations = List.copyOf(expectations);
    }

    /** The reason the row {@code key} may show {@code kernel} vs {@code port}, or null if no expectation covers it. */
    public String expectedDifference(String key, String kernel, String port) {
        for (Expectation e : expectations) {
            if (e.explains(key, kernel, port)) {
                return e.reason();
            }
        }
        return null;
    }
}
