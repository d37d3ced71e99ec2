package org.jbtrfs.stress.cli;

import java.util.Set;
import java.util.concurrent.Callable;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Shard;
import org.jbtrfs.stress.StressOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code run} (the default command): cycles until the duration or the cycle bound, then the summary. */
@Command(name = "run", sortOptions = false, usageHelpAutoWidth = true,
    description = {"Run stress cycles (the default command: 'java -jar jbtrfs-stress.jar [options]' is 'run [options]').",
        "Exit status: 0 no failing cycle, 1 some cycle failed (or the run was aborted), 2 usage error."})
final class RunCommand implements Callable<Integer> {
    private final Cli cli;
    private final long clockSeed;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    @Option(names = "--duration", paramLabel = "SECONDS", converter = Converters.Seconds.class,
        description = "run this long (default 10; unbounded when only --cycles is given)")
    Double duration;

    @Option(names = "--cycles", paramLabel = "N",
        description = "run cycle numbers 0..N-1 (split over the filesystems; a failing cycle ends its epoch of 16)")
    Long cycles;

    @Option(names = "--seed", paramLabel = "S", converter = Converters.Seed.class,
        description = "run seed, decimal or 0x-hex (default: from the clock, printed)")
    Long seed;

    @Option(names = "--shard", paramLabel = "i/n", converter = Converters.ShardOf.class,
        description = "run the i-th of n disjoint parts of the run (epochs e with e mod n = i-1), 1 <= i <= n; see docs/sharding.md")
    Shard shard = Shard.ALL;

    @Option(names = "--stop-when-found", paramLabel = "LIST", converter = Converters.Switches.class,
        description = "stop at the first failing cycle attributed to one of these switches")
    Converters.SwitchSet stopWhenFound;

    @Option(names = "--replay", paramLabel = "TOKEN", converter = Converters.Token.class,
        description = "rerun one cycle: RUNSEED:CYCLE[:FS] as printed for a failing cycle (as the replay command)")
    ReplayToken replay;

    @Mixin
    RepeatOptions repeat;

    @Mixin
    EngineOptions engine;

    RunCommand(Cli cli, long clockSeed) {
        this.cli = cli;
        this.clockSeed = clockSeed;
    }

    @Override
    public Integer call() {
        return cli.engine(options());
    }

    StressOptions options() {
        StressOptions.Builder b = engine.builder();
        if (cycles != null) {
            Cli.range("--cycles", cycles, 1, Long.MAX_VALUE - 1);
            b.cycles(cycles);
        }
        long d = duration != null ? (long) (duration * 1e9)
            : cycles != null ? Long.MAX_VALUE : StressOptions.DEFAULT_DURATION_NANOS;
        Set<String> stop = stopWhenFound == null ? Set.of() : StressOptions.kebabNames(stopWhenFound.value());
        return repeat.apply(b).durationNanos(d).seed(seed != null ? seed : clockSeed).seedGiven(seed != null).shard(shard)
            .stopWhenFound(stop).replay(replay).build();
    }
}
