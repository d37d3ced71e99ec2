package org.jbtrfs.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel log (dmesg) of one loaded module: a bounded, queryable ring of lines that also go to
 * SLF4J (logger {@code org.jbtrfs.kernel}), the WARN_ON / ASSERT / BUG machinery and the taint flags.
 */
public final class KernelLog {
    private static final Logger SLF4J = LoggerFactory.getLogger("org.jbtrfs.kernel");

    private final int capacity;
    private final KernelClock clock;
    private final ArrayDeque<LogEntry> ring;
    private final EnumSet<Taint> taints = EnumSet.noneOf(Taint.class);
    private volatile boolean died;
    private long nextSeq;
    private volatile boolean assertionsEnabled = true;

    public KernelLog(int capacity, KernelClock clock) {
        this(capacity, clock, true);
    }

    /** A log whose ASSERTs are on or off (CONFIG_BTRFS_ASSERT): the loaded kernel builds it from its config. */
    public KernelLog(int capacity, KernelClock clock, boolean assertionsEnabled) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("log capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        this.clock = clock;
        this.ring = new ArrayDeque<>(Math.min(capacity, 4096));
        this.assertionsEnabled = assertionsEnabled;
    }

    void setAssertionsEnabled(boolean on) { this.assertionsEnabled = on; }

    public boolean assertionsEnabled() { return assertionsEnabled; }

    /** Appends a line; returns it. */
    public LogEntry log(LogLevel level, LogEntry.Kind kind, String message) {
        LogEntry e;
        synchronized (this) {
            e = new LogEntry(nextSeq++, level, clock.nanoTime(), Thread.currentThread().getName(), kind, message,
                WorkOwner.device());
            if (ring.size() == capacity) {
                ring.removeFirst();
            }
            ring.addLast(e);
        }
        switch (level) {
            case EMERG, ALERT, CRIT, ERR -> SLF4J.error("{}", message);
            case WARNING -> SLF4J.warn("{}", message);
            case NOTICE, INFO -> SLF4J.info("{}", message);
            default -> SLF4J.debug("{}", message);
        }
        return e;
    }

    /** btrfs_printk: "BTRFS info (device sdc): message". */
    public LogEntry btrfs(LogLevel level, String device, String message) {
        return log(level, LogEntry.Kind.TEXT, "BTRFS " + level.btrfsWord() + " (device " + device + "): " + message);
    }

    public LogEntry info(String device, String message) { return btrfs(LogLevel.INFO, device, message); }

    public LogEntry warn(String device, String message) { return btrfs(LogLevel.WARNING, device, message); }

    public LogEntry error(String device, String message) { return btrfs(LogLevel.ERR, device, message); }

    /**
     * kernel: WARN_ON() — when {@code condition} holds, logs
     * {@code WARNING: CPU: 0 PID: <tid> at fs/btrfs/<file>:<line> <function>} with the Java call
     * trace, taints W and lets the caller continue. Returns {@code condition}.
     */
    public boolean warnOn(boolean condition, String file, int line, String function) {
        return warnOnAt(condition, "fs/btrfs/" + file, line, function);
    }

    /** {@link #warnOn} for a source file outside fs/btrfs ({@code path} from the kernel tree's top). */
    public boolean warnOnAt(boolean condition, String path, int line, String function) {
        if (condition) {
            taint(Taint.WARN);
            log(LogLevel.WARNING, LogEntry.Kind.WARNING,
                "WARNING: CPU: 0 PID: " + Thread.currentThread().getId() + " at " + path + ":" + line + " "
                    + function + "\n" + taintLine() + "\nCall Trace:\n" + callTrace(new Throwable(), 2));
        }
        return condition;
    }

    /**
     * kernel: ASSERT() with CONFIG_BTRFS_ASSERT — when assertions are on and {@code condition} is
     * false, logs {@code assertion failed: <expr>, in fs/btrfs/<file>:<line>} and the kernel BUG at
     * ctree.h, taints D and throws {@link KernelBug} out of the calling thread. With assertions off
     * it does nothing, as a non-debug kernel build.
     */
    public void assertThat(boolean condition, String expr, String file, int line) {
        if (condition || !assertionsEnabled) {
            return;
        }
        // assertfail() prints with pr_err, then BUG() prints with pr_crit.
        log(LogLevel.ERR, LogEntry.Kind.ASSERTION, "assertion failed: " + expr + ", in fs/btrfs/" + file + ":" + line);
        throw bug("ctree.h", 3153, "assertion failed: " + expr);
    }

