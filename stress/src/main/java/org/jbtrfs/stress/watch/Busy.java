package org.jbtrfs.stress.watch;

import java.util.function.Consumer;
import org.jbtrfs.stress.classify.Observation;

/**
 * What one driver or lane is doing right now, for the watchdog: the operation's name, when it started
 * and the thread running it. Written by its owner thread; read by the watchdog (volatile: a stale read
 * only delays a report). The watchdog samples where an operation blocks once it passes the stall
 * threshold; when the operation then completes, the owner reports a stall to its sink.
 */
public final class Busy {
    public final String driverName;
    private volatile String op;
    private volatile long since;
    private volatile Thread thread;
    /** Where the current operation was blocked when the watchdog sampled it (null: not sampled, or not in a kernel sleep). */
    private volatile String stallFrame;
    private volatile boolean sampled;
    private volatile boolean hungReported;
    private volatile Consumer<Observation.Stall> stallSink;
    private volatile OpSink opSink;
    private volatile String outcome;

    /** Where each operation goes when it ends (the cycle's timeline), or nowhere. */
    public interface OpSink {
        void op(String who, String name, long startNanos, long endNanos, String outcome);
    }

    private final int filesystem;

    public Busy(String driverName) { this(driverName, -1); }

    /** A driver's or lane's of filesystem {@code filesystem} (the index of {@code --filesystems}; -1: not said). */
    public Busy(String driverName, int filesystem) {
        this.driverName = driverName;
        this.filesystem = filesystem;
    }

    /** The filesystem whose driver or lane this is, or -1. */
    public int filesystem() { return filesystem; }

    private volatile String device;

    /** The device of the filesystem this driver or lane works on, named in its hung-task reports (null: not said). */
    public void device(String d) { this.device = d; }

    /** " (device sdc)" for a report, or "" (with several filesystems a report must say whose task hung). */
    String deviceTag() {
        String d = device;
        return d == null ? "" : " (device " + d + ")";
    }

    /** Where completed stalls go (the current cycle's observation), or null. */
    public void stallSink(Consumer<Observation.Stall> sink) { this.stallSink = sink; }

    /** Where ended operations go (the current cycle's timeline), or null. */
    public void opSink(OpSink sink) { this.opSink = sink; }

    /** How the current operation ended, when not plainly ("EBUSY", "KernelBug"); reset by {@link #enter}. */
    public void outcome(String o) { this.outcome = o; }

    public void enter(String operation) {
        op = operation;
        thread = Thread.currentThread();
        stallFrame = null;
        sampled = false;
        hungReported = false;
        outcome = null;
        since = System.nanoTime();
    }

    public void exit() {
        long s = since;
        long end = System.nanoTime();
        long took = end - s;
        OpSink ops = opSink;
        if (ops != null) {
            ops.op(driverName, op, s, end, outcome);
        }
        if (Profile.ON) {
            Profile.op(op, took);
        }
        since = 0;
        String frame = stallFrame;
        Consumer<Observation.Stall> sink = stallSink;
        if (frame != null && sink != null && !hungReported) {
            sink.accept(new Observation.Stall(driverName, op, took, frame, stallContext, null));
        }
    }

    /** Nanoseconds the current operation has been running, or -1 when idle. */
    public long runningFor(long now) {
        long s = since;
        return s == 0 ? -1 : now - s;
    }

    /** When the current operation started (System.nanoTime), or 0 when idle: it names one operation. */
    long startedAt() { return since; }

    public String op() { return op; }

    Thread thread() { return thread; }

    boolean sampled() { return sampled; }

    private volatile String stallContext;

    /** The watchdog's sample: {@code frame} is the kernel sleep the operation is blocked in, or null. */
    void sample(String frame, String context) {
        stallFrame = frame;
        stallContext = context;
        sampled = true;
    }

    String stallContext() { return stallContext; }

    String stallFrame() { return stallFrame; }

    /** Marks the current operation as reported hung (once); false if it already was. */
    boolean markHung() {
        if (hungReported) {
            return false;
        }
        hungReported = true;
        return true;
    }
}
