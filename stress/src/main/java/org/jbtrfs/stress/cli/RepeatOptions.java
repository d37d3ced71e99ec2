package org.jbtrfs.stress.cli;

import org.jbtrfs.stress.StressOptions;
import picocli.CommandLine.Option;

/** How often a replay reruns its cycle and which class it counts: {@code replay}'s and {@code run --replay}'s. */
final class RepeatOptions {
    @Option(names = "--repeat", paramLabel = "N", description = "rerun the cycle N times and report how often it re-hits its class (default 1)")
    int repeat = 1;

    @Option(names = "--class", paramLabel = "ID", description = "the class id to re-hit (default: the first repetition's)")
    String expectClass;

    StressOptions.Builder apply(StressOptions.Builder b) {
        Cli.range("--repeat", repeat, 1, 10_000);
        return b.repeat(repeat).expectClass(expectClass == null ? null : expectClass.trim());
    }
}
