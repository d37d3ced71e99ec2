package org.jbtrfs.stress;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.fs.UnloadReport;

/** Everything a cycle saw that the verdict is made from. Filled by one driver thread. */
final class Observation {
    /** Kernel log lines of the cycle. */
    List<LogEntry> log = List.of();
    /** The lifecycle state right before umount (null if the cycle never got there). */
    Inspection beforeUmount;
    /** What was left after umount, crashed or not (trans_list survives close_ctree). */
    Inspection afterUmount;
    /** A KernelBug / KernelOops / other exception thrown out of umount. */
    Throwable umountError;
    /** An exception out of the workload before umount. */
    Throwable workloadError;
    /** "btrfs_delayed_ref_head: 2 in use" for slab caches not empty after a clean umount. */
    final List<String> slabsInUse = new ArrayList<>();
    /** Subvolume ids found with refs 0, no orphan item, the cleaner idle. */
    final List<Long> deadRootLeaks = new ArrayList<>();
    /** The unload report, when the cycle failed and the module was reloaded. */
    UnloadReport unload;
    /** Other notes for the report (cleanup errors). */
    final List<String> notes = new ArrayList<>();
}
