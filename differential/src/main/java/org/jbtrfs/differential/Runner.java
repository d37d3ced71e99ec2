package org.jbtrfs.differential;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jbtrfs.differential.scenario.ObservationKind;
import org.jbtrfs.differential.scenario.ScenarioParser;
import org.jbtrfs.differential.scenario.Scenario;
import org.jbtrfs.differential.scenario.Step;

/**
 * Runs a scenario's steps on one target and turns its observations into normalised lines. The same
 * code runs for the kernel and the port: only the {@link Target} differs, so a line differs only when
 * what the targets saw differs.
 */
public final class Runner {
    /** printk's ratelimit report: "_btrfs_printk: 51 callbacks suppressed". */
    static final Pattern RATELIMITED = Pattern.compile("btrfs_printk: (\\d+) callbacks suppressed");

    /** The top-level subvolume. */
    static final long FS_TREE = 5;

    private final Target target;
    private final List<Observation> raw = new ArrayList<>();
    private final TreeSet<Long> subvolumes = new TreeSet<>(List.of(FS_TREE));
    private long scenarioMark;
    /** Where the next dmesg observation's window starts: after the previous one, or at the start of the scenario / iteration. */
    private long windowMark;

    private Runner(Target target) { this.target = target; }

    /**
     * Runs {@code scenario} on {@code target} (which the caller closes). A step that fails stops the run;
     * the observations made so far are kept and the failure is reported as the run's error. A
     * {@link KernelStuckException} is not caught: nothing more may be asked of that kernel.
     */
    public static TargetRun run(Scenario scenario, Target target) {
        return new Runner(target).run(scenario);
    }

    private TargetRun run(Scenario scenario) {
        long t0 = System.nanoTime();
        String error = null;
        scenarioMark = target.dmesgMark();
        windowMark = scenarioMark;
        try {
            for (Step s : scenario.steps()) {
                step(s);
            }
        } catch (KernelStuckException e) {
            throw e;
        } catch (RuntimeException e) {
            error = e.getMessage() == null ? e.toString() : e.getMessage();
        }
        return new TargetRun(target.name(), Comparison.tally(raw), error, (System.nanoTime() - t0) / 1e9);
    }

    private void step(Step s) {
        try {
            switch (s.verb()) {
                case MKFS -> target.mkfs(ScenarioParser.sizeOf(s.arg(0)));
                case MOUNT -> target.mount(s.args().isEmpty() ? "" : s.arg(0));
                case REMOUNT -> target.remount(s.arg(0));
                case UMOUNT -> target.umount();
                case SUBVOLUME_CREATE -> subvolumes.add(target.createSubvolume(s.arg(0)));
                case SUBVOLUME_DELETE -> target.deleteSubvolume(s.arg(0));
                case SUBVOLUME_SYNC -> target.subvolumeSync();
                case CREATE -> target.createFile(s.arg(0));
                case UNLINK -> target.unlink(s.arg(0));
                case WRITE -> target.write(s.arg(0), s.intArg(1));
                case EXTENTS -> target.extents(s.arg(0), s.intArg(1));
                case FILES -> target.files(s.arg(0), s.intArg(1));
                case OPEN -> target.open(s.arg(0), s.arg(1));
                case CLOSE -> target.close(s.arg(0));
                case QUOTA_ENABLE -> target.quotaEnable();
                case QUOTA_RESCAN -> target.quotaRescan();
                case QUOTA_RESCAN_WAIT -> target.quotaRescanWait();
                case SYNC -> target.sync();
                case FS_SYNC -> target.fsSync();
                case FREEZE -> target.freeze();
                case THAW -> target.thaw();
                case CRASH -> target.crash();
                case RECOVER -> target.recover();
                case REPEAT -> {
                    for (int i = 0; i < s.intArg(0); i++) {
                        windowMark = target.dmesgMark();
                        for (Step b : s.body()) {
                            step(b);
                        }
                    }
                }
                case LIFECYCLE_LATENCY -> lifecycleLatency(s.intArg(0));
                case MINIMAL_CYCLES -> minimalCycles(s.intArg(0));
                case OBSERVE -> {
                    observe(s, windowMark);
                    if (s.kind() == ObservationKind.DMESG) {
                        windowMark = target.dmesgMark();
                    }
                }
                default -> throw new IllegalStateException("unhandled step " + s.verb());
            }
        } catch (KernelStuckException | StepFailed e) {
            throw e;
        } catch (RuntimeException e) {
            throw new StepFailed("line " + s.line() + " '" + s + "': " + (e.getMessage() == null ? e.toString() : e.getMessage()), e);
        }
    }

