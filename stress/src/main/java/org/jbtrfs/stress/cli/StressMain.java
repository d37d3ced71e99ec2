package org.jbtrfs.stress.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.UsageException;
import org.jbtrfs.stress.engine.StressRunner;
import org.jbtrfs.stress.report.Summary;

/**
 * {@code java -jar jbtrfs-stress.jar ...}: the stress CLI (ARCHITECTURE.md, "Stress CLI contract").
 * Exit 0 when no cycle failed, 1 when one did, 2 on a usage error.
 */
public final class StressMain {
    private StressMain() { }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err, System.console() != null);
        System.out.flush();
        // drivers stuck in a hung task are daemon threads; exit now rather than wait for them
        System.exit(code);
    }

    public static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        StressOptions opt;
        try {
            opt = StressOptions.parse(args, System.nanoTime() ^ System.currentTimeMillis());
        } catch (UsageException e) {
            if (e.getMessage().equals("help")) {
                out.println(StressOptions.USAGE);
                return 0;
            }
            err.println("jbtrfs-stress: " + e.getMessage());
            err.println(StressOptions.USAGE);
            return 2;
        }
        if (!opt.seedGiven() && opt.replay() == null) {
            out.println("seed " + opt.seed() + " (from the clock; pass --seed " + opt.seed() + " to repeat the run)");
        }
        Summary s = opt.replay() != null ? StressRunner.replay(opt, out) : StressRunner.run(opt, out, terminal);
        out.print(s.text());
        if (opt.json() != null) {
            try {
                Files.writeString(opt.json(), s.json());
            } catch (IOException e) {
                err.println("jbtrfs-stress: cannot write " + opt.json() + ": " + e.getMessage());
                return 2;
            }
        }
        return s.exitCode();
    }
}
