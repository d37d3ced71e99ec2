package org.jbtrfs.stress.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.stress.classify.CycleResult;
import org.jbtrfs.stress.classify.Signature;
import org.jbtrfs.stress.schedule.Roles;
import org.jbtrfs.stress.schedule.Timeline;

/**
 * One failing cycle as the HTML report draws it, and as the JSON summary keeps it so that a merge of
 * shards can still draw it: every thread role a column ({@link #COLUMNS}), on one time axis in
 * milliseconds from the cycle's start — the operations of the driver and the lanes as spans, the hook
 * arrivals with what the perturbation did to each, the kernel log lines — and the verdict.
 *
 * @param replay          the replay token
 * @param cycle           the cycle
 * @param filesystem      the filesystem
 * @param cycleSeed       "0x..."
 * @param classId         the class's id
 * @param signature       the class's signature
 * @param symptoms        what the cycle showed
 * @param attributedTo    the switches it is attributed to, or "unknown"
 * @param schedule        the lanes plan and the perturbation plan
 * @param evidence        the classifier's evidence
 * @param columns         the columns drawn, in order
 * @param ops             operations of the driver and the lanes
 * @param arrivals        hook arrivals (the last {@value #MAX_ARRIVALS})
 * @param droppedArrivals arrivals not kept
 * @param log             kernel log lines of the cycle (the last {@value #MAX_LOG})
 * @param endMs           the last event's time
 */
public record CycleReport(String replay, long cycle, int filesystem, String cycleSeed, String classId, String signature,
                          List<String> symptoms, List<String> attributedTo, String schedule, List<String> evidence,
                          List<String> columns, List<Span> ops, List<Mark> arrivals, int droppedArrivals, List<LogLine> log,
                          double endMs) {

    /** Every column a report can have, in order: the driver, the lanes, the kernel threads, other workers. */
    public static final List<String> COLUMNS;
    static final String RESCAN = "rescan worker";
    static final String OTHER = "other workers";
    static final int MAX_ARRIVALS = 2000;
    static final int MAX_LOG = 300;
    private static final int MAX_TEXT = 20_000;

    static {
        List<String> c = new ArrayList<>();
        c.add(Roles.DRIVER);
        c.addAll(Roles.LANES);
        c.addAll(List.of(Roles.CLEANER, "btrfs-transaction", RESCAN, OTHER));
        COLUMNS = List.copyOf(c);
    }

    /** An operation of the driver or a lane; {@code outcome}: empty when it succeeded, else the errno or exception. */
    public record Span(String column, String name, double startMs, double endMs, String outcome) { }

    /** A hook arrival and the perturbation's decision ("[sleep 1.20ms]", "[yield]", or empty). */
    public record Mark(String column, double ms, String hook, String action) { }

    /** A kernel log line: when, its level, the column of the thread that logged it, its kind and text. */
    public record LogLine(double ms, String level, String column, String thread, String kind, String text) { }

    /** The column of a thread role (the timeline's) or of a thread name (the log's). */
    static String column(String roleOrThread) {
        String r = Signature.role(roleOrThread);
        if (COLUMNS.contains(r)) {
            return r;
        }
        if (r.equals("rescan-worker") || r.contains("qgroup-rescan")) {
            return RESCAN;
        }
        return OTHER;
    }

    static CycleReport of(CycleResult r) {
        Timeline t = r.timeline();
        long origin = t != null ? t.startNanos() : r.log().isEmpty() ? 0 : r.log().get(0).nanos();
        List<Span> ops = new ArrayList<>();
        List<Mark> arrivals = new ArrayList<>();
        int dropped = 0;
        if (t != null) {
            for (Timeline.Op o : t.ops()) {
                ops.add(new Span(column(o.role()), o.name(), ms(o.startNanos()), ms(o.endNanos()), o.outcome()));
            }
            List<Timeline.Arrival> all = t.arrivals();
            dropped = t.dropped() + Math.max(0, all.size() - MAX_ARRIVALS);
            for (Timeline.Arrival a : all.subList(Math.max(0, all.size() - MAX_ARRIVALS), all.size())) {
                arrivals.add(new Mark(column(a.role()), ms(a.nanos()), a.hook().name(), a.action()));
            }
        }
        List<LogLine> log = new ArrayList<>();
        List<LogEntry> entries = r.log();
        for (LogEntry e : entries.subList(Math.max(0, entries.size() - MAX_LOG), entries.size())) {
            log.add(new LogLine(ms(e.nanos() - origin), e.level().name(), column(e.thread()), e.thread(), e.kind().name(), cap(e.message())));
        }
        double end = 0;
        for (Span s : ops) {
            end = Math.max(end, s.endMs());
        }
        for (Mark m : arrivals) {
            end = Math.max(end, m.ms());
        }
        for (LogLine l : log) {
            end = Math.max(end, l.ms());
        }
        List<String> used = new ArrayList<>();
        for (String c : COLUMNS) {
            boolean lane = Roles.LANES.contains(c);
            if (!lane || ops.stream().anyMatch(s -> s.column().equals(c)) || arrivals.stream().anyMatch(m -> m.column().equals(c))
                || log.stream().anyMatch(l -> l.column().equals(c))) {
                used.add(c);
            }
        }
        Signature sig = r.signature();
        return new CycleReport(r.replay().toString(), r.cycle(), r.fs(), "0x" + Long.toHexString(r.cycleSeed()), sig.id(), sig.text(),
            r.symptoms().stream().map(Enum::name).sorted().toList(), List.copyOf(r.bugs()), r.schedule(),
            r.evidence().stream().map(CycleReport::cap).toList(), used, ops, arrivals, dropped, log, end);
    }

    private static double ms(long nanos) { return Math.round(nanos / 1e3) / 1e3; }

    private static String cap(String s) {
        return s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT) + String.format(Locale.ROOT, "\n... (%d more characters)", s.length() - MAX_TEXT);
    }
}
