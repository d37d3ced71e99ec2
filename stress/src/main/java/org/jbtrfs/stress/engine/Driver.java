package org.jbtrfs.stress.engine;

import org.jbtrfs.fs.internal.Internals;
import java.util.List;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.kernel.SlabCache;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.UnloadReport;
import org.jbtrfs.stress.CycleRange;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.StressOptions;
import org.jbtrfs.stress.classify.Classifier;
import org.jbtrfs.stress.classify.CycleResult;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.classify.Signature;
import org.jbtrfs.stress.classify.Symptom;
import org.jbtrfs.stress.lanes.LanePool;
import org.jbtrfs.stress.lanes.LanesWorkload;
import org.jbtrfs.stress.report.Reporter;
import org.jbtrfs.stress.schedule.InterleavingCoverage;
import org.jbtrfs.stress.schedule.Perturbation;
import org.jbtrfs.stress.schedule.Schedule;
import org.jbtrfs.stress.schedule.ScheduleScope;
import org.jbtrfs.stress.schedule.Timeline;
import org.jbtrfs.stress.watch.Busy;
import org.jbtrfs.stress.watch.Watchdog;
import org.jbtrfs.stress.workload.CycleEnv;
import org.jbtrfs.stress.workload.FsModel;
import org.jbtrfs.stress.workload.FullWorkload;
import org.jbtrfs.stress.workload.MinimalWorkload;

/**
 * One filesystem's driver thread: cycle after cycle on its device, each with its own seed. The
 * filesystem is made anew every {@link Seeds#EPOCH} cycles, so a cycle's starting state is the product of
 * at most {@code EPOCH - 1} earlier cycles of the same seed, which {@code --replay} reruns first. A
 * failing cycle ends its epoch: the module is replaced and the next cycle starts the next epoch. In a
 * lanes cycle the driver mounts, hands the filesystem to the lanes ({@link LanesWorkload}) and makes the
 * verdict; a hung lane is reported by the watchdog, which panics the module so the cycle unwinds.
 */
final class Driver implements Runnable {
    /** Failures that leave the module as it was: a stall that completed, a needless UUID rescan (its kthread ended). */
    private static final java.util.Set<Symptom> MODULE_INTACT = java.util.EnumSet.of(Symptom.STALL, Symptom.NEEDLESS_UUID_RESCAN,
        Symptom.ASYNC_DISCARD_OFF);

    private final int index;
    private final ScheduleScope lane;
    private final ModuleHost host;
    private final Perturbation perturbation;
    private final StressOptions opt;
    private final RunControl control;
    private final Reporter reporter;
    final Busy busy;
    private final FsModel model = new FsModel();
    private final boolean fillBlockGroups;
    private final LanePool lanePool;
    private volatile Watchdog watchdog;
    /** The cycle numbers this driver runs ({@link CycleRange}: the run's, or its shard's). */
    private final CycleRange range;
    /** The next cycle to run; -1 when the range is done. */
    private long cycle;
    /** The module was replaced: its fresh devices need a filesystem before the next cycle. */
    private boolean needsMkfs;
    /**
     * What the epoch's previous cycle on this filesystem did — its plan and the last lines of its kernel log — for a
     * failing cycle's evidence: a window opened in one cycle and failing in the next (a replace an umount suspended,
     * resumed by the next cycle's mount) shows no cause in the failing cycle alone (stop 75: classes efef94d3, 2eb31eac,
     * whose replays re-ran the epoch down other paths). Null at an epoch's start.
     */
    private List<String> previousCycle;
    /** How many of the previous cycle's kernel log lines the evidence keeps. */
    static final int PREVIOUS_LOG_LINES = 40;
    /**
     * Tests only: a fault for cycle (filesystem, cycle), or null. A fault fails the cycle as if its workload
     * had thrown it when the workload ended — a failure at known cycles, whatever the timing
     * (ShardProcessTest, HtmlReportTest). Null in every run of the CLI.
     */
    static volatile java.util.function.BiFunction<Integer, Long, RuntimeException> testFault;

    /** The run's interleaving coverage: every cycle's timeline is counted into it. */
    private final InterleavingCoverage coverage;

    /** The observation of the cycle running now (the watchdog's hang report goes there). */
    private volatile Observation current;

