package org.jbtrfs.stress.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jbtrfs.core.Hook;

/**
 * The hook arrivals of one cycle, for the failing-cycle report: who reached which race window when,
 * and what the perturbation did to it; and the operations of the driver and of each lane, from start to
 * end (the HTML report draws them as bars on the same time axis). Bounded, so a runaway cycle cannot
 * eat the heap.
 */
public final class Timeline {
    static final int CAPACITY = 4096;

    /** The report's columns, in order; every role maps to one. */
    static final List<String> COLUMNS = List.of("driver (mount/remount/umount)", "btrfs-cleaner", "btrfs-transaction",
        "rescan worker (kworker)", "other workers");
    /** A lanes cycle's columns: one per lane, then the kernel threads. */
    static final List<String> LANE_COLUMNS = List.of("driver", "lifecycle", "file", "file2", "subvol", "quota", "quota2", "sync", "dev2",
        "scrub", "balance", "balance2", "replace", "btrfs-cleaner", "btrfs-transaction", "rescan worker", "other");

    /** A hook arrival, {@code nanos} after the cycle started. */
    public record Arrival(long nanos, String role, Hook hook, String action) { }

    /**
     * An operation of the driver or of a lane ({@code role}), from its start to its end (nanoseconds
     * after the cycle started); {@code outcome} is empty when it succeeded, else the errno the kernel
     * refused it with or the exception it failed with.
     */
    public record Op(String role, String name, long startNanos, long endNanos, String outcome) { }

    private final long startNanos;
    private final java.util.ArrayDeque<Arrival> arrivals = new java.util.ArrayDeque<>();
    private final List<Op> ops = new ArrayList<>();
    private int dropped;

    public Timeline(long startNanos) { this.startNanos = startNanos; }

    /**
     * Records an arrival; past {@link #CAPACITY} the oldest one goes: a failure shows at a cycle's end (its umount), and a
     * hook reached hundreds of times a scrub would otherwise fill the record long before it (stop 62's first class
     * had no arrival after its 183rd millisecond, its umount ran from the 282nd).
     */
    synchronized void add(String role, Hook hook, String action) {
        if (arrivals.size() >= CAPACITY) {
            arrivals.pollFirst();
            dropped++;
        }
        arrivals.addLast(new Arrival(System.nanoTime() - startNanos, role, hook, action));
    }

    public synchronized List<Arrival> arrivals() { return new ArrayList<>(arrivals); }

    public synchronized int dropped() { return dropped; }

    /** When the cycle started ({@link System#nanoTime()}; the kernel log's clock is the same). */
    public long startNanos() { return startNanos; }

    /**
     * An operation of {@code who} (a lane label, or "driver-N") that ran from {@code start} to {@code end}
     * ({@link System#nanoTime()}).
     */
    public synchronized void op(String who, String name, long start, long end, String outcome) {
        if (ops.size() >= CAPACITY) {
            return;
        }
        String role = who.startsWith("driver") ? Roles.DRIVER : who;
        ops.add(new Op(role, name, start - startNanos, end - startNanos, outcome == null ? "" : outcome));
    }

    public synchronized List<Op> ops() { return new ArrayList<>(ops); }

    static int column(String role) {
        return switch (role) {
            case Roles.DRIVER -> 0;
            case Roles.CLEANER -> 1;
            case Roles.TRANSACTION -> 2;
            case Roles.RESCAN -> 3;
            default -> 4;
        };
    }

    static int laneColumn(String role) {
        int i = LANE_COLUMNS.indexOf(role);
        if (i >= 0) {
            return i;
        }
        return role.equals(Roles.RESCAN) ? LANE_COLUMNS.indexOf("rescan worker") : LANE_COLUMNS.size() - 1;
    }

    /** True if some arrival came from a lane thread (the lanes layout is used). */
    private boolean lanes(List<Arrival> all) {
        return all.stream().anyMatch(a -> Roles.LANES.contains(a.role()));
    }

    /**
     * One row per arrival, one column per thread role (Lincheck's interleaving table, with time):
     * reading down a column is what that thread did; reading across shows what ran concurrently.
     * Only the last {@code maxRows} arrivals are shown.
     */
    public String render(int maxRows) {
        List<Arrival> all = arrivals();
        boolean lanes = lanes(all);
        List<String> columns = lanes ? LANE_COLUMNS : COLUMNS;
        int width = lanes ? 22 : 38;
        int other = columns.size() - 1;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%10s", "ms"));
        for (String c : columns) {
            sb.append(" | ").append(pad(c, width));
        }
        sb.append('\n').append("-".repeat(10 + columns.size() * (width + 3))).append('\n');
        int from = Math.max(0, all.size() - maxRows);
        if (from > 0) {
            sb.append(String.format(Locale.ROOT, "%10s", "")).append(" | (").append(from).append(" earlier arrivals not shown)\n");
        }
        for (int i = from; i < all.size(); i++) {
            Arrival a = all.get(i);
            sb.append(String.format(Locale.ROOT, "%10.3f", a.nanos() / 1e6));
            int col = lanes ? laneColumn(a.role()) : column(a.role());
            for (int c = 0; c < columns.size(); c++) {
                String cell = "";
                if (c == col) {
                    cell = a.hook().name() + (a.action().isEmpty() ? "" : " " + a.action());
                    if (col == other && !a.role().equals(Roles.KWORKER)) {
                        cell = a.role() + ": " + cell;
                    }
                }
                sb.append(" | ").append(pad(cell, width));
            }
            sb.append('\n');
        }
        int d = dropped();
        if (d > 0) {
            sb.append("(").append(d).append(" arrivals before the last ").append(CAPACITY).append(" not recorded)\n");
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
