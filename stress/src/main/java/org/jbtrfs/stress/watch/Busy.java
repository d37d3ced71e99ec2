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
    /** {@link JitClock#millis()} when the current operation started. */
    private volatile long jitAtEnter;
    /**
     * The perturbation's delays of this operation's filesystem's kernel threads so far, union (ScheduleScope#
     * kernelDelayNanos); none for a driver of the full workload.
     */
    private volatile java.util.function.LongSupplier kernelDelayNanos = () -> 0;
    private volatile long kernelDelayAtEnter;
    private volatile Consumer<String> warmUpSink;
    /** The JIT's compile time so far, ms ({@link JitClock}; a test's own clock). */
    private volatile java.util.function.LongSupplier jitMillis = JitClock::millis;
    /** The stall threshold of the watchdog watching this (0: none — nothing is taken for the JVM's warm-up). */
    private volatile long stallNanos;

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

    /**
     * Where a would-be stall goes that the JIT explains: an operation sampled past the threshold is one only if, less the
     * time the JIT's compilers spent meanwhile, it still waited past the threshold. The kernel has no JIT; on a cold JVM
     * the compilers take most of two CPUs for the first second (1.48 s of compilation in a 1-second run of four
     * filesystems, {@code -XX:+CITime}), and an honest wait for work they kept off the CPUs — a file lane's writeback on
     * kworkers, the known "load stall" of every hunt — passed the threshold. A line for the cycle's notes instead of a
     * stall; null: every sampled operation is a stall. A lost wake-up waits for a timer (a commit interval, at least
     * 1 s) and stays one.
     */
    public void warmUpSink(Consumer<String> sink) { this.warmUpSink = sink; }

    /** The watchdog's stall threshold ({@link Watchdog#watch}). */
    void stallThreshold(long nanos) { this.stallNanos = nanos; }

    /** Test seam: the JIT's compile time in ms from {@code clock} instead of the JVM's. */
    void jitClock(java.util.function.LongSupplier clock) { this.jitMillis = clock; }

    /** Where the perturbation's delays of this operation's filesystem's kernel threads are summed (a lane's scope). */
    public void kernelDelayClock(java.util.function.LongSupplier nanos) { this.kernelDelayNanos = nanos; }

    /** Where ended operations go (the current cycle's timeline), or null. */
    public void opSink(OpSink sink) { this.opSink = sink; }

    /** How the current operation ended, when not plainly ("EBUSY", "KernelBug"); reset by {@link #enter}. */
    public void outcome(String o) { this.outcome = o; }

    /**
     * Starts an operation. Synchronized with {@link #sample} and {@link #markHung}: the watchdog decides about the
     * operation it read the start of, and what it then writes must not land on the next one (see {@link #sample}).
     */
    public synchronized void enter(String operation) {
        op = operation;
        thread = Thread.currentThread();
        stallFrame = null;
        sampled = false;
        hungReported = false;
        outcome = null;
        jitAtEnter = jitMillis.getAsLong();
        kernelDelayAtEnter = kernelDelayNanos.getAsLong();
        since = System.nanoTime();
    }

    public void exit() {
        long s;
        String frame;
        String context;
        synchronized (this) {
            s = since;
            frame = stallFrame;
            context = stallContext;
            since = 0;
        }
        long end = System.nanoTime();
        long took = end - s;
        OpSink ops = opSink;
        if (ops != null) {
            ops.op(driverName, op, s, end, outcome);
        }
        if (Profile.ON) {
            Profile.op(op, took);
        }
        Consumer<Observation.Stall> sink = stallSink;
        if (frame != null && sink != null && !hungReported) {
            long jit = jitMillis.getAsLong() - jitAtEnter;
            Consumer<String> warmUp = warmUpSink;
            long threshold = stallNanos;
            long delayed = org.jbtrfs.stress.classify.Classifier.stallCause(frame) == null
                ? kernelDelayNanos.getAsLong() - kernelDelayAtEnter : 0;
            if (warmUp != null && threshold > 0 && took - jit * 1_000_000 < threshold) {
                warmUp.accept(String.format(java.util.Locale.ROOT, "not a stall: %s '%s' blocked %.2f s in %s while the JIT"
                    + " compiled for %d ms (the JVM's warm-up; the kernel has no JIT)", driverName, op, took / 1e9, frame, jit));
            } else if (warmUp != null && threshold > 0 && took - jit * 1_000_000 - delayed < threshold) {
                warmUp.accept(String.format(java.util.Locale.ROOT, "not a stall: %s '%s' blocked %.2f s in %s while the"
                    + " perturbation held its filesystem's kernel threads for %.2f s (the explorer's delays; the kernel has"
                    + " none)", driverName, op, took / 1e9, frame, delayed / 1e9));
            } else {
                sink.accept(new Observation.Stall(driverName, op, took, frame, context, null));
            }
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

    /**
     * The watchdog's sample of the operation that started at {@code started}: {@code frame} is the kernel sleep it is
     * blocked in, or null. Kept only if that operation still runs — then it ran from before the stack was taken until
     * now, so the frame is its own. Returns whether it was kept. Without the check a sample taken just as the
     * operation ended and the next began was written onto the next one: a 0.03 s `mount -o ro` reported as a
     * stall past the 0.4 s threshold, in the kthread_stop its predecessor's sample never saw (seed 41004).
     */
    synchronized boolean sample(long started, String frame, String context) {
        if (since != started || started == 0) {
            return false;
        }
        stallFrame = frame;
        stallContext = context;
        sampled = true;
        return true;
    }

    String stallContext() { return stallContext; }

    String stallFrame() { return stallFrame; }

    /**
     * Marks the operation that started at {@code started} as reported hung (once); false if it already was, or if it
     * is no longer the current one (whose own reports the mark would silence).
     */
    synchronized boolean markHung(long started) {
        if (since != started || started == 0 || hungReported) {
            return false;
        }
        hungReported = true;
        return true;
    }
}
