package org.jbtrfs.stress.schedule;

import java.util.List;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.StressOptions;

/**
 * Thread roles: the name a thread's decision stream and timeline column are keyed by. Kthreads are
 * pooled real threads renamed for the role they serve ("btrfs-cleaner"), kworkers are pool threads
 * whose role depends on the work they run, so the rescan worker is recognised by its hooks.
 */
public final class Roles {
    public static final String DRIVER = "driver";
    public static final String CLEANER = "btrfs-cleaner";
    static final String TRANSACTION = "btrfs-transaction";
    static final String RESCAN = "rescan-worker";
    public static final String KWORKER = "kworker";
    /** The lanes of a lanes cycle, by the label their threads and busy marks carry (LaneKind's labels). */
    public static final List<String> LANES = StressOptions.LANES;

    private Roles() { }

    static String of(Thread t, Thread driver, Hook hook) {
        if (t == driver) {
            return DRIVER;
        }
        String name = t.getName();
        if (name.startsWith("lane:")) {
            int a = name.indexOf(':', 5);
            return a > 0 ? name.substring(5, a) : name.substring(5);
        }
        if (name.equals(CLEANER)) {
            return CLEANER;
        }
        if (name.equals(TRANSACTION)) {
            return TRANSACTION;
        }
        if (hook == Hook.QGROUP_RESCAN_BEFORE_LEAF || hook == Hook.QGROUP_RESCAN_BEFORE_STATUS_UPDATE) {
            return RESCAN;
        }
        if (name.contains("kworker")) {
            return KWORKER;
        }
        return "other:" + name;
    }
}
