package org.jbtrfs.differential.scenario;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The shipped scenarios (resources {@code /scenarios/NAME.scn}, listed in {@code /scenarios/index.txt}).
 * Only these run on the kernel: kernel bugs live in exactly these paths, and a scenario outside the list
 * can hang a kernel's btrfs.
 */
public final class Scenarios {
    private Scenarios() { }

    /** The names of the shipped scenarios, in the order `run --all` runs them. */
    public static List<String> names() {
        return text("index.txt").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /** The source text of shipped scenario {@code name}; ScenarioException if there is none. */
    public static String source(String name) {
        if (!names().contains(name)) {
            throw new ScenarioException("unknown scenario '" + name + "'; shipped scenarios are: " + String.join(", ", names()));
        }
        return text(name + ".scn");
    }

    /** Shipped scenario {@code name} parsed with parameter {@code overrides}. */
    public static Scenario load(String name, Map<String, String> overrides) {
        return ScenarioParser.parse(name + ".scn", source(name), overrides);
    }

    private static String text(String resource) {
        try (InputStream in = Scenarios.class.getResourceAsStream("/scenarios/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource /scenarios/" + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