    Driver(int index, ScheduleScope lane, ModuleHost host, Perturbation perturbation, StressOptions opt, RunControl control,
           Reporter reporter, boolean fillBlockGroups, InterleavingCoverage coverage) {
        this.index = index;
        this.coverage = coverage;
        this.lane = lane;
        this.host = host;
        this.perturbation = perturbation;
        this.opt = opt;
        this.control = control;
        this.reporter = reporter;
        this.fillBlockGroups = fillBlockGroups;
        this.busy = new Busy("driver-" + index, index);
        busy.kernelDelayClock(lane::kernelDelayNanos); // the perturbation's delays of its filesystem's kernel threads
        this.range = opt.cycleRange(index);
        this.cycle = range.first();
        this.lanePool = opt.workload() == StressOptions.Workload.LANES ? new LanePool(index) : null;
    }

    int index() { return index; }

    long cycle() { return cycle; }

    ScheduleScope lane() { return lane; }

    /** The watchdog that also watches this driver's lanes. */
    void watchdog(Watchdog w) { this.watchdog = w; }

    /** The observation of the cycle in progress (null between cycles). */
    Observation current() { return current; }

    @Override
    public void run() {
        lane.driver = Thread.currentThread();
        try {
            while (cycle >= 0 && !control.stopped()) {
                if (host.reloadRequested()) {
                    // another filesystem's failure replaces the module: this one's epoch ends too (unless
                    // it has not started: its first cycle makes the filesystem anyway)
                    cycle = afterReload(cycle);
                    continue;
                }
                Thread.interrupted(); // a panic's interrupt that reached this thread after it left the kernel
                String left = leftBehind();
                if (left != null) {
                    reporter.line("stress driver " + index + ", before cycle " + cycle + ": " + left + "; replacing the module");
                    host.note("before cycle " + cycle + " of driver " + index + ": " + left + "; the module was replaced");
                    host.requestReload();
                    cycle = afterReload(cycle);
                    continue;
                }
                CycleResult r;
                try {
                    r = runCycle(cycle);
                } catch (org.jbtrfs.core.KernelPanic e) {
                    // the module panicked between leftBehind() and this cycle's first call into it (mkfs, before the
                    // workload, whose panics runCycle takes as its verdict): a lane of an earlier cycle that outlived
                    // it hung and the watchdog panicked the module meanwhile (the
                    // --kernel 5.12 run at 571.9 s, seed 1001, was aborted here). The same case as leftBehind's:
                    // replace the module and go on
                    String why = "the module panicked before cycle " + cycle + " began (a lane that outlived its cycle: " + e.getMessage() + ")";
                    reporter.line("stress driver " + index + ": " + why + "; replacing the module");
                    host.note("driver " + index + ": " + why + "; the module was replaced");
                    host.requestReload();
                    cycle = afterReload(cycle);
                    continue;
                } catch (RuntimeException | Error e) {
                    // the runner's own failure (not the kernel's): say so and end the run with a summary
                    reporter.line("stress runner error in driver " + index + ", cycle " + cycle + ": " + Classifier.stack(e));
                    control.abort("runner error: " + e);
                    break;
                }
                if (control.abortReason() != null) {
                    break;
                }
                control.record(r);
                // a stall that completed (or a needless UUID rescan) leaves the module as it was; a stall the watchdog
                // ended (a lost wake-up) replaced it, like every other failure: the epoch's later cycles would start
                // from elsewhere
                boolean moduleIntact = MODULE_INTACT.containsAll(r.symptoms()) && !needsMkfs;
                cycle = r.failed() && !moduleIntact ? range.nextEpoch(cycle) : range.next(cycle);
            }
        } finally {
            host.leave();
            close();
        }
    }

    void close() {
        if (lanePool != null) {
            lanePool.close();
        }
    }

    /**
     * Waits at the module host's barrier until the module is replaced; the filesystem is made anew, so the
     * epoch of {@code cycle} ends (unless it has not started: its first cycle makes the filesystem anyway).
     * Returns the cycle to run next.
     */
    private long afterReload(long cycle) {
        host.reloadBarrier();
        needsMkfs = true;
        return cycle % Seeds.EPOCH == 0 ? cycle : range.nextEpoch(cycle);
    }

