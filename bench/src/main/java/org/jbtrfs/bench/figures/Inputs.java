package org.jbtrfs.bench.figures;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything one run of scripts/figures.sh left in its output directory (target/figures): run.txt,
 * jmh.json, stress/*.json, timing/TEST-*.xml and the sections/ of the drop-in scripts.
 */
record Inputs(Path dir, RunInfo run, JmhResults jmh, StressRuns stress, List<TimingSuite.Case> timing) {
    static Inputs read(Path dir) throws IOException {
        return new Inputs(dir, RunInfo.read(dir.resolve("run.txt")), JmhResults.read(dir.resolve("jmh.json")),
            new StressRuns(dir.resolve("stress")), TimingSuite.read(dir.resolve("timing")));
    }

    /** Shown wherever a figure's run is missing (a filtered or failed run): never a stale number. */
    static final String NOT_RUN = "not measured in this run";
}
