package org.jbtrfs.transaction;

/**
 * The qgroup layer's part of a commit, installed in {@link FsInfo#qgroupHooks} when quotas are
 * enabled: the kernel calls up into qgroup.c from the commit path (btrfs_qgroup_account_extents,
 * btrfs_run_qgroups in commit_cowonly_roots).
 */
public interface QgroupHooks {
    /** kernel: btrfs_qgroup_account_extent() — an extent owned by {@code ownerRoot} appeared (add) or went away. */
    void accountExtent(long ownerRoot, long bytenr, long numBytes, boolean add);

    /** kernel: btrfs_run_qgroups() — write dirty qgroup info items and the status item; true if it changed anything. */
    boolean runQgroups(TransHandle h);

    /** For a hang report: the qgroup state a waiter for the rescan depends on (the port's diagnostics; empty by default). */
    default String debugState() { return ""; }
}
