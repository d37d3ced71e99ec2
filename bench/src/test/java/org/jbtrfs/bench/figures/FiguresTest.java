package org.jbtrfs.bench.figures;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generator: no stale or invented number when inputs are missing, honest hot-path verdicts, README block. */
class FiguresTest {
    private static JmhResults.Result hot(String name, double score, double error) {
        return new JmhResults.Result(name, java.util.Map.of(), "avgt", score, error, "ns/op", java.util.Map.of(),
            java.util.Map.of(), "1 fork");
    }

    @Test
    void anEmptyRunSaysNotMeasuredEverywhere(@TempDir Path dir) throws IOException {
        Inputs in = Inputs.read(dir);
        String table = Figures.table(in, Figures.sections(in), "benchmarks.md");
        for (String line : table.split("\n")) {
            if (line.startsWith("| ") && !line.startsWith("| what")) {
                assertTrue(line.contains(Inputs.NOT_RUN), line);
            }
        }
        String doc = Figures.benchmarks(in, Figures.sections(in), "figures-table.md");
        assertFalse(doc.contains("faster"), "no derived sentence without its inputs");
        assertFalse(doc.contains("NaN"), doc);
    }

    @Test
    void aHotPathCheckWithinTheErrorBarsIsAtLoopCost() {
        var base = Optional.of(hot("b", 0.30, 0.10));
        assertTrue(CoreSection.verdict(Optional.of(hot("c", 0.90, 0.20)), base).startsWith("at loop cost"));
        assertTrue(CoreSection.verdict(Optional.of(hot("c", 1.40, 3.65)), base).startsWith("at loop cost"));
        assertEquals("2.20 ns over a volatile read", CoreSection.verdict(Optional.of(hot("c", 2.50, 0.10)), base));
    }

    @Test
    void onlyTheMarkedReadmeBlockIsReplaced(@TempDir Path dir) throws IOException {
        Path readme = dir.resolve("README.md");
        Files.writeString(readme, "intro\n" + Figures.BEGIN + "\nold table\n" + Figures.END + "\noutro\n");
        Figures.main(new String[] {dir.resolve("in").toString(), dir.resolve("docs/b.md").toString(),
            dir.resolve("docs/t.md").toString(), readme.toString()});
        String text = Files.readString(readme);
        assertTrue(text.startsWith("intro\n" + Figures.BEGIN + "\n<!-- Generated"), text);
        assertTrue(text.endsWith(Figures.END + "\noutro\n"), text);
        assertFalse(text.contains("old table"));
        assertTrue(text.contains("](docs/b.md)"), "the README links the doc relative to itself");

        Path plain = dir.resolve("PLAIN.md");
        Files.writeString(plain, "no markers\n");
        Figures.main(new String[] {dir.resolve("in").toString(), dir.resolve("docs/b.md").toString(),
            dir.resolve("docs/t.md").toString(), plain.toString()});
        assertEquals("no markers\n", Files.readString(plain));
    }
}
