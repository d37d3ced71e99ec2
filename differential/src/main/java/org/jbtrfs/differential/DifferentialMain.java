package org.jbtrfs.differential;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.jbtrfs.differential.kernel.KernelTarget;
import org.jbtrfs.differential.kernel.UnavailableException;
import org.jbtrfs.differential.scenario.Scenario;
import org.jbtrfs.differential.scenario.ScenarioException;
import org.jbtrfs.differential.scenario.ScenarioParser;
import org.jbtrfs.differential.scenario.Scenarios;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code java -jar differential/target/jbtrfs-differential.jar list | show NAME | run NAME...|--all | anchor}.
 * Exit 0: every row agrees or differs for a stated reason; 1: an unexplained difference or a scenario
 * stopped early; 2: a usage error, a bad scenario (unknown step or option), or a kernel target that cannot
 * run here (not root, no loop devices, no btrfs-progs) — unless {@code --skip-if-unavailable}; 3: the
 * kernel's btrfs looked stuck and the run stopped.
 */
@Command(name = "jbtrfs-differential", mixinStandardHelpOptions = true, version = "jbtrfs-differential 0.1.0",
    description = "Runs the same scenarios on the real kernel (root, loop devices, btrfs-progs) and on the port, side by side.",
    subcommands = {DifferentialMain.ListCommand.class, DifferentialMain.ShowCommand.class, DifferentialMain.RunCommand.class,
        DifferentialMain.AnchorCommand.class})
public final class DifferentialMain {
    static final int OK = 0;
    static final int FINDINGS = 1;
    static final int USAGE = 2;
    static final int STUCK = 3;

