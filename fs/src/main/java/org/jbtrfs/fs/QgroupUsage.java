package org.jbtrfs.fs;

/**
 * One row of {@code btrfs qgroup show}: a level-0 qgroup (its id is the subvolume id) with its referenced and
 * exclusive bytes.
 */
public record QgroupUsage(long qgroupid, long referenced, long exclusive) {
    /** The qgroup module's counters, copied into the API's record. */
    static QgroupUsage of(org.jbtrfs.qgroup.Qgroup.Usage u) {
        return new QgroupUsage(u.qgroupid(), u.referenced(), u.exclusive());
    }
}
