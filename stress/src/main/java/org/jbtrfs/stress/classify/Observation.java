package org.jbtrfs.stress.classify;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.fs.UnloadReport;
import org.jbtrfs.stress.schedule.Roles;

/**
 * Everything a cycle saw that the verdict is made from. The driver fills most of it; the lanes of a
 * lanes cycle add their errors, stalls and failing umounts concurrently (those adders are synchronized).
 */
public final class Observation {
    /** An operation of a lane that failed in a way the kernel's rules do not explain. */
    record LaneError(String lane, String op, Throwable error) { }

    /**
     * An operation that blocked past the stall threshold in a kernel sleep and then completed — or, with
     * {@code lostWakeup} set, one waiting for a kthread that sleeps through its request (the module was
     * panicked to end it: in the kernel it lasts until the next wake-up).
     */
    public record Stall(String lane, String op, long nanos, String frame, String context, String lostWakeup) { }

    /** An operation the watchdog found blocked past the hung-task limit (the module was panicked). */
    public record Hang(String lane, String op, String frame, String report) { }

    /** Kernel log lines of the cycle. */
    public List<LogEntry> log = List.of();
    /** The lifecycle state right before umount (null if the cycle never got there). */
    public Inspection beforeUmount;
    /** What was left after the umount the verdict looks at (the first failing one of a lanes cycle). */
    public Inspection afterUmount;
    /** A KernelBug / KernelOops / other exception thrown out of umount. */
    public Throwable umountError;
    /** The lane (or "driver") whose umount {@link #afterUmount} and {@link #umountError} are from. */
    String umountLane = Roles.DRIVER;
    /** An exception out of the workload before umount. */
    public Throwable workloadError;
    /** "btrfs_delayed_ref_head: 2 in use" for slab caches not empty after a clean umount. */
    public final List<String> slabsInUse = new ArrayList<>();
    /** Subvolume ids found with refs 0, no orphan item, the cleaner idle. */
    public final List<Long> deadRootLeaks = new ArrayList<>();
    /** The lane whose umount found its mount had rescanned a current UUID tree (the first), or null. */
    public String needlessUuidRescan;
    /** The lane whose umount saw a mount whose async discard a remount left off ({@code Inspection.asyncDiscardOff}). */
    public String asyncDiscardOff;
    /** The errors btrfs check found in the image after the cycle's last umount, "KIND: message" ({@link Symptom#FSCK}). */
    public final List<String> fsck = new ArrayList<>();
    /** The unload report, when the cycle failed and the module was reloaded. */
    public UnloadReport unload;
    /** Other notes for the report (cleanup errors). */
    public final List<String> notes = new ArrayList<>();
    private final List<LaneError> laneErrors = new ArrayList<>();
    private final List<Stall> stalls = new ArrayList<>();
    public volatile Hang hang;
    /** The watchdog named a lost wake-up and panicked the module to end this cycle's stall. */
    public volatile boolean lostWakeup;
    /**
     * The errors this cycle's armed fault-injection sites return ({@code --faults}): the kernel's reports of
     * such an error (a transaction aborted, "error ... errno=-5", "commit super ret -5") are what the
     * injected fault does, not a failure.
     */
    public volatile java.util.Set<org.jbtrfs.core.Errno> injected = java.util.Set.of();

    /**
     * A power cut ended one of this filesystem's cycles since its mkfs (stop 35, {@code _flakey_drop_and_remount}): the
     * mounts after it meet what the last commit before the cut left.
     */
    public volatile boolean powerCutSinceMkfs;

    /**
     * A replace finished on this filesystem in this cycle or an earlier one since its mkfs (stop 72): a later mount that
     * finds no target may meet a commit's superblock written across finishing's swap.
     */
    public volatile boolean replaceFinishedSinceMkfs;

    /**
     * A replace's source failed a write on this filesystem in this cycle or an earlier one since its mkfs (stop 73): the
     * target alone took it, and a replace that does not finish takes it away.
     */
    public volatile boolean sourceMissedWritesSinceMkfs;

    /**
     * The replace lines ("dev_replace …", a replace's device errors) of this filesystem's earlier cycles since its mkfs
     * (stop 73): a cycle whose mount meets what a replace left names what the replaces did before it.
     */
    public volatile List<String> replaceHistory = List.of();
    /**
     * The sectors a scrub or a replace's copy of this filesystem could not read on any copy since its mkfs, this cycle's
     * included ({@code FsModel#unreadableInReplaceCopy}): zeros there — which only a replace's copy writes — are the
     * failing disk's loss (stop 77).
     */
    public volatile java.util.Set<Long> unreadableInReplaceCopy = java.util.Set.of();
    /**
     * Per device name, its error counters at the cycle's start (stop 78: they persist across mounts, so a
     * "bdev D errs: …" line says what was counted only against the one before it): empty when unknown, and then a
     * device's first line counts each of its non-zero counters.
     */
    public volatile java.util.Map<String, int[]> devStatsAtStart = java.util.Map.of();
    /** The log {@link #devStatIncrements} was computed for, and the increments of each line (by seq). */
    volatile java.util.List<org.jbtrfs.core.LogEntry> incrementsOf;
    volatile java.util.Map<Long, java.util.Set<Integer>> devStatIncrements;

