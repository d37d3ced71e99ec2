package org.jbtrfs.stress.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.junit.jupiter.api.Test;

class InterleavingCoverageTest {
    private static Timeline timeline(Object... roleHook) {
        Timeline t = new Timeline(System.nanoTime());
        for (int i = 0; i < roleHook.length; i += 2) {
            t.add((String) roleHook[i], (Hook) roleHook[i + 1], "");
        }
        return t;
    }

    /** An edge is a hand-over between roles; the per-bio hooks are left out, a pooled thread is "other". */
    @Test
    void anEdgeIsAHandOverFromOneRoleToAnother() {
        Timeline t = timeline(Roles.CLEANER, Hook.CLEANER_AFTER_SET_RUNNING, Roles.CLEANER, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS,
            "kworker", Hook.TREE_BLOCK_ALLOCATED, "lifecycle", Hook.REMOUNT_AFTER_SET_RO, "other:pool-1", Hook.DENTRY_ADDED,
            "other:pool-2", Hook.DENTRY_ADDED, "lifecycle", Hook.REMOUNT_BEFORE_COMMIT_SUPER);
        List<Long> e = InterleavingCoverage.edges(t.arrivals());
        // cleaner→lifecycle (the kworker's per-bio arrival between them does not count), lifecycle→other, other→lifecycle
        assertEquals(3, e.size(), e.toString());
        assertEquals(3, e.stream().distinct().count());
        assertEquals(e, InterleavingCoverage.edges(timeline(Roles.CLEANER, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, "lifecycle",
            Hook.REMOUNT_AFTER_SET_RO, "other:x", Hook.DENTRY_ADDED, "lifecycle", Hook.REMOUNT_BEFORE_COMMIT_SUPER).arrivals()));
    }

    /** The count is the run's: an edge made again adds nothing, the other order is another edge. */
    @Test
    void theRunCountsEachDistinctEdgeOnce() {
        InterleavingCoverage c = new InterleavingCoverage();
        Timeline t = timeline("lifecycle", Hook.REMOUNT_AFTER_SET_RO, Roles.CLEANER, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS);
        assertEquals(1, c.observe(t));
        assertEquals(0, c.observe(t));
        assertEquals(1, c.observe(timeline(Roles.CLEANER, Hook.CLEANER_BEFORE_REMOVE_BG_TRANS, "lifecycle", Hook.REMOUNT_AFTER_SET_RO)));
        assertEquals(0, c.observe(null));
        assertEquals(0, c.observe(timeline("file", Hook.DENTRY_ADDED, "file", Hook.FSYNC_BEFORE_START_TRANSACTION)), "one role hands over to no one");
        assertEquals(2, c.distinct());
        assertEquals("interleaving coverage: 2 distinct edges (hand-overs between threads at hooks)", c.describe());
    }
}