    /**
     * What an earlier cycle left behind that the next one cannot start on, or null. A lane abandoned after a
     * panic, or one still unwinding when its cycle's verdict was taken, can panic the module or leave this
     * driver's device mounted after the verdict; every call of a panicked module throws, and mkfs of a mounted
     * device is EBUSY. The run must go on (a fresh module, the next epoch), and says so in its summary.
     */
    private String leftBehind() {
        BtrfsModule mod = host.module();
        if (Internals.kernel(mod).panicked()) {
            return "the module panicked after the previous cycle's verdict (a lane that outlived its cycle)";
        }
        for (Btrfs m : mod.mounts()) {
            if (m.device() == host.device(index) || m.device() == host.device2(index) || m.device() == host.spare(index)) {
                return m + " is still mounted after the previous cycle";
            }
        }
        return null;
    }

    /**
     * Runs cycle {@code c}; on failure replaces the module and folds rmmod's report into the verdict.
     */
    CycleResult runCycle(long c) {
        long seed = Seeds.cycleSeed(opt.seed(), index, c);
        BtrfsModule mod = host.module();
        BlockDevice dev = host.device(index);
        BlockDevice dev2 = host.device2(index);
        if (opt.filesystems() > 1) {
            busy.device(dev.name()); // its hung-task reports are this filesystem's (LogScope), not every one's
            if (perturbation != null) { // the works queued for its devices are perturbed by its schedule
                perturbation.registerDevice(dev.name(), lane);
                if (dev2 != null) {
                    perturbation.registerDevice(dev2.name(), lane);
                }
                // and so is the thread running the cycle: its mount, its lifecycle steps, its final umount (until stop 58
                // only kthreads, lanes and works were known, and the driver's arrivals went to the shared scope)
                perturbation.register(Thread.currentThread(), lane);
            }
        }
        StressOptions.Workload w = opt.workload();
        boolean perturbed = w != StressOptions.Workload.MINIMAL;
        Observation obs = new Observation();
        current = obs;
        busy.stallSink(obs::stall);
        busy.warmUpSink(obs::warmUp);
        Timeline timeline = perturbed ? new Timeline(System.nanoTime()) : null;
        busy.opSink(timeline == null ? null : timeline::op);
        Schedule schedule = perturbed ? new Schedule(seed) : null;
        long epochCycle = c % Seeds.EPOCH;
        if (epochCycle == 0 || needsMkfs) {
            needsMkfs = false;
            previousCycle = null; // a new filesystem: nothing before it
            busy.enter("mkfs");
            try {
                mod.mkfs(dev);
                org.jbtrfs.fs.tools.Blkid.Probe made = org.jbtrfs.fs.tools.Blkid.probe(dev);
                model.fsid = made == null ? null : made.fsid();
                if (w == StressOptions.Workload.LANES) {
                    mod.mkfs(dev2);
                }
            } finally {
                busy.exit();
            }
            model.newFilesystem();
        }
        // the device statistics persist across mounts: what each disk's next "errs:" line counts from
        obs.devStatsAtStart = org.jbtrfs.transaction.DevStats.of(org.jbtrfs.fs.internal.Internals.kernel(mod)).latestByDevice();
        long mark = mod.log().mark();
        CycleEnv env = new CycleEnv(mod, dev, dev2, index, seed, epochCycle, model, busy, lane, opt.filesystems() == 1,
            fillBlockGroups, opt.lanes(), opt.faults(), opt.swarm());
        env.spare = host.spare(index);
        Btrfs fs = null;
        List<FileHandle> held = List.of();
        String plan = schedule == null ? "none" : schedule.toString();
        if (perturbed) {
            lane.begin(schedule, timeline);
        }
        try {
            switch (w) {
                case LANES -> {
                    LanesWorkload lw = new LanesWorkload(env, obs, lanePool, watchdog, c, 5_000_000_000L);
                    try {
                        lw.run();
                    } finally {
                        fs = lw.fs();
                        if (lw.planText() != null) {
                            plan = lw.planText() + "; " + plan;
                        }
                    }
                }
                case FULL -> {
                    FullWorkload fw = new FullWorkload(env, obs);
                    try {
                        fw.run();
                    } finally {
                        fs = fw.fs();
                        held = fw.held();
                    }
                }
                case MINIMAL -> fs = MinimalWorkload.run(env, obs);
            }
        } catch (org.jbtrfs.core.KernelPanic e) {
            // the watchdog panicked the module for a hung operation or a lost wake-up: that is the verdict
            if (obs.hang == null && !obs.lostWakeup) {
                obs.workloadError = e;
            }
        } catch (RuntimeException | Error e) {
            obs.workloadError = e;
        } finally {
            lane.end();
        }
        synchronized (obs) {
            for (String n : obs.notes) {
                if (n.startsWith(org.jbtrfs.stress.lanes.LanesWorkload.ABANDONED)) {
                    // a lane no panic ended sleeps outside the module's kernel: the run's summary names it with its
                    // stack, whatever this cycle's class (only a class's first cycle is printed in full)
                    host.note("cycle " + c + " of driver " + index + ": " + n);
                }
            }
        }
        java.util.function.BiFunction<Integer, Long, RuntimeException> fault = testFault;
        RuntimeException injected = fault == null ? null : fault.apply(index, c);
        if (injected != null && obs.workloadError == null) {
            obs.workloadError = injected;
        }
        if (!Internals.kernel(mod).panicked()) {
            if (fs != null && fs.isMounted()) {
                cleanup(fs, held, obs);
            }
            for (Btrfs other : mod.mounts()) {
                if (other.device() == dev2 || other.device() == host.spare(index)) {
                    cleanup(other, List.of(), obs);
                }
            }
        }
        BlockDevice spare = host.spare(index);
        if (dev instanceof org.jbtrfs.core.FlakeyBlockDevice flakey && flakey.mode() != org.jbtrfs.core.FlakeyBlockDevice.Mode.PASS
            && mod.mounts().stream().noneMatch(m -> m.device() == dev || m.device() == spare)) {
            // a power cut a broken cycle left (stop 35): the filesystem closed in the cut; a fresh one for the next cycle,
            // the disk having lost what the cut dropped while the filesystem still ran
            flakey.allowWrites(); // and the spare disk's, on the same power (stop 65)
            needsMkfs = true;
        }
        obs.log = scope(mod.log().since(mark));
        if (Classifier.replaceFinishedInLog(obs.log)) {
            model.replaceFinishedSinceMkfs = true; // the next cycles' mounts meet what the swap left
        }
        obs.replaceFinishedSinceMkfs = model.replaceFinishedSinceMkfs;
        obs.replaceHistory = java.util.List.copyOf(model.replaceHistory); // the earlier cycles' only
        for (org.jbtrfs.core.LogEntry l : obs.log) {
            if (Classifier.replaceLine(l.message())) {
                model.rememberReplaceLine(cycle, l.message());
                model.noteReplaceLine(l.message());
            }
        }
        obs.unreadableInReplaceCopy = java.util.Set.copyOf(model.unreadableInReplaceCopy); // this cycle's too
        for (java.util.Iterator<String> it = obs.fsck.iterator(); it.hasNext();) {
            String p = it.next();
            if (Classifier.lostInReplaceCopy(p, obs)) {
                it.remove(); // an outcome of the injected read errors: noted, not the cycle's failure
                obs.note("lost with the disk that failed to read it (a replace's copy wrote zeros, 5.11): " + p);
            }
        }
        if (Classifier.sourceMissedWrites(obs)) {
            model.sourceMissedWritesSinceMkfs = true; // the next cycles read a source that may lack what the target held
        }
        obs.sourceMissedWritesSinceMkfs = model.sourceMissedWritesSinceMkfs;
        if (opt.filesystems() == 1 && fs != null && !fs.isMounted() && obs.umountError == null && mod.mounts().isEmpty()
            && !Internals.kernel(mod).panicked()) {
            // Objects still allocated after a clean umount are leaked: the per-cycle rmmod check,
            // without paying for an rmmod every cycle.
            for (SlabCache cache : Internals.kernel(mod).slabs().all()) {
                long n = cache.inUse();
                if (n > 0) {
                    obs.slabsInUse.add(cache.name() + ": " + n);
                }
            }
        }
        java.util.Set<FixSwitch> reverted = opt.effectiveReverted();
        Classifier.Verdict v = Classifier.classify(obs, reverted);
        // read once: another filesystem's watchdog may panic the shared module at any moment, and a cycle that saw no
        // panic here but reloaded for one below took that module's leaks for its own (an unexplained `slab-leak:`
        // class, 1 cycle of 44,146 in a `--kernel 5.12 --filesystems 4` run of 27968a4, replay 1001:15178:3)
        boolean panicked = Internals.kernel(mod).panicked();
        boolean collateral = panicked && obs.hang == null && !obs.lostWakeup;
        // a stall leaves the module as it was (the operation completed), and so does a needless UUID rescan (the
        // kthread ended before the umount returned): no need to replace it. Replacing it anyway would take the leaks of a
        // panic for another filesystem's hang, landing during the reload, for this cycle's own (stop 32: a `slab-leak:`
        // class, unexplained, 109 cycles of a `--kernel 5.11 --filesystems 4 --faults all` run of 150 s)
        boolean moduleIntact = MODULE_INTACT.containsAll(v.symptoms());
        if (!v.symptoms().isEmpty() && !moduleIntact || panicked) {
            // a panic interrupts every sleeper of the module; one that had just left its sleep keeps the
            // interrupt. The module is about to be replaced (the machine rebooted): the interrupt was
            // for it, and must not end this driver's next wait (the barrier, its lanes' Future.get)
            Thread.interrupted();
            host.requestReload();
            UnloadReport rep = host.reloadBarrier();
            needsMkfs = true;
            obs.unload = rep;
            if (rep != null) {
                List<org.jbtrfs.core.LogEntry> all = new java.util.ArrayList<>(obs.log);
                for (var e : rep.log()) {
                    if (e.seq() >= mark && all.stream().noneMatch(x -> x.seq() == e.seq())) {
                        all.add(e);
                    }
                }
                obs.log = scope(all);
            }
            v = Classifier.classify(obs, reverted);
        }
        coverage.observe(timeline);
        current = null;
        busy.stallSink(null);
        busy.warmUpSink(null);
        busy.opSink(null);
        host.warmUps(obs.warmUps());
        if (collateral) {
            // another driver's hung task panicked the shared module: this cycle says nothing
            previousCycle = null;
            return new CycleResult(index, c, seed, new ReplayToken(opt.seed(), c, index), java.util.EnumSet.noneOf(Symptom.class),
                java.util.Set.of(), List.of("interrupted by a panic for another filesystem's hung task"), obs.log, timeline, plan, null);
        }
        Signature sig = v.symptoms().isEmpty() ? null : Signature.of(obs, v.symptoms());
        List<String> evidence = v.evidence();
        if (sig != null && previousCycle != null) {
            evidence = new java.util.ArrayList<>(evidence);
            evidence.addAll(previousCycle);
        }
        previousCycle = needsMkfs ? null : previousCycleLines(c, plan, obs.log);
        return new CycleResult(index, c, seed, new ReplayToken(opt.seed(), c, index), v.symptoms(), v.bugs(), evidence,
            obs.log, timeline, plan, sig);
    }