    /** kernel: BUG() — logs "kernel BUG at fs/btrfs/<file>:<line>!", taints D, returns the throwable. */
    public KernelBug bug(String file, int line, String why) {
        taint(Taint.DIE);
        // the kernel's BUG() says no more; the port's report ends with its reason, for whoever triages it
        log(LogLevel.CRIT, LogEntry.Kind.BUG, "kernel BUG at fs/btrfs/" + file + ":" + line + "!\n" + taintLine()
            + "\nCall Trace:\n" + callTrace(new Throwable(), 2) + "\n(port: " + why + ")");
        return new KernelBug(why);
    }

    /** Records an oops report (already formatted), taints D and returns the throwable to raise. */
    public KernelOops oops(LogEntry.Kind kind, String report) {
        taint(Taint.DIE);
        log(LogLevel.EMERG, kind, report + "\n" + taintLine() + whoseTask());
        return new KernelOops(report.lines().findFirst().orElse(report));
    }

    /**
     * The oops's line naming the dying task's filesystem, if it serves one: a kworker's "Workqueue: <name> <function>",
     * a kthread's "Comm: <name>" (its kthread_run data is the fs_info), each with the device it serves.
     */
    private static String whoseTask() {
        String device = WorkOwner.device();
        if (device == null) {
            return "";
        }
        Role role = Role.current();
        boolean kworker = role == Role.WORKER || role == Role.RESCAN_WORKER;
        return (kworker ? "\nWorkqueue: btrfs_work_helper" : "\nComm: " + Thread.currentThread().getName())
            + " (device " + device + ")";
    }

    /** An exception escaped a kthread or worker: the kernel would have oopsed in that task. */
    public void uncaught(String where, Throwable t) {
        if (t instanceof KernelBug || t instanceof KernelOops || t instanceof KernelPanic) {
            return; // already reported where it was raised
        }
        oops(LogEntry.Kind.OOPS, "Oops: unexpected exception in " + where + ": " + t + "\nCall Trace:\n" + callTrace(t, 0));
    }

    public synchronized void taint(Taint t) {
        taints.add(t);
        if (t == Taint.DIE) {
            died = true;
        }
    }

    /**
     * Whether an oops, BUG or panic was reported (taint D), read without the log's lock: oops_enter()'s
     * debug_locks_off() — lockdep trusts nothing after that.
     */
    public boolean died() { return died; }

    public synchronized Set<Taint> taints() { return EnumSet.copyOf(taints.isEmpty() ? EnumSet.noneOf(Taint.class) : taints); }

    public synchronized boolean tainted() { return !taints.isEmpty(); }

    /** "Tainted: G    B D W" as the kernel prints it (G: only GPL modules). */
    public synchronized String taintLine() {
        StringBuilder sb = new StringBuilder("Tainted: G    ");
        for (Taint t : Taint.values()) {
            sb.append(taints.contains(t) ? t.letter() : ' ').append(' ');
        }
        return sb.toString().stripTrailing();
    }

    /** Every line still in the ring, oldest first. */
    public synchronized List<LogEntry> entries() { return new ArrayList<>(ring); }

    /** Lines with {@code seq >= fromSeq}. */
    public synchronized List<LogEntry> since(long fromSeq) {
        // from the newest line back: a per-cycle mark costs the cycle's lines, not the whole ring
        java.util.ArrayDeque<LogEntry> out = new java.util.ArrayDeque<>();
        for (java.util.Iterator<LogEntry> it = ring.descendingIterator(); it.hasNext();) {
            LogEntry e = it.next();
            if (e.seq() < fromSeq) {
                break;
            }
            out.addFirst(e);
        }
        return new ArrayList<>(out);
    }

    /** The sequence number the next line will get: a mark for {@link #since}. */
    public synchronized long mark() { return nextSeq; }

    public List<LogEntry> matching(Predicate<LogEntry> p) { return entries().stream().filter(p).toList(); }

    /** True if any line contains {@code text}. */
    public boolean contains(String text) { return entries().stream().anyMatch(e -> e.message().contains(text)); }

    public long count(LogEntry.Kind kind) { return entries().stream().filter(e -> e.kind() == kind).count(); }

    /** The log as dmesg prints it. */
    public String dmesg() {
        StringBuilder sb = new StringBuilder();
        for (LogEntry e : entries()) {
            sb.append(e).append('\n');
        }
        return sb.toString();
    }

    /** Java frames formatted as a kernel call trace, innermost first, dropping {@code skip} frames. */
    public static String callTrace(Throwable t, int skip) {
        StringBuilder sb = new StringBuilder();
        StackTraceElement[] st = t.getStackTrace();
        for (int i = skip; i < st.length && i < skip + 24; i++) {
            sb.append(" ").append(st[i].getClassName().replace("org.jbtrfs.", "")).append('.')
                .append(st[i].getMethodName()).append(':').append(st[i].getLineNumber()).append('\n');
        }
        return sb.toString().stripTrailing();
    }
}
