package org.jbtrfs.stress;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jbtrfs.core.Hook;

/**
 * The hook arrivals of one cycle, for the failing-cycle report: who reached which race window when,
 * and what the perturbation did to it. Bounded, so a runaway cycle cannot eat the heap.
 */
final class Timeline {
    static final int CAPACITY = 4096;

    /** The report's columns, in order; every role maps to one. */
    static final List<String> COLUMNS = List.of("driver (mount/remount/umount)", "btrfs-cleaner", "btrfs-transaction",
        "rescan worker (kworker)", "other workers");

    record Arrival(long nanos, String role, Hook hook, String action) { }

    private final long startNanos;
    private final List<Arrival> arrivals = new ArrayList<>();
    private int dropped;

    Timeline(long startNanos) { this.startNanos = startNanos; }

    synchronized void add(String role, Hook hook, String action) {
        if (arrivals.size() >= CAPACITY) {
            dropped++;
            return;
        }
        arrivals.add(new Arrival(System.nanoTime() - startNanos, role, hook, action));
    }

    synchronized List<Arrival> arrivals() { return new ArrayList<>(arrivals); }

    synchronized int dropped() { return dropped; }

    static int column(String role) {
        return switch (role) {
            case Roles.DRIVER -> 0;
            case Roles.CLEANER -> 1;
            case Roles.TRANSACTION -> 2;
            case Roles.RESCAN -> 3;
            default -> 4;
        };
    }

    /**
     * One row per arrival, one column per thread role (Lincheck's interleaving table, with time):
     * reading down a column is what that thread did; reading across shows what ran concurrently.
     * Only the last {@code maxRows} arrivals are shown.
     */
    String render(int maxRows) {
        List<Arrival> all = arrivals();
        int width = 38;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%10s", "ms"));
        for (String c : COLUMNS) {
            sb.append(" | ").append(pad(c, width));
        }
        sb.append('\n').append("-".repeat(10 + COLUMNS.size() * (width + 3))).append('\n');
        int from = Math.max(0, all.size() - maxRows);
        if (from > 0) {
            sb.append(String.format(Locale.ROOT, "%10s", "")).append(" | (").append(from).append(" earlier arrivals not shown)\n");
        }
        for (int i = from; i < all.size(); i++) {
            Arrival a = all.get(i);
            sb.append(String.format(Locale.ROOT, "%10.3f", a.nanos() / 1e6));
            int col = column(a.role());
            for (int c = 0; c < COLUMNS.size(); c++) {
                String cell = "";
                if (c == col) {
                    cell = a.hook().name() + (a.action().isEmpty() ? "" : " " + a.action());
                    if (col == 4 && !a.role().equals(Roles.KWORKER)) {
                        cell = a.role() + ": " + cell;
                    }
                }
                sb.append(" | ").append(pad(cell, width));
            }
            sb.append('\n');
        }
        int d = dropped();
        if (d > 0) {
            sb.append("(").append(d).append(" arrivals past the first ").append(CAPACITY).append(" not recorded)\n");
        }
        return sb.toString();
    }

    private static String pad(String s, int w) {
        if (s.length() > w) {
            return s.substring(0, w - 1) + "~";
        }
        return s + " ".repeat(w - s.length());
    }
}
