package org.jbtrfs.core;

/**
 * One dmesg line.
 *
 * @param seq     position in the module's log (starts at 0, never reused)
 * @param level   printk level
 * @param nanos   time on the module's clock
 * @param thread  name of the thread that logged it ("btrfs-cleaner", "umount", ...)
 * @param kind    what produced it, for machine checks
 * @param message the line as dmesg shows it (multi-line for traces)
 * @param owner   the device whose filesystem the logging thread was serving ({@link WorkOwner}: a filesystem's
 *                kthread or a work of its queues), or null — instrumentation, not dmesg text: a kthread's WARN names no
 *                device, and with several filesystems in one module a reader tells them apart by it
 */
public record LogEntry(long seq, LogLevel level, long nanos, String thread, Kind kind, String message, String owner) {
    /** A line logged by a thread serving no filesystem (or whose filesystem is not known). */
    public LogEntry(long seq, LogLevel level, long nanos, String thread, Kind kind, String message) {
        this(seq, level, nanos, thread, kind, message, null);
    }

    /** What produced a line, so tests and the stress verdict do not parse text. */
    public enum Kind { TEXT, WARNING, ASSERTION, BUG, USE_AFTER_FREE, DOUBLE_FREE, SLAB_LEAK, STATE_LEAK, OOPS, HUNG_TASK, PANIC }

    @Override
    public String toString() {
        return String.format("[%5d.%06d] %s", nanos / 1_000_000_000L, (nanos / 1000) % 1_000_000, message);
    }
}
