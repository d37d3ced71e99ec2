package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kthreadd;
import org.jbtrfs.core.kernel.LentThreads;

/**
 * What the thread arriving at a hook is doing for the kernel: the cleaner kthread, the transaction
 * kthread, a kworker running the qgroup rescan worker or any other work, another kthread, or a user task
 * (mount, remount, umount, sync, the test itself — any thread nobody marked).
 *
 * <p>Why roles: the same kernel function runs in several callers. btrfs_run_delayed_iputs runs in the
 * cleaner, in a remount RO (patch 5/5) and in btrfs_commit_super, so a park at
 * {@link Hook#CLEANER_BEFORE_DELAYED_IPUT} meant for the cleaner catches whichever thread gets there
 * first. {@link HookAction#onlyFor} restricts an action to roles; other arrivals pass through untouched.
 *
 * <h2>How a thread gets its role</h2>
 * Not from its name: kthreads and kworkers are real threads lent by the JVM-wide {@link LentThreads} pool
 * and renamed for each job, and a kworker's name says nothing of the work it runs. The code that runs the
 * job marks the thread for exactly as long as it serves: {@link Kthreadd#run} for a kthread's function
 * (CLEANER for "btrfs-cleaner", TRANSACTION_KTHREAD for "btrfs-transaction"), the workqueue's kworker loop
 * (WORKER), and the qgroup code for the rescan work (RESCAN_WORKER, nested inside WORKER). The mark is a
 * thread-local read only on a hook's slow path (something armed or listening).
 */
public enum Role {
    /** The btrfs-cleaner kthread (cleaner_kthread). */
    CLEANER,
    /** The btrfs-transaction kthread (transaction_kthread). */
    TRANSACTION_KTHREAD,
    /** A kworker running btrfs_qgroup_rescan_worker. */
    RESCAN_WORKER,
    /** A kworker running any other work (endio, async checksums, a delayed iput queued from a worker...). */
    WORKER,
    /** A kthread started without a btrfs role of its own (btrfs-uuid, tests' own kthreads). */
    KTHREAD,
    /** A user task: mount, remount, umount, sync, a test thread — every thread not marked otherwise. */
    USER;

    private static final ThreadLocal<Role> CURRENT = new ThreadLocal<>();

    /** The calling thread's role: the innermost {@link #enter} not yet closed, or {@link #USER}. */
    public static Role current() {
        Role r = CURRENT.get();
        return r == null ? USER : r;
    }

    /**
     * Marks the calling thread as serving this role until the returned scope is closed, which restores the
     * role it had before (scopes nest: a kworker running the rescan work is RESCAN_WORKER, then WORKER again).
     * Use with try-with-resources, on the thread that serves.
     */
    public Scope enter() {
        Role outer = CURRENT.get();
        CURRENT.set(this);
        return new Scope(this, outer, Thread.currentThread());
    }

    /** {@code job}, run under this role (for a work handed to a kworker). */
    public Runnable wrap(Runnable job) {
        return () -> {
            try (Scope s = enter()) {
                job.run();
            }
        };
    }

    /** An {@link #enter}ed role; closing it restores the thread's previous role. */
    public static final class Scope implements AutoCloseable {
        private final Role role;
        private final Role outer;
        private final Thread thread;

        private Scope(Role role, Role outer, Thread thread) {
            this.role = role;
            this.outer = outer;
            this.thread = thread;
        }

        @Override
        public void close() {
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("role scope " + role + " closed by " + Thread.currentThread().getName()
                    + ", entered by " + thread.getName());
            }
            if (outer == null) {
                CURRENT.remove(); // a pooled thread goes back to the pool unmarked
            } else {
                CURRENT.set(outer);
            }
        }
    }
}
