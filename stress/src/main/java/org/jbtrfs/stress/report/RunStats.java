package org.jbtrfs.stress.report;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.classify.ClassTable;
import org.jbtrfs.stress.classify.CycleResult;
import org.jbtrfs.stress.classify.Symptom;

/** Totals of a run, shared by the drivers. */
public final class RunStats {
    public final long startNanos = System.nanoTime();
    public final AtomicLong cycles = new AtomicLong();
    public final AtomicLong failing = new AtomicLong();
    public final AtomicLong reloads = new AtomicLong();
    /**
     * Operations that waited past the stall threshold while the JIT compiled or the perturbation held their filesystem's
     * kernel threads: not stalls (Busy.warmUpSink).
     */
    public final AtomicLong warmUps = new AtomicLong();
    /** What the module host had to do that the summary must say (a module replaced by a panic because rmmod refused). */
    public final java.util.Queue<String> hostNotes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final Map<Symptom, Long> symptoms = new EnumMap<>(Symptom.class);
    private final Map<String, Long> bugs = new TreeMap<>();
    private final Map<String, Summary.First> first = new TreeMap<>();
    /** Per class id: the report of its first failing cycle in seed order. */
    private final Map<String, CycleReport> cycleReports = new TreeMap<>();
    private final Map<Hook, Long> hooks = new EnumMap<>(Hook.class);
    private final Map<Fault, Long> faults = new EnumMap<>(Fault.class);
    public final ClassTable classes = new ClassTable();

    public RunStats() {
        for (Symptom s : Symptom.values()) {
            symptoms.put(s, 0L);
        }
        for (Hook h : Hook.values()) {
            hooks.put(h, 0L);
        }
        for (Fault f : Fault.values()) {
            faults.put(f, 0L);
        }
    }

    /** Records a verdict; returns how many failing cycles this bug had before (0: first). */
    public synchronized long record(CycleResult r) {
        cycles.incrementAndGet();
        return recordFailure(r);
    }

    /** A failure that is not a cycle (the final rmmod found leaks). */
    public synchronized long recordFailure(CycleResult r) {
        if (!r.failed()) {
            return -1;
        }
        failing.incrementAndGet();
        double at = (System.nanoTime() - startNanos) / 1e9;
        if (r.signature() != null) {
            classes.record(r, at);
            CycleReport known = cycleReports.get(r.signature().id());
            if (known == null || r.replay().compareTo(ReplayToken.parse(known.replay())) < 0) {
                cycleReports.put(r.signature().id(), CycleReport.of(r));
            }
        }
        for (Symptom s : r.symptoms()) {
            symptoms.merge(s, 1L, Long::sum);
        }
        long before = Long.MAX_VALUE;
        for (String b : r.bugs()) {
            long n = bugs.getOrDefault(b, 0L);
            before = Math.min(before, n);
            bugs.put(b, n + 1);
            Summary.First f = first.get(b);
            if (f == null || r.replay().compareTo(f.replay()) < 0) {
                // seed order, not time order: a shard and the whole run name the same first cycle
                first.put(b, Summary.First.of(r.replay(), r.cycleSeed(), at));
            }
        }
        return before;
    }

    public synchronized void addHookCounts(Map<Hook, Long> counts) { counts.forEach((h, n) -> hooks.merge(h, n, Long::sum)); }

    public synchronized void addFault(Fault f, long n) { faults.merge(f, n, Long::sum); }

    public synchronized Map<Symptom, Long> symptoms() { return new EnumMap<>(symptoms); }

    public synchronized Map<String, Long> bugs() { return new TreeMap<>(bugs); }

    public synchronized Map<String, Summary.First> first() { return new TreeMap<>(first); }

    synchronized Map<String, CycleReport> cycleReports() { return new TreeMap<>(cycleReports); }

    public synchronized Map<Hook, Long> hooks() { return new EnumMap<>(hooks); }

    public synchronized Map<Fault, Long> faults() { return new EnumMap<>(faults); }
}
