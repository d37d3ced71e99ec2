package org.jbtrfs.stress;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The hung-task detector: a daemon thread that looks at every driver's current operation and, when
 * one has been running past the limit, reports it once with every thread's stack (what the kernel's
 * khungtaskd prints) and hands the report to {@code onHung}, which fails the cycle and aborts the run.
 */
final class Watchdog implements AutoCloseable {
    private final List<Busy> drivers;
    private final long limitNanos;
    private final Consumer<Hung> onHung;
    private final Thread thread;
    private volatile boolean closed;

    record Hung(Busy driver, String report) { }

    Watchdog(List<Busy> drivers, long limitNanos, Consumer<Hung> onHung) {
        this.drivers = drivers;
        this.limitNanos = limitNanos;
        this.onHung = onHung;
        this.thread = new Thread(this::loop, "stress-watchdog");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        long period = Math.max(1_000_000L, Math.min(250_000_000L, limitNanos / 4));
        while (!closed) {
            long now = System.nanoTime();
            for (Busy b : drivers) {
                long t = b.runningFor(now);
                if (t > limitNanos) {
                    onHung.accept(new Hung(b, report(b, t)));
                    return;
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(period);
        }
    }

    static String report(Busy b, long nanos) {
        StringBuilder sb = new StringBuilder();
        sb.append("INFO: task ").append(b.driverName).append(" blocked for more than ").append(nanos / 1_000_000_000L)
            .append(" seconds in '").append(b.op()).append("'.\n");
        sb.append("Showing all threads:\n");
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            sb.append("task:").append(t.getName()).append(" state:").append(t.getState()).append('\n');
            StackTraceElement[] st = e.getValue();
            for (int i = 0; i < st.length && i < 20; i++) {
                sb.append("  ").append(st[i]).append('\n');
            }
        }
        return sb.toString().stripTrailing();
    }

    @Override
    public void close() {
        closed = true;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }
}
