package org.jbtrfs.stress.engine;

import org.jbtrfs.core.kernel.WaitGraph;
import org.jbtrfs.fs.internal.Internals;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.UnloadReport;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.Classifier;
import org.jbtrfs.stress.classify.CycleResult;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.classify.Signature;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.stress.report.Reporter;
import org.jbtrfs.stress.report.RunStats;
import org.jbtrfs.stress.report.Summary;
import org.jbtrfs.stress.schedule.InterleavingCoverage;
import org.jbtrfs.stress.schedule.Perturbation;
import org.jbtrfs.stress.schedule.ScheduleScope;
import org.jbtrfs.stress.watch.Busy;
import org.jbtrfs.stress.watch.Profile;
import org.jbtrfs.stress.watch.Sampler;
import org.jbtrfs.stress.watch.Watchdog;

/**
 * The stress engine: loads a module, starts one driver thread per filesystem, a watchdog and the
 * progress line, and turns the drivers' verdicts into a {@link Summary}. A hung task never ends the
 * run: the watchdog reports it, the module is panicked (every sleeper of it unwinds), unloaded and
 * replaced, and the drivers go on. Also replays one cycle, as often as asked.
 */
public final class StressRunner {
    private StressRunner() { }

    /**
     * {@code -Djbtrfs.stress.slabDebug=true}: the module boots as with slub_debug — every leak report names where
     * each remaining object was allocated (a stack per allocation: slower). For hunting a leak the verdicts do not
     * pin to a cycle, such as one found only by the run's final rmmod.
     */
    static final boolean SLAB_DEBUG = Boolean.getBoolean("jbtrfs.stress.slabDebug");

    /**
     * Lockdep, on unless {@code -Djbtrfs.stress.lockdep=false} (since stop 48; opt-in before): the module boots as with
     * CONFIG_PROVE_LOCKING, as a test kernel does — every kernel mutex, rwsem, freeze level, workqueue flush and btrfs'
     * wait-event maps are checked for a circular dependency ({@code Lockdep}); the first report is a failing cycle of
     * class {@code lockdep:A -> B ...} and turns lockdep off until the module is reloaded. It changes no behaviour and
     * costs no measurable throughput (README, *Lockdep*); off, a lock-order deadlock is named only when it happens, by
     * the hung-task limit.
     */
    static final boolean LOCKDEP = !"false".equalsIgnoreCase(System.getProperty("jbtrfs.stress.lockdep", "true"));

    /**
     * The deadlock oracle, on unless {@code -Djbtrfs.stress.deadlocks=false} (stop 49): the watchdog looks at the
     * module's wait-for graph ({@code WaitGraph}) and names a deadlock of completions, commits and mutexes — what
     * lockdep cannot see — once it has formed, instead of after the hung-task limit ({@link Watchdog#deadlocks}). Same
     * report, same class; it changes no behaviour.
     */
    static final boolean DEADLOCK_ORACLE = !"false".equalsIgnoreCase(System.getProperty("jbtrfs.stress.deadlocks", "true"));

    /** Watches {@code host}'s module for deadlocks, when {@link #DEADLOCK_ORACLE} is on. */
    private static void watchDeadlocks(Watchdog wd, ModuleHost host) {
        if (DEADLOCK_ORACLE) {
            wd.deadlocks(() -> WaitGraph.find(Internals.kernel(host.module()).sched(), BtrfsModule.DEADLOCK_MIN_ASLEEP_NANOS));
        }
    }

    static KernelConfig config(StressOptions opt) {
        KernelConfig c = SLAB_DEBUG ? opt.config().slabDebug(true) : opt.config();
        return LOCKDEP ? c.lockdep(true) : c;
    }

