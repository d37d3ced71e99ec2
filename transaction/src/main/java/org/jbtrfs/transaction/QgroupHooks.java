package org.jbtrfs.transaction;

/**
 * The qgroup layer's part of a commit, installed in {@link FsInfo#qgroupHooks} at mount: the kernel calls up into
 * qgroup.c from the commit path (btrfs_qgroup_account_extent from btrfs_qgroup_account_extents, btrfs_run_qgroups in
 * commit_cowonly_roots) and from the delayed refs (a failed btrfs_qgroup_trace_extent_post).
 */
public interface QgroupHooks {
    /**
     * kernel: btrfs_qgroup_account_extent() — the extent at {@code bytenr} was referenced by {@code oldRoots} (at the last
     * commit; empty: the kernel's NULL) and is by {@code newRoots} now.
     */
    void accountExtent(long bytenr, long numBytes, java.util.List<Long> oldRoots, java.util.List<Long> newRoots);

    /** btrfs_qgroup_trace_extent_post's walk failed: the qgroup numbers are inconsistent now (nothing by default). */
    default void traceExtentFailed(org.jbtrfs.core.BtrfsException e) { }

    /** kernel: btrfs_run_qgroups() — write dirty qgroup info items and the status item; true if it changed anything. */
    boolean runQgroups(TransHandle h);

    /** For a hang report: the qgroup state a waiter for the rescan depends on (the port's diagnostics; empty by default). */
    default String debugState() { return ""; }
}
