package org.jbtrfs.stress.report;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.Shard;
import org.jbtrfs.stress.classify.FailureClass;
import org.jbtrfs.stress.classify.Symptom;

/**
 * Combines the summaries of the shards of one run into the summary of the run.
 *
 * <p>Refused (a {@link MergeException}, exit 2): summaries of another format or jbtrfs version, a
 * replay's summary, different configs ({@link Summary.Config}: the classes were found under different
 * conditions), different run seeds, cycle bounds, durations or shard counts, and a shard given twice.
 * Missing shards are allowed (a CI job that died) and named in the notes.
 *
 * <p>Totals: counts are added (cycles, failing cycles, bugs, symptoms, hook arrivals, faults, reloads, each
 * class's count); each class and bug keeps its first cycle in seed order (run seed, cycle, filesystem) —
 * the one the unsharded run names — with that cycle's report; {@code seconds} is the longest shard's:
 * shards run side by side (a CI matrix, an Indexed Job), so the run took as long as its slowest shard
 * (the sum, the machine time, is in the notes), and {@code cyclesPerSecond} is cycles over that, the
 * throughput of the whole matrix.
 */
public final class Merge {
    private Merge() { }

    /** A summary could not be merged: the message says which and why. */
    public static final class MergeException extends Exception {
        MergeException(String message) { super(message); }
    }

    /** One input: its name (the file) and its summary. */
    public record Input(String name, Summary summary) { }

    public static Summary of(List<Input> inputs) throws MergeException {
        if (inputs.isEmpty()) {
            throw new MergeException("nothing to merge");
        }
        Input base = inputs.get(0);
        for (Input in : inputs) {
            check(base, in);
        }
        TreeSet<Shard> shards = new TreeSet<>((a, b) -> Integer.compare(a.index(), b.index()));
        for (Input in : inputs) {
            for (String s : in.summary().range().shards()) {
                Shard shard = Shard.parse(s);
                if (!shards.add(shard)) {
                    throw new MergeException(in.name() + ": shard " + s + " is given twice: its cycles would be counted twice");
                }
            }
        }
        Summary b = base.summary();
        long cycles = 0;
        long failing = 0;
        long reloads = 0;
        double seconds = 0;
        double machineSeconds = 0;
        Map<String, Long> bugs = new TreeMap<>();
        Map<Symptom, Long> symptoms = new EnumMap<>(Symptom.class);
        Map<Hook, Long> hooks = new EnumMap<>(Hook.class);
        Map<Fault, Long> faults = new EnumMap<>(Fault.class);
        Map<String, Summary.First> first = new TreeMap<>();
        Map<String, FailureClass> classes = new LinkedHashMap<>();
        Map<String, CycleReport> reports = new TreeMap<>();
        List<String> notes = new ArrayList<>();
        List<String> aborted = new ArrayList<>();
        for (Input in : inputs) {
            Summary s = in.summary();
            String who = String.join(",", s.range().shards());
            cycles += s.cycles();
            failing += s.failingCycles();
            reloads += s.moduleReloads();
            seconds = Math.max(seconds, s.seconds());
            machineSeconds += s.seconds();
            s.bugs().forEach((k, n) -> bugs.merge(k, n, Long::sum));
            s.allSymptoms().forEach((k, n) -> symptoms.merge(k, n, Long::sum));
            s.hooks().forEach((k, n) -> hooks.merge(k, n, Long::sum));
            s.faults().forEach((k, n) -> faults.merge(k, n, Long::sum));
            s.first().forEach((k, f) -> first.merge(k, f, (x, y) -> x.replay().compareTo(y.replay()) <= 0 ? x : y));
            for (FailureClass c : s.classes()) {
                classes.merge(c.signature(), c, FailureClass::merge);
            }
            if (s.cycleReports() != null) {
                s.cycleReports().forEach((k, r) -> reports.merge(k, r, Merge::earlier));
            }
            s.notes().forEach(n -> notes.add("shard " + who + ": " + n));
            if (s.aborted() != null) {
                aborted.add("shard " + who + ": " + s.aborted());
            }
        }
        List<String> names = shards.stream().map(Shard::toString).toList();
        List<String> missing = new ArrayList<>();
        for (int i = 1; i <= b.range().shardCount(); i++) {
            if (!names.contains(new Shard(i, b.range().shardCount()).toString())) {
                missing.add(i + "/" + b.range().shardCount());
            }
        }
        if (!missing.isEmpty()) {
            notes.add("shards missing from this merge: " + String.join(",", missing));
        }
        notes.add(String.format(java.util.Locale.ROOT, "merged %d summaries; seconds is the longest shard's, the shards' sum is %.1f s",
            inputs.size(), machineSeconds));
        List<FailureClass> sorted = new ArrayList<>(classes.values());
        sorted.sort(FailureClass.ORDER);
        Summary.Range range = new Summary.Range(b.range().seed(), b.range().cycleBound(), b.range().durationSeconds(),
            b.range().shardCount(), names);
        return new Summary(b.version(), b.config(), range, cycles, seconds, Summary.rate(cycles, seconds), b.seed(), b.reverted(),
            b.kernel(), b.crc32c(), b.filesystems(), b.workload(), failing, bugs, symptoms, first, hooks, faults, reloads, sorted, null,
            notes, aborted.isEmpty() ? null : String.join("; ", aborted), reports);
    }