    public static Summary run(StressOptions opt, PrintStream out, boolean progress) {
        CommitCheck.installIfAsked();
        boolean perturbed = opt.workload() != StressOptions.Workload.MINIMAL;
        List<String> notes = new ArrayList<>();
        boolean fill = perturbed;
        RunStats stats = new RunStats();
        Reporter reporter = new Reporter(out, progress);
        RunControl control = new RunControl(opt, stats, reporter);
        ScheduleScope[] lanes = new ScheduleScope[opt.filesystems()];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new ScheduleScope(i);
        }
        Perturbation perturbation = perturbed ? new Perturbation(lanes, new ScheduleScope(-1)) : null;
        ModuleHost host = new ModuleHost(config(opt), opt.filesystems(), perturbation, stats, opt.seed(),
            opt.faults().contains(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM));
        List<Driver> drivers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        InterleavingCoverage coverage = new InterleavingCoverage();
        for (int i = 0; i < lanes.length; i++) {
            Driver d = new Driver(i, lanes[i], host, perturbation, opt, control, reporter, fill, coverage);
            drivers.add(d);
            Thread t = new Thread(d, "stress-driver-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
        Sampler sampler = Sampler.fromProperty(out, stats.startNanos);
        Profile profile = Profile.ON ? new Profile(threads) : null;
        try (Watchdog wd = new Watchdog(List.of(), opt.hungTaskNanos(), opt.stallNanos(), h -> hung(h, drivers, host))) {
            wd.lostWakeups(() -> Internals.kernel(host.module()).kthreadd().sleptThroughRequests(), h -> lostWakeup(h, drivers, host));
            watchDeadlocks(wd, host);
            if (opt.filesystems() == 1) {
                wd.deadTask(() -> hasDeadTask(host), deadTaskLimit(opt));
            } else {
                wd.deadTask(b -> hasDeadTask(host, b.filesystem()), deadTaskLimit(opt));
            }
            for (Driver d : drivers) {
                d.watchdog(wd);
                wd.watch(d.busy);
            }
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
                // attributed by the classifier's rules for a cycle's rmmod (an autodefrag record inserted after a
                // close_ctree's cleanup, stop 68), the rest unknown
                Observation unloadOnly = new Observation();
                unloadOnly.unload = last;
                Classifier.Verdict v = Classifier.classify(unloadOnly, opt.effectiveReverted());
                List<String> evidence = new ArrayList<>();
                evidence.add("final rmmod");
                evidence.addAll(v.evidence());
                stats.recordFailure(new CycleResult(-1, -1, 0, new ReplayToken(opt.seed(), 0, 0), EnumSet.of(Symptom.SLAB_LEAK),
                    v.bugs(), evidence, last.log(), null, "none",
                    new Signature("slab-leak", "final rmmod", List.of())));
            }
        } else {
            stats.addHookCounts(host.module().hooks().arrivalCounts());
        }
        notes.addAll(stats.hostNotes);
        if (stats.warmUps.get() > 0) {
            notes.add(stats.warmUps.get() + " operation(s) waited past the stall threshold while the JIT compiled (the JVM's"
                + " warm-up) or the perturbation held their filesystem's kernel threads: not counted as stalls");
        }
        if (perturbed) {
            notes.add(coverage.describe()); // the minimal workload keeps no timeline
        }
        return Summary.of(opt, stats, seconds, notes, control.abortReason(), stats.bugs(), stats.failing.get(), null);
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

    /**
     * The watchdog fired: log it like khungtaskd, give it to the cycle in progress (its class), and
     * panic the module — every sleeper of it unwinds with KernelPanic, the cycle ends, the driver unloads
     * the module and loads a fresh one. The run goes on.
     */
    static void hung(Watchdog.Hung h, List<Driver> drivers, ModuleHost host) {
        Observation o = observationOf(h, drivers);
        var mod = host.module();
        mod.log().log(LogLevel.ERR, LogEntry.Kind.HUNG_TASK, h.report());
        if (o != null && o.hang == null) {
            o.hang = new Observation.Hang(h.driver().driverName, h.driver().op(), h.frame(), h.report());
            o.note("state at the hang: " + Internals.debugState(mod));
            o.note("kernel sleeps at the hang:\n" + WaitGraph.describeSleeps(Internals.kernel(mod).sched()));
        }
        Internals.kernel(mod).panic("hung task: " + h.driver().driverName + " blocked in '" + h.driver().op() + "'");
    }

    /**
     * How long an operation may block in a kernel sleep once its module has a dead task before it is a hung task
     * ({@link Watchdog#deadTask}): a quarter of a second, far above any wait of a healthy cycle's kernel sleeps on
     * this port except a commit behind an injected latency, and never above the hung-task limit. With several
     * filesystems only for the filesystem the dead task's report concerns ({@link #hasDeadTask(ModuleHost, int)}):
     * another filesystem's merely slow wait must not be declared hung for this one's dead task.
     */
    static long deadTaskLimit(StressOptions o) {
        return Math.min(DEAD_TASK_LIMIT_NANOS, o.hungTaskNanos());
    }

    static final long DEAD_TASK_LIMIT_NANOS = 250_000_000L;

    /**
     * With several filesystems: as {@link #hasDeadTask(ModuleHost)}, and the oops or BUG concerns filesystem
     * {@code fs} — its report names fs's device (a kworker's names the device of its work), or was logged by fs's
     * driver or lanes, or names no filesystem at all (a kthread's unattributed oops: every filesystem's, as before).
     */
    static boolean hasDeadTask(ModuleHost host, int fs) {
        if (!hasDeadTask(host)) {
            return false;
        }
        return fs < 0 || LogScope.hasDeadTask(host.module().log().entries(), "stress-driver-" + fs,
            LogScope.devicesOf(host, fs), fs);
    }

    /** An oops or BUG killed a task of the module (taint D) and the module has not been panicked yet. */
    static boolean hasDeadTask(ModuleHost host) {
        var mod = host.module();
        return !Internals.kernel(mod).panicked() && mod.log().taints().contains(org.jbtrfs.core.Taint.DIE);
    }

    /**
     * A lost wake-up the watchdog named ({@link Watchdog#lostWakeups}): the blocked operation's cycle gets a
     * stall with the kthread's state as evidence, and the module is panicked so the cycle ends now rather
     * than when the next wake-up comes (the hung-task path's ending, for a stall whose outcome is known).
     */
    static void lostWakeup(Watchdog.Hung h, List<Driver> drivers, ModuleHost host) {
        Observation o = observationOf(h, drivers);
        Busy b = h.driver();
        long nanos = Math.max(0, b.runningFor(System.nanoTime()));
        if (o != null) {
            o.stall(new Observation.Stall(b.driverName, b.op(), nanos, h.frame(), null, h.report()));
            o.lostWakeup = true;
        }
        Internals.kernel(host.module()).panic("lost wake-up: " + b.driverName + " blocked in '" + b.op() + "': " + h.report());
    }

    /** The observation of the cycle {@code h}'s operation belongs to: its driver's, or a lane's driver's. */
    private static Observation observationOf(Watchdog.Hung h, List<Driver> drivers) {
        Busy b = h.driver();
        for (Driver d : drivers) {
            if (d.busy == b || b.driverName.equals(d.busy.driverName)) {
                Observation o = d.current();
                if (o != null) {
                    return o;
                }
            }
        }
        // a lane's Busy: the cycle of its own filesystem's driver (with several filesystems the first driver with a
        // cycle in progress was another filesystem's: its log, replay token and verdict, and the class unexplained)
        for (Driver d : drivers) {
            if (b.filesystem() >= 0 && d.busy.filesystem() == b.filesystem()) {
                Observation o = d.current();
                if (o != null) {
                    return o;
                }
            }
        }
        // a Busy of no filesystem: the first cycle in progress
        for (Driver d : drivers) {
            Observation c = d.current();
            if (c != null) {
                return c;
            }
        }
        return null;
    }

    /**
     * Reruns cycle C of filesystem F of run seed S, {@code --repeat} times, each on a fresh module: the
     * epoch's earlier cycles first (they build the state C started from), then C, whose full report is
     * printed the first time whether it fails or not. Counts how often C fails with the class asked for
     * ({@code --class}, else the first repetition's): the re-hit rate. A multi-filesystem run's cycle is
     * replayed on its filesystem alone.
     */
    public static Summary replay(StressOptions opt, PrintStream out) {
        CommitCheck.installIfAsked();
        ReplayToken t = opt.replay();
        StressOptions o = opt.withSeed(t.runSeed()).withFilesystems(1);
        List<String> notes = new ArrayList<>();
        RunStats stats = new RunStats();
        String want = opt.expectClass();
        String wantSig = null;
        int rehits = 0;
        List<String> seen = new ArrayList<>();
        CycleResult first = null;
        long from = t.cycle() - t.cycle() % Seeds.EPOCH;
        out.println("replaying cycles " + from + ".." + t.cycle() + " of filesystem " + t.fs() + " of run seed " + t.runSeed()
            + (opt.repeat() > 1 ? ", " + opt.repeat() + " times" : ""));
        for (int k = 0; k < opt.repeat(); k++) {
            CycleResult target = replayOnce(o, t, stats, out, k == 0);
            Signature sig = target.signature();
            seen.add(sig == null ? "passed" : sig.id() + " " + sig.text());
            if (k == 0) {
                first = target;
                out.print(Reporter.fullReport(target, 200, 400));
                if (want == null && sig != null) {
                    want = sig.id();
                }
            }
            if (sig != null && sig.id().equals(want)) {
                rehits++;
                wantSig = sig.text();
            }
            if (opt.repeat() > 1) {
                out.println("  repeat " + (k + 1) + ": " + (sig == null ? "passed" : sig.id() + " " + sig.text()));
            }
        }
        Summary.ReplayResult rr = new Summary.ReplayResult(t.toString(), want == null ? "" : want, wantSig == null ? "" : wantSig,
            opt.repeat(), rehits, seen);
        Map<String, Long> bugs = new TreeMap<>();
        if (first.failed()) {
            first.bugs().forEach(b -> bugs.put(b, 1L));
        }
        return Summary.of(o, stats, (System.nanoTime() - stats.startNanos) / 1e9, notes, null, bugs, first.failed() ? 1 : 0, rr);
    }

    private static CycleResult replayOnce(StressOptions o, ReplayToken t, RunStats stats, PrintStream out, boolean verbose) {
        Reporter reporter = new Reporter(out, false);
        RunControl control = new RunControl(o.withCycles(Long.MAX_VALUE), stats, reporter);
        ScheduleScope lane = new ScheduleScope(t.fs());
        lane.driver = Thread.currentThread();
        boolean perturbed = o.workload() != StressOptions.Workload.MINIMAL;
        ScheduleScope[] scopes = new ScheduleScope[t.fs() + 1];
        for (int i = 0; i < scopes.length; i++) {
            scopes[i] = i == t.fs() ? lane : new ScheduleScope(i);
        }
        Perturbation perturbation = perturbed ? new Perturbation(scopes, new ScheduleScope(-1)) : null;
        ModuleHost host = new ModuleHost(config(o), t.fs() + 1, perturbation, stats, o.seed(),
            o.faults().contains(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM));
        for (int i = 0; i < t.fs(); i++) {
            host.leave();
        }
        Driver d = new Driver(t.fs(), lane, host, perturbation, o, control, reporter, perturbed, new InterleavingCoverage());
        List<Driver> drivers = List.of(d);
        CycleResult target = null;
        try (Watchdog wd = new Watchdog(List.of(d.busy), o.hungTaskNanos(), o.stallNanos(), h -> hung(h, drivers, host))) {
            wd.lostWakeups(() -> Internals.kernel(host.module()).kthreadd().sleptThroughRequests(), h -> lostWakeup(h, drivers, host));
            watchDeadlocks(wd, host);
            wd.deadTask(() -> hasDeadTask(host), deadTaskLimit(o));
            d.watchdog(wd);
            long from = t.cycle() - t.cycle() % Seeds.EPOCH;
            for (long c = from; c <= t.cycle(); c++) {
                CycleResult r = d.runCycle(c);
                stats.record(r);
                if (c < t.cycle()) {
                    if (verbose) {
                        out.println("  cycle " + c + ": " + (r.failed() ? "FAILED " + r.symptoms() + " -> " + r.bugs()
                            + " (the state cycle " + t.cycle() + " starts from differs from the original run)" : "ok"));
                    }
                } else {
                    target = r;
                }
            }
        } finally {
            d.close();
            host.shutdown();
        }
        return target;
    }
}
