package org.jbtrfs.bench.figures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The hook for figures produced outside this module. scripts/figures.sh runs every
 * {@code scripts/figures.d/*.sh} after its own runs; a script writes
 * {@code $FIGURES_DIR/sections/NAME.md} (a section of docs/benchmarks.md, starting with a {@code ## }
 * heading) and, optionally, {@code $FIGURES_DIR/sections/NAME.rows.md} (rows {@code | what | figure |}
 * for the README figures table). They are included here in name order, verbatim.
 */
final class ExternalSections implements Section {
    private final List<Path> docs;
    private final List<Path> rowFiles;

    ExternalSections(Inputs in) {
        Path dir = in.dir().resolve("sections");
        List<Path> all = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                all = s.filter(p -> p.toString().endsWith(".md")).sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        docs = all.stream().filter(p -> !p.toString().endsWith(".rows.md")).toList();
        rowFiles = all.stream().filter(p -> p.toString().endsWith(".rows.md")).toList();
    }

    @Override
    public String doc() {
        return docs.stream().map(ExternalSections::read).map(String::strip).collect(Collectors.joining("\n\n"));
    }

    @Override
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (Path p : rowFiles) {
            for (String line : read(p).split("\n")) {
                String l = line.strip();
                if (!l.startsWith("|") || l.startsWith("|---") || l.startsWith("| what |")) {
                    continue;
                }
                String inner = l.substring(1, l.endsWith("|") ? l.length() - 1 : l.length()).strip();
                int bar = inner.indexOf(" | ");
                rows.add(bar < 0 ? new Row(inner, "") : new Row(inner.substring(0, bar).strip(), inner.substring(bar + 3).strip()));
            }
        }
        return rows;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
