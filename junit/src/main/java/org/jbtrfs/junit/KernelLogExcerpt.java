package org.jbtrfs.junit;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;

/**
 * The part of a kernel log a failing test's message shows: the entries that report something (WARNING,
 * assertion, BUG, KASAN, oops, slab and state leaks, hung tasks, and text at warning level or worse), each
 * call trace cut to its first jbtrfs frames, and at most {@link #MAX_LINES} lines in all. The whole log goes
 * to a file; the message names it.
 *
 * <p>Why: a WARNING's trace is the Java stack (some twenty frames, most of them JUnit's and the JDK's), so a
 * leak that reports a dozen WARNINGs made a message of ~140 lines in which the symptom lines were hard to find.
 */
final class KernelLogExcerpt {
    /** Lines of excerpt in a failure message, at most. */
    static final int MAX_LINES = 40;
    /** Frames kept of each call trace. */
    static final int FRAMES = 4;

    /**
     * A frame as {@link org.jbtrfs.core.KernelLog#callTrace} writes it: one space, class.method:line, with the
     * "org.jbtrfs." prefix dropped from jbtrfs classes.
     */
    private static final Pattern FRAME = Pattern.compile("^ [\\w$.<>\\-/]+\\.[\\w$<>\\-]+:-?\\d+$");
    /** The first package segment of a jbtrfs frame (the module packages under org.jbtrfs). */
    private static final Set<String> JBTRFS_PACKAGES = Set.of("core", "workqueue", "transaction", "qgroup", "cleaner",
        "fs", "junit", "stress", "differential", "bench");

    private KernelLogExcerpt() { }

    /** True for an entry worth showing: anything the kernel reported, not its chatter. */
    static boolean reports(LogEntry e) {
        return e.kind() != LogEntry.Kind.TEXT || e.level().compareTo(LogLevel.WARNING) <= 0;
    }

    /**
     * The reporting entries of {@code entries}, traces trimmed, two-space indented, at most {@link #MAX_LINES}
     * lines; "(no WARNING, BUG ...)" if there is none, and a count of what was left out.
     */
    static String of(List<LogEntry> entries) {
        List<LogEntry> shown = entries.stream().filter(KernelLogExcerpt::reports).toList();
        if (shown.isEmpty()) {
            return "  (nothing at warning level or worse; " + entries.size() + (entries.size() == 1 ? " entry" : " entries")
                + " in all)\n";
        }
        StringBuilder sb = new StringBuilder();
        int lines = 0;
        int left = shown.size();
        for (LogEntry e : shown) {
            List<String> entryLines = trimTraces(e.toString());
            if (lines > 0 && lines + entryLines.size() > MAX_LINES) {
                break;
            }
            for (String l : entryLines.subList(0, Math.min(entryLines.size(), MAX_LINES - lines))) {
                sb.append("  ").append(l).append('\n');
                lines++;
            }
            left--;
        }
        if (left > 0) {
            sb.append("  ... ").append(left).append(left == 1 ? " more entry" : " more entries").append(" in the file\n");
        }
        return sb.toString();
    }

    /**
     * The lines of one entry, each run of trace frames cut to its first {@link #FRAMES} jbtrfs frames (frames
     * of other code left out) and a count of the frames dropped.
     */
    static List<String> trimTraces(String entry) {
        List<String> out = new ArrayList<>();
        int kept = 0;
        int dropped = 0;
        for (String line : entry.split("\n", -1)) {
            if (FRAME.matcher(line).matches()) {
                if (kept < FRAMES && isJbtrfs(line)) {
                    out.add(line);
                    kept++;
                } else {
                    dropped++;
                }
                continue;
            }
            if (dropped > 0) {
                out.add(" ... " + dropped + " more frames");
            }
            kept = 0;
            dropped = 0;
            out.add(line);
        }
        if (dropped > 0) {
            out.add(" ... " + dropped + " more frames");
        }
        return out;
    }

    private static boolean isJbtrfs(String frame) {
        int dot = frame.indexOf('.');
        return dot > 1 && JBTRFS_PACKAGES.contains(frame.substring(1, dot));
    }
}