    public static void main(String[] args) {
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true), DifferentialMain::kernel);
        System.exit(code);
    }

    /** Where kernel targets come from: the real one, or a test's. */
    @FunctionalInterface
    interface KernelFactory {
        Target open(Path workDir);
    }

    private static Target kernel(Path workDir) { return KernelTarget.open(workDir); }

    private static KernelFactory kernelFactory;

    static int run(String[] args, PrintWriter out, PrintWriter err, KernelFactory kernels) {
        kernelFactory = kernels;
        CommandLine cl = new CommandLine(new DifferentialMain());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof ScenarioException || ex instanceof IllegalArgumentException) {
                err.println("jbtrfs-differential: " + ex.getMessage());
                return USAGE;
            }
            if (ex instanceof KernelStuckException) {
                err.println("jbtrfs-differential: " + ex.getMessage());
                return STUCK;
            }
            throw ex;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    @Command(name = "list", description = "The shipped scenarios (the only ones the kernel target runs).")
    static final class ListCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            for (String name : Scenarios.names()) {
                Scenario s = Scenarios.load(name, Map.of());
                String d = s.description();
                int dot = d.indexOf(". ");
                out.printf("%-36s %s%n", name, dot > 0 ? d.substring(0, dot + 1) : d);
            }
            return OK;
        }
    }

    @Command(name = "show", description = "Print a shipped scenario's source.")
    static final class ShowCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "SCENARIO")
        String name;

        @Override
        public Integer call() {
            spec.commandLine().getOut().print(Scenarios.source(name));
            return OK;
        }
    }

    /** What run and anchor share: targets, parameters, output. */
    abstract static class Common {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--target", defaultValue = "both", description = "both (default), kernel or port")
        String target;

        @Option(names = {"-p", "--param"}, paramLabel = "NAME=VALUE", description = "override a scenario parameter (e.g. -p extents=20000)")
        Map<String, String> params = new LinkedHashMap<>();

        @Option(names = "--markdown", paramLabel = "FILE", description = "also write the tables to FILE (Markdown)")
        Path markdown;

        @Option(names = "--work-dir", paramLabel = "DIR", description = "where the kernel target makes its temporary directory (default: java.io.tmpdir)")
        Path workDir;

        @Option(names = "--skip-if-unavailable", description = "exit 0 with a SKIPPED message when the kernel target cannot run here")
        boolean skipIfUnavailable;

        @Option(names = "--latency", defaultValue = "virtio", paramLabel = "MODEL",
            description = "the port's latency model: virtio (default: the device and wake-up costs measured on this machine kind), "
                + "off, or read,write,flush,wakeup in µs (see docs/latency-model.md)")
        String latency;

        boolean wantsKernel() { return target.equals("both") || target.equals("kernel"); }

        boolean wantsPort() { return target.equals("both") || target.equals("port"); }

        void checkTarget() {
            if (!List.of("both", "kernel", "port").contains(target)) {
                throw new IllegalArgumentException("--target must be both, kernel or port (got '" + target + "')");
            }
        }

        /** Runs {@code scenarios} and prints their tables; the exit code. */
        int runAll(List<Scenario> scenarios) {
            checkTarget();
            org.jbtrfs.core.LatencyModel model = org.jbtrfs.core.LatencyModel.parse(latency);
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Path dir = workDir != null ? workDir : Path.of(System.getProperty("java.io.tmpdir"));
            StringBuilder md = new StringBuilder();
            String kernelName = null;
            if (wantsKernel()) {
                // check the prerequisites once, before any scenario touches anything
                try (Target probe = kernelFactory.open(dir)) {
                    kernelName = probe.name();
                } catch (UnavailableException e) {
                    if (skipIfUnavailable) {
                        out.println("SKIPPED: the kernel target cannot run here: " + e.getMessage());
                        return OK;
                    }
                    err.println("jbtrfs-differential: the kernel target cannot run here:");
                    e.missing().forEach(m -> err.println("  - " + m));
                    return USAGE;
                }
            }
            String header = "jbtrfs differential run, " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME).replaceFirst("\\.\\d+", "")
                + (kernelName != null ? ", " + kernelName + " (uname -r)" : "") + ", " + Runtime.getRuntime().availableProcessors()
                + " CPUs, load average " + loadAverage() + ", Java " + System.getProperty("java.version") + "\n\n";
            out.print(header);
            md.append(header);
            int code = OK;
            for (Scenario s : scenarios) {
                TargetRun k = wantsKernel() ? runOn(s, () -> kernelFactory.open(dir)) : null;
                TargetRun p = wantsPort() ? runOn(s, () -> new PortTarget(org.jbtrfs.core.KernelConfig.defaults().latency(model))) : null;
                String table;
                if (k != null && p != null) {
                    List<Row> rows = Comparison.compare(s, k, p);
                    table = TableRenderer.sideBySide(s, k, p, rows);
                    if (rows.stream().anyMatch(r -> r.verdict() == Verdict.DIFFER)) {
                        code = FINDINGS;
                    }
                } else {
                    table = TableRenderer.single(s, k != null ? k : p);
                }
                if (k != null && k.error() != null || p != null && p.error() != null) {
                    code = FINDINGS;
                }
                out.println(table);
                out.flush();
                md.append(table).append('\n');
            }
            if (markdown != null) {
                try {
                    Files.writeString(markdown, md);
                } catch (IOException e) {
                    err.println("jbtrfs-differential: cannot write " + markdown + ": " + e.getMessage());
                    return USAGE;
                }
            }
            return code;
        }

        /** The first three fields of /proc/loadavg: timings on a busy machine are slower, on both sides. */
        private static String loadAverage() {
            try {
                String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
                return f[0] + " " + f[1] + " " + f[2];
            } catch (IOException | RuntimeException e) {
                return "unknown";
            }
        }

        private static TargetRun runOn(Scenario s, Supplier<Target> make) {
            try (Target t = make.get()) {
                return Runner.run(s, t);
            }
        }

        /** Overrides for one scenario: those it declares (all must be declared by at least one of {@code all}). */
        List<Scenario> load(List<String> names) {
            List<String> unknown = new ArrayList<>(params.keySet());
            List<Scenario> out = new ArrayList<>();
            for (String n : names) {
                Map<String, String> mine = new LinkedHashMap<>();
                Scenario plain = Scenarios.load(n, Map.of());
                params.forEach((k, v) -> {
                    if (plain.params().containsKey(k)) {
                        mine.put(k, v);
                        unknown.remove(k);
                    }
                });
                out.add(Scenarios.load(n, mine));
            }
            if (!unknown.isEmpty()) {
                throw new ScenarioException("unknown parameter(s) " + unknown + " for " + names);
            }
            return out;
        }
    }

    @Command(name = "run", description = "Run scenarios on the kernel and on the port and print them side by side.")
    static final class RunCommand extends Common implements Callable<Integer> {
        @Parameters(paramLabel = "SCENARIO", arity = "0..*", description = "shipped scenario names (see list)")
        List<String> names = new ArrayList<>();

        @Option(names = "--all", description = "every shipped scenario")
        boolean all;

        @Option(names = "--file", paramLabel = "FILE.scn", description = "a scenario file of your own (port only: see README's caution)")
        Path file;

        @Override
        public Integer call() throws IOException {
            if (file != null) {
                if (wantsKernel()) {
                    throw new IllegalArgumentException("--file runs on the port only (--target port): a scenario outside the "
                        + "shipped list can hang a kernel's btrfs; add it to the shipped list and try it on a throwaway VM first");
                }
                return runAll(List.of(ScenarioParser.parse(file.toString(), Files.readString(file), params)));
            }
            if (all == !names.isEmpty()) {
                throw new IllegalArgumentException("name scenarios or give --all (not both); shipped: " + String.join(", ", Scenarios.names()));
            }
            return runAll(load(all ? Scenarios.names() : names));
        }
    }

    @Command(name = "anchor", description = "The performance anchor alone: the minimal cycle on the kernel (syscalls) and on the port, and their ratio.")
    static final class AnchorCommand extends Common implements Callable<Integer> {
        @Option(names = "--cycles", defaultValue = "500", description = "cycles on each side (default 500)")
        int cycles;

        @Override
        public Integer call() {
            if (cycles < 1) {
                throw new IllegalArgumentException("--cycles must be positive");
            }
            params.put("cycles", String.valueOf(cycles));
            return runAll(load(List.of("performance-anchor")));
        }
    }
}
