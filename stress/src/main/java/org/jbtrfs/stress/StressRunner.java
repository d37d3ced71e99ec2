package org.jbtrfs.stress;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.fs.UnloadReport;

/**
 * The stress engine: loads a module, starts one driver thread per filesystem, a watchdog and the
 * progress line, and turns the drivers' verdicts into a {@link Summary}. Also replays one cycle.
 */
final class StressRunner {
    private StressRunner() { }

    static KernelConfig config(StressOptions opt) {
        return KernelConfig.defaults().revert(opt.reverted()).crc32c(opt.crc32c());
    }

    static Summary run(StressOptions opt, PrintStream out, boolean progress) {
        boolean full = opt.workload() == StressOptions.Workload.FULL;
        List<String> notes = new ArrayList<>();
        boolean fill = full;
        RunStats stats = new RunStats();
        Reporter reporter = new Reporter(out, progress);
        RunControl control = new RunControl(opt, stats, reporter);
        Lane[] lanes = new Lane[opt.filesystems()];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane(i);
        }
        Perturbation perturbation = full ? new Perturbation(lanes, new Lane(-1)) : null;
        ModuleHost host = new ModuleHost(config(opt), opt.filesystems(), perturbation, stats, opt.seed());
        List<Driver> drivers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < lanes.length; i++) {
            Driver d = new Driver(i, lanes[i], host, perturbation, opt, control, reporter, fill, 0);
            drivers.add(d);
            Thread t = new Thread(d, "stress-driver-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        List<Busy> busy = drivers.stream().map(d -> d.busy).toList();
        Sampler sampler = Sampler.fromProperty(out, stats.startNanos);
        Profile profile = Profile.ON ? new Profile(threads) : null;
        try (Watchdog wd = new Watchdog(busy, opt.hungTaskNanos(), h -> hung(h, drivers, host, control, opt.seed()))) {
            threads.forEach(Thread::start);
            waitForDrivers(threads, control, reporter, stats);
        } finally {
            if (sampler != null) {
                sampler.close();
            }
            if (profile != null) {
                profile.close();
                out.print(profile.report());
            }
        }
        reporter.endProgress();
        double seconds = (System.nanoTime() - stats.startNanos) / 1e9;
        if (control.abortReason() == null || driversEnd(threads, 2_000_000_000L)) {
            UnloadReport last = host.shutdown();
            if (last != null && (!last.clean() || !last.threadsAlive().isEmpty())) {
                notes.add("the final rmmod was not clean: " + last.slabLeaks() + " " + last.stateLeaks() + " " + last.threadsAlive());
                stats.recordFailure(new CycleResult(-1, -1, 0, new ReplayToken(opt.seed(), 0, 0), EnumSet.of(Symptom.SLAB_LEAK),
                    Set.of(Classifier.UNKNOWN), List.of("final rmmod"), last.log(), null, "none"));
            }
        } else {
            stats.addHookCounts(host.module().hooks().arrivalCounts());
        }
        return new Summary(opt, stats.cycles.get(), seconds, stats.failing.get(), stats.bugs(), stats.symptoms(), stats.first(),
            stats.hooks(), stats.faults(), stats.reloads.get(), notes, control.abortReason());
    }

    /** After an abort: do the drivers leave within {@code nanos}? (A hung one does not.) */
    private static boolean driversEnd(List<Thread> threads, long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    private static void waitForDrivers(List<Thread> threads, RunControl control, Reporter reporter, RunStats stats) {
        for (Thread t : threads) {
            while (t.isAlive() && control.abortReason() == null) {
                try {
                    t.join(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    control.abort("interrupted");
                    return;
                }
                double s = (System.nanoTime() - stats.startNanos) / 1e9;
                reporter.progress(stats.cycles.get(), s, stats.failing.get(), control.secondsLeft());
            }
        }
    }

    /** The watchdog fired: log like khungtaskd, fail the driver's cycle, abort the run. */
    private static void hung(Watchdog.Hung h, List<Driver> drivers, ModuleHost host, RunControl control, long runSeed) {
        Driver d = drivers.stream().filter(x -> x.busy == h.driver()).findFirst().orElseThrow();
        var log = host.module().log();
        log.log(LogLevel.ERR, LogEntry.Kind.HUNG_TASK, h.report());
        List<LogEntry> entries = log.entries();
        Timeline tl = d.lane().timeline();
        CycleResult r = new CycleResult(d.index(), d.cycle(), Seeds.cycleSeed(runSeed, d.index(), d.cycle()),
            new ReplayToken(runSeed, d.cycle(), d.index()),
            EnumSet.of(Symptom.HUNG_TASK), Set.of(Classifier.UNKNOWN), List.of(h.report().lines().findFirst().orElse("")),
            entries.subList(Math.max(0, entries.size() - 40), entries.size()), tl, "n/a");
        control.abort("hung task: " + h.driver().driverName + " in '" + h.driver().op() + "'");
        control.record(r);
    }

    /**
     * Reruns cycle C of filesystem F of run seed S: the epoch's earlier cycles first (they build the
     * state C started from), then C, whose full report is printed whether it fails or not. A
     * multi-filesystem run's cycle is replayed on its filesystem alone.
     */
    static Summary replay(StressOptions opt, PrintStream out) {
        ReplayToken t = opt.replay();
        StressOptions o = opt.withSeed(t.runSeed()).withFilesystems(1);
        boolean full = o.workload() == StressOptions.Workload.FULL;
        List<String> notes = new ArrayList<>();
        boolean fill = full;
        RunStats stats = new RunStats();
        Reporter reporter = new Reporter(out, false);
        RunControl control = new RunControl(o.withCycles(Long.MAX_VALUE), stats, reporter);
        Lane lane = new Lane(t.fs());
        lane.driver = Thread.currentThread();
        Perturbation perturbation = full ? new Perturbation(new Lane[] {lane}, new Lane(-1)) : null;
        ModuleHost host = new ModuleHost(config(o), t.fs() + 1, perturbation, stats, o.seed());
        for (int i = 0; i < t.fs(); i++) {
            host.leave();
        }
        Driver d = new Driver(t.fs(), lane, host, perturbation, o, control, reporter, fill, 0);
        long from = t.cycle() - t.cycle() % Driver.EPOCH;
        out.println("replaying cycles " + from + ".." + t.cycle() + " of filesystem " + t.fs() + " of run seed " + t.runSeed());
        CycleResult target = null;
        for (long c = from; c <= t.cycle(); c++) {
            CycleResult r = d.runCycle(c);
            stats.record(r);
            if (c < t.cycle()) {
                out.println("  cycle " + c + ": " + (r.failed() ? "FAILED " + r.symptoms() + " -> " + r.bugs()
                    + " (the state cycle " + t.cycle() + " starts from differs from the original run)" : "ok"));
            } else {
                target = r;
            }
        }
        out.print(Reporter.fullReport(target, 200, 400));
        host.shutdown();
        return new Summary(o, stats.cycles.get(), (System.nanoTime() - stats.startNanos) / 1e9, target.failed() ? 1 : 0,
            target.failed() ? countOne(target) : java.util.Map.of(), stats.symptoms(), stats.first(), stats.hooks(),
            stats.faults(), stats.reloads.get(), notes, null);
    }

    private static java.util.Map<String, Long> countOne(CycleResult r) {
        java.util.Map<String, Long> m = new java.util.TreeMap<>();
        r.bugs().forEach(b -> m.put(b, 1L));
        return m;
    }
}
