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

    /** An operation blocked in a kernel sleep past the stall threshold that then completed. */
    public record Stall(String lane, String op, long nanos, String frame, String context) { }

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
    /** The unload report, when the cycle failed and the module was reloaded. */
    public UnloadReport unload;
    /** Other notes for the report (cleanup errors). */
    public final List<String> notes = new ArrayList<>();
    private final List<LaneError> laneErrors = new ArrayList<>();
    private final List<Stall> stalls = new ArrayList<>();
    public volatile Hang hang;

    public synchronized void laneError(String lane, String op, Throwable t) { laneErrors.add(new LaneError(lane, op, t)); }

    public synchronized void stall(Stall s) { stalls.add(s); }

    public synchronized void note(String s) { notes.add(s); }

    /**
     * An umount of a lanes cycle: the first one that left transactions open or threw is the one the
     * verdict reads; clean ones are not kept.
     */
    public synchronized void umounted(String lane, Inspection after, Throwable error) {
        boolean failed = error != null || after != null && !after.openTransactions().isEmpty();
        if (!failed || afterUmount != null && !afterUmount.openTransactions().isEmpty() || umountError != null) {
            return;
        }
        afterUmount = after;
        umountError = error;
        umountLane = lane;
    }

    public synchronized List<LaneError> laneErrors() { return new ArrayList<>(laneErrors); }

    synchronized List<Stall> stalls() { return new ArrayList<>(stalls); }
}