    /**
     * The kernel log positions ({@link org.jbtrfs.core.LogEntry#seq}) between which this cycle's disks dropped every
     * write (a power cut: from its start to the umount that ended it; {@code Long.MAX_VALUE} while it lasts).
     */
    private final List<long[]> powerCuts = new ArrayList<>();

    /** A power cut started with the log at {@code seq}. */
    public synchronized void powerCutStarted(long seq) { powerCuts.add(new long[] {seq, Long.MAX_VALUE}); }

    /** The power cut going on ended with the log at {@code seq}. */
    public synchronized void powerCutEnded(long seq) {
        if (!powerCuts.isEmpty() && powerCuts.get(powerCuts.size() - 1)[1] == Long.MAX_VALUE) {
            powerCuts.get(powerCuts.size() - 1)[1] = seq;
        }
    }

    /** Whether the log line at {@code seq} was logged while this cycle's disks dropped writes. */
    public synchronized boolean inPowerCut(long seq) {
        return powerCuts.stream().anyMatch(c -> seq >= c[0] && seq < c[1]);
    }

    /** The cycle armed fault-injection sites that return {@code errnos}. */
    public void injected(java.util.Set<org.jbtrfs.core.Errno> errnos) { injected = java.util.Set.copyOf(errnos); }

    public synchronized void laneError(String lane, String op, Throwable t) {
        if (!endedByWatchdog()) {
            laneErrors.add(new LaneError(lane, op, t));
        }
    }

    /**
     * The watchdog panicked the module for this cycle (a hang, a lost wake-up): what the operations in
     * flight do after that — errors, use-after-frees of tasks the panic let exit — is the panic's doing,
     * not evidence; the watchdog recorded what it saw before.
     */
    public boolean endedByWatchdog() { return hang != null || lostWakeup; }

    public synchronized void stall(Stall s) { stalls.add(s); }

    public synchronized void note(String s) { notes.add(s); }

    private final java.util.concurrent.atomic.AtomicInteger warmUps = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Operations of this cycle that waited past the stall threshold while the JIT compiled or the perturbation held their
     * filesystem's kernel threads ({@link #warmUp}).
     */
    public int warmUps() { return warmUps.get(); }

    /** A would-be stall during the JVM's warm-up (the watchdog's {@code Busy}): a note, counted, not a symptom. */
    public void warmUp(String line) {
        warmUps.incrementAndGet();
        note(line);
    }

    /**
     * The first RO→RW remount that found a transaction open on the read-only filesystem, or committed on it since it
     * went read-only (null: none), and its lane.
     */
    public Inspection roLeak;
    public String roLeakLane;

    /** {@code lane} is about to remount read-write a read-only filesystem with transactions open ({@code before}). */
    public synchronized void roLeak(String lane, Inspection before) {
        if (roLeak == null) {
            roLeak = before;
            roLeakLane = lane;
        }
    }

    /**
     * An umount of a lanes cycle: the first one that left transactions open or threw is the one the
     * verdict reads; clean ones are not kept.
     */
    public synchronized void umounted(String lane, Inspection after, Throwable error) {
        if (error instanceof org.jbtrfs.core.KernelPanic || endedByWatchdog()) {
            error = null; // the watchdog's panic (a hang, a lost wake-up): its evidence is recorded there
        }
        if (after != null && after.needlessUuidRescan() && needlessUuidRescan == null) {
            needlessUuidRescan = lane;
        }
        if (after != null && after.asyncDiscardOff() && asyncDiscardOff == null) {
            asyncDiscardOff = lane;
        }
        boolean failed = error != null || leaked(after);
        if (!failed || leaked(afterUmount) || umountError != null) {
            return;
        }
        afterUmount = after;
        umountError = error;
        umountLane = lane;
    }

    /**
     * The umount of a single-driver cycle threw {@code e}. A KernelPanic is not the umount's failure: the
     * watchdog panicked the module (a hang, a lost wake-up) and recorded what it saw.
     */
    public synchronized void umountFailed(Throwable e) {
        if (!(e instanceof org.jbtrfs.core.KernelPanic) && !endedByWatchdog()) {
            umountError = e;
        }
    }

    /**
     * Whether {@code in} shows a transaction started after the last commit of a read-only filesystem or of an umount:
     * one still open, or one committed while the filesystem was settled read-only.
     */
    public static boolean leaked(Inspection in) {
        return in != null && (!in.openTransactions().isEmpty() || !in.committedReadOnly().isEmpty());
    }

    public synchronized List<LaneError> laneErrors() { return new ArrayList<>(laneErrors); }

    synchronized List<Stall> stalls() { return new ArrayList<>(stalls); }
}