    private static CycleReport earlier(CycleReport a, CycleReport b) {
        return org.jbtrfs.stress.ReplayToken.parse(a.replay()).compareTo(org.jbtrfs.stress.ReplayToken.parse(b.replay())) <= 0 ? a : b;
    }

    private static void check(Input base, Input in) throws MergeException {
        Summary a = base.summary();
        Summary s = in.summary();
        if (s.version() == null || s.config() == null || s.range() == null) {
            throw new MergeException(in.name() + ": not a summary of format " + Summary.FORMAT
                + " (no version, config or range: written by an older jbtrfs-stress?)");
        }
        if (s.version().format() != Summary.FORMAT) {
            throw new MergeException(in.name() + ": summary format " + s.version().format() + ", this jbtrfs-stress reads format "
                + Summary.FORMAT);
        }
        if (!s.version().equals(a.version())) {
            throw new MergeException("different versions: " + base.name() + " was written by jbtrfs " + a.version().jbtrfs() + ", "
                + in.name() + " by " + s.version().jbtrfs());
        }
        if (s.replay() != null) {
            throw new MergeException(in.name() + ": a replay's summary, not a run's: there is nothing to merge it with");
        }
        if (!s.config().equals(a.config())) {
            throw new MergeException("different configs: " + differences(base.name(), a.config(), in.name(), s.config()));
        }
        Summary.Range ra = a.range();
        Summary.Range rs = s.range();
        same(base, in, "run seed", ra.seed(), rs.seed());
        same(base, in, "cycle bound (--cycles)", ra.cycleBound(), rs.cycleBound());
        same(base, in, "duration (--duration)", ra.durationSeconds(), rs.durationSeconds());
        same(base, in, "shard count", ra.shardCount(), rs.shardCount());
    }

    private static void same(Input base, Input in, String what, Object x, Object y) throws MergeException {
        if (!Objects.equals(x, y)) {
            throw new MergeException("different " + what + ": " + base.name() + " has " + x + ", " + in.name() + " has " + y
                + " (only the shards of one run merge)");
        }
    }

    private static String differences(String an, Summary.Config a, String bn, Summary.Config b) {
        List<String> d = new ArrayList<>();
        diff(d, "kernel", a.kernel(), b.kernel());
        diff(d, "reverted", a.reverted(), b.reverted());
        diff(d, "crc32c", a.crc32c(), b.crc32c());
        diff(d, "workload", a.workload(), b.workload());
        diff(d, "lanes", a.lanes(), b.lanes());
        diff(d, "latency model", a.latencyModel(), b.latencyModel());
        diff(d, "faults", a.faults(), b.faults());
        diff(d, "swarm", a.swarm(), b.swarm());
        diff(d, "filesystems", a.filesystems(), b.filesystems());
        diff(d, "stall threshold", a.stallThresholdSeconds(), b.stallThresholdSeconds());
        diff(d, "hung-task timeout", a.hungTaskTimeoutSeconds(), b.hungTaskTimeoutSeconds());
        return String.join("; ", d) + " (" + an + " vs " + bn + ")";
    }

    private static void diff(List<String> out, String what, Object x, Object y) {
        if (!Objects.equals(x, y)) {
            out.add(what + " " + x + " vs " + y);
        }
    }
}
