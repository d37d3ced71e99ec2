package org.jbtrfs.qgroup;

/**
 * struct btrfs_qgroup (level 0 only: one per subvolume, id 0/subvolid): referenced and exclusive
 * bytes. Guarded by {@link Qgroups}' lock.
 */
public final class Qgroup {
    final long id;
    long rfer;
    long excl;
    boolean dirty;

    Qgroup(long id) { this.id = id; }

    public long id() { return id; }

    /** A snapshot of the counters. */
    public record Usage(long qgroupid, long referenced, long exclusive) { }
}
