package org.jbtrfs.stress.engine;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.LogEntry;

/**
 * With several filesystems in one module the kernel log is shared: a cycle's verdict must not take
 * another filesystem's BUG for its own. A line belongs to this filesystem's cycle unless it names
 * another device ("(device sdd)"), was logged by another driver thread or lane, or — naming no device — was logged
 * by a thread serving another filesystem ({@link LogEntry#owner}: its kthread, a work of its queues; stop 66); lines
 * of threads serving none known stay, as the conservative choice.
 */
final class LogScope {
    private LogScope() { }

    /**
     * The log up to and including a panic: what follows (the unload of the panicked module, errors of the
     * operations the panic unwound) is the panic's doing, not the cycle's evidence.
     */
    static List<LogEntry> untilPanic(List<LogEntry> l) {
        for (int i = 0; i < l.size(); i++) {
            if (l.get(i).kind() == LogEntry.Kind.PANIC) {
                return l.subList(0, i + 1);
            }
        }
        return l;
    }

    /**
     * The lines of filesystem {@code myIndex}'s cycle: not those naming another device, nor those logged by another
     * filesystem's driver thread or lanes ("lane:lifecycle:1": a BUG in another filesystem's umount names no
     * device, and was taken for this one's).
     */
    static List<LogEntry> forFilesystem(List<LogEntry> all, String myDriverThread, String myDevice, int myIndex) {
        return forFilesystem(all, myDriverThread, java.util.Set.of(myDevice), myIndex);
    }

    /**
     * {@link #forFilesystem(List, String, String, int)} for a cycle named by several devices ({@link #devicesOf}): its
     * filesystem's disk, the spare disk a replace moves it to (stop 65; its messages then name the spare), the dev2
     * lane's disk.
     */
    static List<LogEntry> forFilesystem(List<LogEntry> all, String myDriverThread, java.util.Set<String> myDevices,
                                        int myIndex) {
        String myLanes = ":" + myIndex;
        List<LogEntry> out = new ArrayList<>();
        for (LogEntry e : all) {
            String m = e.message();
            int at = m.indexOf("(device ");
            if (at >= 0) {
                int end = m.indexOf(')', at);
                if (end > at && !myDevices.contains(m.substring(at + 8, end))) {
                    continue;
                }
            } else if (e.thread().startsWith("stress-driver-") && !e.thread().equals(myDriverThread)
                || e.thread().startsWith("lane:") && !e.thread().endsWith(myLanes)
                || e.owner() != null && !myDevices.contains(e.owner())) {
                // the last: a line naming no device logged by a thread serving another filesystem — its kthread's WARN
                // (stop 66: another filesystem's btrfs-devrepl WARN after its injected commit error, class cc62fc52)
                continue;
            }
            out.add(e);
        }
        return out;
    }

    /**
     * Whether filesystem {@code myIndex}'s lines ({@link #forFilesystem}) report a task killed — the reports that taint
     * the module D: an oops, a BUG, and the port's KASAN reports (use-after-free, double free), raised as oopses.
     */
    static boolean hasDeadTask(List<LogEntry> all, String myDriverThread, String myDevice, int myIndex) {
        return hasDeadTask(all, myDriverThread, java.util.Set.of(myDevice), myIndex);
    }

    /** {@link #hasDeadTask(List, String, String, int)} for a filesystem named by several devices. */
    static boolean hasDeadTask(List<LogEntry> all, String myDriverThread, java.util.Set<String> myDevices, int myIndex) {
        return forFilesystem(all, myDriverThread, myDevices, myIndex).stream().anyMatch(e -> DEAD.contains(e.kind()));
    }

    /**
     * The names of filesystem {@code fs}'s devices in {@code host}: its disk, the spare a replace moves it to, and the dev2
     * lane's disk (stop 66: until then a line naming the dev2 filesystem was in no cycle's scope).
     */
    static java.util.Set<String> devicesOf(ModuleHost host, int fs) {
        java.util.Set<String> names = new java.util.HashSet<>(List.of(host.device(fs).name(), host.spare(fs).name()));
        if (host.device2(fs) != null) {
            names.add(host.device2(fs).name());
        }
        return names;
    }

    private static final java.util.Set<LogEntry.Kind> DEAD = java.util.EnumSet.of(LogEntry.Kind.OOPS, LogEntry.Kind.BUG,
        LogEntry.Kind.USE_AFTER_FREE, LogEntry.Kind.DOUBLE_FREE);
}
