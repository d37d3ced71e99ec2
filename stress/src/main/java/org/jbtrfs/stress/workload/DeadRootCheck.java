package org.jbtrfs.stress.workload;

import org.jbtrfs.fs.internal.Internals;
import java.util.Map;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.classify.Observation;

/**
 * After an RW mount or remount with deletions pending: let the cleaner drop what is queued (whole
 * passes, one dead root each: the event the drop gives) and look for a root that will never be
 * dropped — refs 0, no orphan item (so no later mount finds it), not on dead_roots, no inode of it
 * in memory: the March 2021 bug, silent otherwise.
 */
public final class DeadRootCheck {
    private DeadRootCheck() { }

    public static void check(CycleEnv env, Btrfs fs, Observation obs) {
        Inspection in = env.op("inspect", fs::inspect);
        if (!in.rootItems().containsValue(0)) {
            return;
        }
        if (in.deadRoots().isEmpty() && !in.cleanerRunning()) {
            // nothing queued: one pass lets a drop in progress (popped from the list) finish
            env.op("cleaner pass", () -> fs.runCleanerPass(SubvolumeSync.PASS));
        }
        // the drops, as events; a deleted subvolume that is not queued is what the check below looks at
        env.op("subvolume sync", () -> SubvolumeSync.drive(fs));
        in = env.op("inspect", fs::inspect);
        if (in.cleanerRunning() || !in.deadRoots().isEmpty()) {
            return; // not idle within the bound: no verdict
        }
        for (Map.Entry<Long, Integer> e : in.rootItems().entrySet()) {
            if (e.getValue() == 0 && !in.rootOrphans().contains(e.getKey()) && !heldInMemory(fs, e.getKey())) {
                obs.deadRootLeaks.add(e.getKey());
            }
        }
    }

    /** An inode of the subvolume still in memory defers its drop to the last close (not a leak). */
    private static boolean heldInMemory(Btrfs fs, long id) {
        var root = Internals.fsInfo(fs).fsRootsRadix.get(id);
        return root != null && root.openInodes.get() > 0;
    }
}
