package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelLog;

/**
 * Whether a kernel object was freed while others may still reach it (a root's last btrfs_put_root, reset_balance_state's
 * kfree of balance_ctl, btrfs_free_fs_info): nothing until {@link #free}, then every {@link #use} is the
 * {@link Lifetime}'s KASAN report.
 */
public final class FreedSlot {
    private volatile Lifetime freed;

    /** kfree of the object {@code what} names: poisoned from now on; the latest free is the one a report names. */
    public synchronized void free(KernelLog log, String what) {
        Lifetime l = new Lifetime(log, what);
        l.free();
        freed = l;
    }

    /** Checks the object is not freed before {@code function} dereferences it. */
    public void use(String function) {
        Lifetime l = freed;
        if (l != null) {
            l.use(function);
        }
    }
}
