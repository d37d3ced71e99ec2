package org.jbtrfs.stress.cli;

import java.util.concurrent.Callable;
import org.jbtrfs.stress.ReplayToken;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code replay TOKEN}: reruns the epoch's cycles before the token's cycle, then the cycle, as often as asked. */
@Command(name = "replay", sortOptions = false, usageHelpAutoWidth = true,
    description = {"Rerun one cycle (its epoch's earlier cycles first) and print its full report; with --repeat N, how often it "
        + "fails again with its class. Give the run's --kernel/--revert/--crc32c/--workload again (the report's replay command does)."})
final class ReplayCommand implements Callable<Integer> {
    private final Cli cli;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(index = "0", paramLabel = "TOKEN", converter = Converters.Token.class, description = "RUNSEED:CYCLE[:FS]")
    ReplayToken token;

    @Mixin
    RepeatOptions repeat;

    @Mixin
    EngineOptions engine;

    ReplayCommand(Cli cli) { this.cli = cli; }

    @Override
    public Integer call() {
        return cli.engine(repeat.apply(engine.builder()).seed(token.runSeed()).replay(token).build());
    }
}
