package org.jbtrfs.stress.watch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Where a run's time goes ({@code -Djbtrfs.stress.profile=true}): an exact breakdown by driver
 * operation (mount, remount ro, umount...) from the watchdog's enter/exit marks, and a sampling
 * profile of the driver threads (a stack every millisecond: the innermost jbtrfs frames, self and
 * inclusive). Cheap enough to leave on for a benchmark run; off by default.
 */
public final class Profile implements AutoCloseable {
    public static final boolean ON = Boolean.getBoolean("jbtrfs.stress.profile");

    private static final Map<String, LongAdder[]> OPS = new ConcurrentHashMap<>();

    private final List<Thread> drivers;
    private final Map<String, Long> self = new HashMap<>();
    private final Map<String, Long> inclusive = new HashMap<>();
    private final Map<String, Long> selfByCaller = new HashMap<>();
    private long samples;
    private final Thread sampler;
    private volatile boolean closed;

    public Profile(List<Thread> drivers) {
        this.drivers = drivers;
        sampler = new Thread(this::loop, "stress-profiler");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** One operation of {@code nanos}. */
    static void op(String name, long nanos) {
        LongAdder[] a = OPS.computeIfAbsent(name, k -> new LongAdder[] {new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(nanos);
    }

    private void loop() {
        while (!closed) {
            LockSupport.parkNanos(1_000_000);
            for (Thread t : drivers) {
                StackTraceElement[] st = t.getStackTrace();
                if (st.length == 0 || t.getState() == Thread.State.TERMINATED) {
                    continue;
                }
                synchronized (this) {
                    samples++;
                    self.merge(frame(st[0]), 1L, Long::sum);
                    for (StackTraceElement e : st) {
                        if (e.getClassName().startsWith("org.jbtrfs.")) {
                            selfByCaller.merge(frame(st[0]) + "  <-  " + frame(e), 1L, Long::sum);
                            break;
                        }
                    }
                    java.util.Set<String> seen = new java.util.HashSet<>();
                    for (StackTraceElement e : st) {
                        if (e.getClassName().startsWith("org.jbtrfs.") && !e.getClassName().startsWith("org.jbtrfs.stress")) {
                            String f = frame(e);
                            if (seen.add(f)) {
                                inclusive.merge(f, 1L, Long::sum);
                            }
                        }
                    }
                }
            }
        }
    }

    private static String frame(StackTraceElement e) {
        return e.getClassName().replace("org.jbtrfs.", "") + "." + e.getMethodName();
    }

    public synchronized String report() {
        StringBuilder sb = new StringBuilder("profile: time by driver operation\n");
        List<Map.Entry<String, LongAdder[]>> ops = new ArrayList<>(OPS.entrySet());
        ops.sort((a, b) -> Long.compare(b.getValue()[1].sum(), a.getValue()[1].sum()));
        long total = ops.stream().mapToLong(e -> e.getValue()[1].sum()).sum();
        for (var e : ops) {
            long n = e.getValue()[0].sum();
            long ns = e.getValue()[1].sum();
            sb.append(String.format(Locale.ROOT, "  %-28s %9d ops %9.1f us/op %5.1f%%%n", e.getKey(), n, ns / 1e3 / Math.max(1, n),
                100.0 * ns / Math.max(1, total)));
        }
        sb.append("profile: ").append(samples).append(" stack samples of the driver threads; innermost frame (self):\n");
        top(sb, self, 15);
        sb.append("profile: innermost frame and its nearest jbtrfs caller:\n");
        top(sb, selfByCaller, 12);
        sb.append("profile: jbtrfs frames on the stack (inclusive):\n");
        top(sb, inclusive, 25);
        return sb.toString();
    }

    private void top(StringBuilder sb, Map<String, Long> m, int n) {
        m.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(n)
            .forEach(e -> sb.append(String.format(Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * e.getValue() / Math.max(1, samples), e.getKey())));
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(sampler);
    }
}