    /** A step failed: the message names it; the runner stops there. */
    static final class StepFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StepFailed(String message, Throwable cause) { super(message, cause); }
    }

    // ---- observations ---------------------------------------------------------------------------

    private void observe(Step s, long windowMark) {
        String p = s.label() + ": ";
        ObservationKind kind = s.kind();
        switch (kind) {
            case ROOT_TREE -> rootTree(p, target.rootTree());
            case QGROUPS -> qgroups(p, target.quota());
            case DMESG -> {
                // what matched, in order: "qgroup scan paused", "qgroup scan completed + qgroup scan paused"
                Pattern re = Pattern.compile(s.arg(0));
                List<String> matched = new ArrayList<>();
                long suppressed = 0;
                for (String l : target.dmesgSince(windowMark)) {
                    Matcher m = re.matcher(l);
                    if (m.find()) {
                        matched.add(m.group());
                    }
                    Matcher r = RATELIMITED.matcher(l);
                    if (r.find()) {
                        suppressed += Long.parseLong(r.group(1));
                    }
                }
                // the kernel's btrfs_printk is ratelimited: lines it dropped may have been the ones looked for
                raw.add(Observation.compared(p + "dmesg /" + s.arg(0) + "/", (matched.isEmpty() ? "not seen" : String.join(" + ", matched))
                    + (suppressed > 0 ? " [ratelimit dropped lines]" : "")));
            }
            case RESCAN -> raw.add(Observation.compared(p + "btrfs quota rescan -s",
                target.rescanRunning() ? "rescan in progress (RESCAN flag set)" : "no rescan in progress"));
            case HEALTH -> {
                List<String> problems = target.healthProblems(scenarioMark);
                raw.add(Observation.compared(p + "WARNING / BUG / assertion / oops / leak in dmesg",
                    problems.isEmpty() ? "none" : problems.size() + ": " + firstLine(problems.get(0))));
            }
            case TRANSACTIONS -> {
                OptionalInt n = target.openTransactions();
                raw.add(n.isPresent() ? Observation.compared(p + "open transactions", String.valueOf(n.getAsInt()))
                    : Observation.unobservable(p + "open transactions", target.whyNoTransactions()));
            }
            default -> throw new IllegalStateException("unhandled observation " + kind);
        }
    }

    private void rootTree(String p, RootTreeFacts f) {
        TreeSet<Long> ids = new TreeSet<>(subvolumes);
        ids.addAll(f.roots().keySet());
        ids.addAll(f.orphans());
        for (long id : ids) {
            RootTreeFacts.Root r = f.roots().get(id);
            raw.add(Observation.compared(p + "root item " + id,
                r == null ? "absent" : "refs " + r.refs() + (r.dropProgress() ? ", drop progress set" : "")));
            if (id != FS_TREE) {
                raw.add(Observation.compared(p + "orphan item " + id, f.orphans().contains(id) ? "present" : "absent"));
            }
        }
    }

    private void qgroups(String p, QuotaFacts q) {
        raw.add(Observation.compared(p + "qgroup status", q.status() == null ? "no quota tree" : q.status()));
        if (q.status() == null) {
            return;
        }
        TreeSet<Long> ids = new TreeSet<>(subvolumes);
        ids.addAll(q.qgroups().keySet());
        for (long id : ids) {
            QuotaFacts.Numbers n = q.qgroups().get(id);
            String name = p + "qgroup 0/" + id;
            if (n == null) {
                raw.add(Observation.compared(name, "absent"));
                continue;
            }
            Boolean ok = q.consistent().get(id);
            raw.add(Observation.compared(name, ok == null ? "present" : ok ? "present, matches a recount" : "present, differs from a recount"));
            raw.add(Observation.measured(name + " referenced", String.format(Locale.ROOT, "%,d bytes", n.rfer())));
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        String l = nl < 0 ? s : s.substring(0, nl);
        return l.length() > 120 ? l.substring(0, 117) + "..." : l;
    }

    // ---- measurements ---------------------------------------------------------------------------

    /** N × (mount RW, remount RO, umount), each timed on its own; the medians. */
    private void lifecycleLatency(int n) {
        long[] mount = new long[n];
        long[] ro = new long[n];
        long[] umount = new long[n];
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            target.mount("");
            long b = System.nanoTime();
            target.remount("ro");
            long c = System.nanoTime();
            target.umount();
            long d = System.nanoTime();
            mount[i] = b - a;
            ro[i] = c - b;
            umount[i] = d - c;
        }
        String p = "lifecycle latency, median of " + n + ": ";
        raw.add(Observation.measured(p + "mount", micros(median(mount))));
        raw.add(Observation.measured(p + "remount ro", micros(median(ro))));
        raw.add(Observation.measured(p + "umount", micros(median(umount))));
    }

    /**
     * N × the benchmark cycle (mount RW, create + unlink a file, remount RO, umount); the median cycle.
     * N/5 unmeasured cycles first, on both sides: the port's steady state is what its stress runner reports
     * (a cold JIT would count against it), and the kernel's page cache and slab caches warm up too.
     */
    private void minimalCycles(int n) {
        for (int i = 0; i < n / 5; i++) {
            minimalCycle();
        }
        long[] cycle = new long[n];
        for (int i = 0; i < n; i++) {
            long a = System.nanoTime();
            minimalCycle();
            cycle[i] = System.nanoTime() - a;
        }
        double med = median(cycle);
        String p = "minimal cycle, median of " + n + ": ";
        raw.add(Observation.measured(p + "cycle time", micros(med)));
        raw.add(Observation.measured(p + "rate", String.format(Locale.ROOT, "%.1f cycles/s", 1e9 / med)));
    }

    private void minimalCycle() {
        target.mount("");
        target.createFile("anchor");
        target.unlink("anchor");
        target.remount("ro");
        target.umount();
    }

    static double median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2.0;
    }

    static String micros(double nanos) {
        double us = nanos / 1000;
        return us >= 100 ? String.format(Locale.ROOT, "%,.0f µs", us) : String.format(Locale.ROOT, "%.1f µs", us);
    }
}
