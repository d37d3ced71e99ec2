package org.jbtrfs.stress.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URL;
import java.util.Set;
import org.jbtrfs.stress.report.Merge;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * {@code java -jar jbtrfs-stress.jar [run] [options]}, {@code replay TOKEN}, {@code merge a.json b.json ...},
 * {@code report SUMMARY.json --dir DIR}: the stress CLI (ARCHITECTURE.md, "Stress CLI contract"). Without a
 * command name the arguments are {@code run}'s, as before the commands existed. Exit 0 when no cycle failed,
 * 1 when one did, 2 on a usage error (picocli's one-line message, then the command's usage).
 */
public final class StressMain {
    static final Set<String> COMMANDS = Set.of("run", "replay", "merge", "report", "help");

    private StressMain() { }

    /** The top command: only names the others. */
    @Command(name = "jbtrfs-stress", mixinStandardHelpOptions = false, usageHelpAutoWidth = true,
        synopsisSubcommandLabel = "[run] [OPTIONS] | replay TOKEN | merge FILES | report FILE --dir DIR",
        description = {"Seeded stress runner of the btrfs mount/remount/umount lifecycle. 'java -jar jbtrfs-stress.jar [options]' "
            + "runs ('run --help' lists the options)."},
        subcommands = CommandLine.HelpCommand.class)
    static final class Top { }

    public static void main(String[] args) {
        installCliLogging();
        int code = run(args, System.out, System.err, System.console() != null);
        System.out.flush();
        // drivers stuck in a hung task are daemon threads; exit now rather than wait for them
        System.exit(code);
    }

    /** Runs the command line; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        Cli cli = new Cli(out, err, terminal);
        CommandLine cl = new CommandLine(new Top())
            .addSubcommand("run", new RunCommand(cli, System.nanoTime() ^ System.currentTimeMillis()))
            .addSubcommand("replay", new ReplayCommand(cli))
            .addSubcommand("merge", new MergeCommand(cli))
            .addSubcommand("report", new ReportCommand(cli));
        cl.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("jbtrfs-stress: " + ex.getMessage());
            ex.getCommandLine().usage(err);
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof Cli.UsageError) {
                err.println("jbtrfs-stress: " + ex.getMessage());
                cmd.usage(err);
                return 2;
            }
            if (ex instanceof Cli.IoError || ex instanceof Merge.MergeException) {
                err.println("jbtrfs-stress: " + cmd.getCommandName() + ": " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl.execute(withCommand(args));
    }

    /** {@code run} is the default command: arguments that do not start with a command name are its. */
    static String[] withCommand(String[] args) {
        if (args.length > 0 && (COMMANDS.contains(args[0]) || args[0].equals("--help") || args[0].equals("-h"))) {
            return args[0].startsWith("-") ? new String[] {"help"} : args;
        }
        String[] a = new String[args.length + 1];
        a[0] = "run";
        System.arraycopy(args, 0, a, 1, args.length);
        return a;
    }

    /**
     * The CLI's logging: warnings to stderr, the kernel's dmesg copy off (the runner prints the kernel log of
     * failing cycles itself). Installed from a named resource, not a logback.xml at the jar's root, which
     * would configure the logging of every application with jbtrfs-stress on its classpath; and not when
     * the user chose a configuration ({@code -Dlogback.configurationFile}).
     */
    static void installCliLogging() {
        if (System.getProperty("logback.configurationFile") != null) {
            return;
        }
        URL config = StressMain.class.getResource("logback-cli.xml");
        ILoggerFactory f = LoggerFactory.getILoggerFactory();
        if (config == null || !(f instanceof LoggerContext ctx)) {
            return;
        }
        ctx.reset();
        JoranConfigurator j = new JoranConfigurator();
        j.setContext(ctx);
        try {
            j.doConfigure(config);
        } catch (JoranException e) {
            System.err.println("jbtrfs-stress: logging config " + config + ": " + e.getMessage());
        }
    }
}