    /** The evidence lines that describe cycle {@code c} to the next one: its plan, then its last kernel log lines. */
    static List<String> previousCycleLines(long c, String plan, List<org.jbtrfs.core.LogEntry> log) {
        List<String> lines = new java.util.ArrayList<>();
        int from = Math.max(0, log.size() - PREVIOUS_LOG_LINES);
        lines.add("the epoch's previous cycle on this filesystem, " + c + ": " + plan
            + (from > 0 ? "; its last " + PREVIOUS_LOG_LINES + " of " + log.size() + " kernel log lines:" : "; its kernel log:"));
        for (org.jbtrfs.core.LogEntry e : log.subList(from, log.size())) {
            String m = e.message();
            int nl = m.indexOf('\n');
            lines.add("  [" + c + "] " + e.thread() + ": " + (nl < 0 ? m : m.substring(0, nl)));
        }
        return List.copyOf(lines);
    }

    private java.util.List<org.jbtrfs.core.LogEntry> scope(java.util.List<org.jbtrfs.core.LogEntry> l) {
        return LogScope.untilPanic(opt.filesystems() == 1 ? l : LogScope.forFilesystem(l, Thread.currentThread().getName(),
            LogScope.devicesOf(host, index), index));
    }

    /** A cycle that broke off: close what it held and umount, noting what went wrong. */
    private void cleanup(Btrfs fs, List<FileHandle> held, Observation obs) {
        for (FileHandle h : held) {
            try {
                if (!h.isClosed()) {
                    h.close();
                }
            } catch (RuntimeException e) {
                obs.notes.add("cleanup close: " + e);
            }
        }
        try {
            busy.enter("cleanup umount");
            fs.umount();
        } catch (RuntimeException | Error e) {
            obs.notes.add("cleanup umount: " + e);
        } finally {
            busy.exit();
        }
    }
}
