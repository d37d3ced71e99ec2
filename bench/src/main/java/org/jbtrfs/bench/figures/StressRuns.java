package org.jbtrfs.bench.figures;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The stress runner's figure runs: one {@code --json} summary per run, named
 * {@code <workload>-<crc32c>-<filesystems>.json} by scripts/figures.sh, plus the text output of the
 * profiled minimal run ({@code minimal-profile.txt}).
 */
final class StressRuns {
    /** The fields of the stress JSON contract this report uses (ARCHITECTURE.md: "Stress CLI contract"). */
    record Run(long cycles, double seconds, double cyclesPerSecond, long seed, long failingCycles, JsonNode raw) { }

    private final Path dir;

    StressRuns(Path dir) { this.dir = dir; }

    Optional<Run> run(String workload, String crc32c, int filesystems) throws IOException {
        Path p = dir.resolve(workload + "-" + crc32c + "-" + filesystems + ".json");
        if (!Files.exists(p)) {
            return Optional.empty();
        }
        JsonNode j = new ObjectMapper().readTree(p.toFile());
        return Optional.of(new Run(j.path("cycles").asLong(), j.path("seconds").asDouble(), j.path("cyclesPerSecond").asDouble(),
            j.path("seed").asLong(), j.path("failingCycles").asLong(), j));
    }

    Optional<String> profile() throws IOException {
        Path p = dir.resolve("minimal-profile.txt");
        return Files.exists(p) ? Optional.of(Files.readString(p)) : Optional.empty();
    }
}
