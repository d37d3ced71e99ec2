package org.jbtrfs.stress.schedule;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.Hook;
import org.jbtrfs.stress.Seeds;

/**
 * One cycle's schedule perturbation: what each hook arrival does to the arriving thread.
 *
 * <p>The plan is PCT-like: most arrivals do nothing, some yield, some sleep 50 µs–3 ms, and a few
 * "focus" hooks, drawn per cycle, delay most of their arrivals for longer. Uniform noise alone rarely
 * holds one thread inside a narrow window while another thread runs a whole remount; a focused
 * window does, and drawing the focus per cycle spreads it over every window across a run. Some
 * cycles are quiet (no perturbation), so natural timing is sampled too.
 *
 * <p>Every decision of one role comes, in order, from that role's own stream, so a role's decisions do
 * not depend on how its arrivals interleave with other roles'.
 */
public final class Schedule {
    /** A decision: sleep {@code nanos} (0 none), or yield. */
    record Decision(long nanos, boolean yield) {
        static final Decision NONE = new Decision(0, false);

        String describe() {
            if (yield) {
                return "[yield]";
            }
            return nanos == 0 ? "" : String.format(Locale.ROOT, "[sleep %.2fms]", nanos / 1e6);
        }
    }

    private final long cycleSeed;
    private final boolean quiet;
    private final double pDelay;
    private final double pYield;
    private final Set<Hook> focus = EnumSet.noneOf(Hook.class);
    private final double pFocus;
    private final Set<Hook> laterFocus = EnumSet.noneOf(Hook.class);
    private final Map<String, SplittableRandom> streams = new ConcurrentHashMap<>();

    public Schedule(long cycleSeed) {
        this.cycleSeed = cycleSeed;
        SplittableRandom plan = Seeds.stream(cycleSeed, "plan");
        quiet = plan.nextDouble() < 0.15;
        pDelay = 0.02 + 0.18 * plan.nextDouble();
        pYield = 0.10 * plan.nextDouble();
        int n = 1 + plan.nextInt(3);
        Hook[] all = PERTURBED;
        for (int i = 0; i < n; i++) {
            focus.add(all[plan.nextInt(all.length)]);
        }
        pFocus = 0.4 + 0.5 * plan.nextDouble();
        SplittableRandom later = Seeds.stream(cycleSeed, "plan:later-hooks");
        for (Hook h : LATER_HOOKS) {
            if (!quiet && later.nextDouble() < P_LATER_FOCUS && !NEVER_FOCUSED.contains(h)) {
                laterFocus.add(h);
            }
        }
    }

    /** No perturbation at all (the minimal workload, and quiet cycles). */
    static Schedule none() { return new Schedule(); }

    private Schedule() {
        cycleSeed = 0;
        quiet = true;
        pDelay = 0;
        pYield = 0;
        pFocus = 0;
    }

    Set<Hook> focus() { return focus; }

    /** The hooks added after the schedules were fixed that this cycle focuses on. */
    Set<Hook> laterFocus() { return laterFocus; }

    boolean quiet() { return quiet; }

    /**
     * Hooks reached once per bio, per ordered extent or per tree block (a COW, a block locked for writeback):
     * since issue 10 (data writeback, sync_inodes_sb) hundreds of times in some cycles, and every sync waits
     * for them. They get a tenth of the perturbation, so that one cycle's delay budget stays in proportion with
     * the other windows; the draws are the same, so a role's decisions still come in order from its own stream.
     */
    static final Set<Hook> PER_BIO = EnumSet.of(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, Hook.DATA_BIO_BEFORE_CSUM,
        Hook.TRANS_END_BEFORE_KTHREAD_WAKE,
        Hook.ORDERED_EXTENT_BEFORE_FINISH,
        Hook.ORDERED_EXTENT_AFTER_REMOVE, Hook.TREE_BLOCK_ALLOCATED, Hook.COW_BLOCK_COPIED, Hook.BTREE_LOCKED_FOR_IO,
        Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT);
    private static final double PER_BIO_SCALE = 0.1;

    /**
     * Hooks added for reproducers after the explorer's schedules were fixed. They are drawn and decided from streams
     * of their own ("plan:later-hooks", "later:" + role), so every seed's focus set and every role's stream of
     * decisions at the other hooks stay what they were (a replay token of an earlier run still replays its choices).
     * Each is a focus of a non-quiet cycle with probability {@link #P_LATER_FOCUS}, and only a focus delays there:
     * they mark windows no other hook opens — the rescan ioctl between its commit and its queueing (a whole quota
     * disable and enable of another process must fit there), quota enable between its commit and its rescan's
     * init, a wait for the rescan between its test of qgroup_rescan_running and its sleep (stop 21: drawn after the
     * others, so their draws stay), a data bio's checksum step on fs_info->workers (a kworker waiting for a CPU:
     * its ordered extent outlives close_ctree's flushes), close_ctree's btrfs_error_commit_super and
     * btrfs_end_transaction between dropping its writer count and testing for an abort (stop 22), a lookup between
     * adding a dentry and returning its inode (stop 25: a remount's dcache shrink meets it there), an fsync between its
     * test of the inode and its transaction (stop 25), data writeback between taking an inode's dirty pages and adding
     * their ordered extent (stop 26: btrfs_reserve_extent may sleep there), a delayed-meta work between taking its
     * node and joining a transaction (stop 27: the handle's GFP_NOFS allocation may sleep in reclaim), a compressed write's
     * async chunk before it compresses (stop 28: get_workspace sleeps while every workspace is in use) and before its last
     * step drops its inode reference (stop 28), the cleaner's autodefrag before it re-dirties a cluster (stop 31: the
     * delalloc reservation may flush, the pages not cached are read), and the btrfs-uuid kthread before its next root item
     * (stop 32: its cond_resched between subvolumes, a search that reads a leaf), and an abort's cleanup between its
     * wait for the ordered extents and its delalloc inodes (stop 34: btrfs_wait_ordered_roots' flush works and waits
     * end there), an eviction between its truncate's handle and its orphan item's (stop 35: evict_refill_and_join's
     * refill may flush), scrub before it marks a block group read-only (stop 52: its join may wait for a commit), and a
     * commit between waking its waiters (COMPLETED) and taking the transaction off trans_list (stop 53: the waker of a
     * woken task, preempted by it; a kworker's commit only — every other committer is waited for by whatever it
     * committed for: its own umount, kthread_stop, s_umount, an open descriptor — so a delay of theirs there would only
     * slow the cycle), and the delayed-refs refill woken from its metadata ticket before it adds its bytes (stop 57: the woken
     * task's wait for a CPU; the hook is reached only after a sleep on a ticket), and 5.12's preemptive reclaim work between its
     * test and its flush state (stop 57: the join's GFP_NOFS handle allocation may sleep in reclaim, as stop 27's), and a
     * reclaim work's delalloc flush between writing an inode and handing its reference to the delayed iputs (stop 62: a
     * kworker that ran filemap_fdatawrite_wbc, preempted there), and a replace's finishing between its commit and its
     * state change (stop 72: mutex_lock of device_list_mutex and chunk_mutex, each may sleep; a committer woken at
     * the end of that commit runs on).
     * Each
     * follows a lock or a commit the thread slept in, so a delay there is the
     * run-queue wait of a woken task. Not
     * REMOUNT_RW_AFTER_PRE_RW_MOUNT: between btrfs_qgroup_rescan_resume's queueing and clearing REMOUNTING the remount
     * does not sleep, and a PREEMPT_NONE kernel does not deschedule it there (docs/latency-model.md, measured), so a
     * delay would make the resumed rescan pause again by an order the kernel does not take. Nor
     * MNT_IS_READONLY_AFTER_REMOUNT_TEST (stop 35): two loads apart in mnt_is_readonly, nothing sleeps there.
     */
    static final Set<Hook> LATER_HOOKS = EnumSet.of(Hook.REMOUNT_RW_AFTER_PRE_RW_MOUNT,
        Hook.QGROUP_RESCAN_IOCTL_BEFORE_QUEUE, Hook.QGROUP_ENABLE_BEFORE_RESCAN_INIT, Hook.QGROUP_WAIT_BEFORE_SLEEP,
        Hook.DATA_BIO_BEFORE_CSUM, Hook.UMOUNT_BEFORE_ERROR_COMMIT_SUPER, Hook.TRANS_END_BEFORE_KTHREAD_WAKE, Hook.DENTRY_ADDED,
        Hook.FSYNC_BEFORE_START_TRANSACTION, Hook.DATA_WRITEBACK_BEFORE_ORDERED_EXTENT, Hook.DELAYED_WORKER_BEFORE_JOIN,
        Hook.ASYNC_COW_BEFORE_COMPRESS, Hook.ASYNC_COW_BEFORE_FREE, Hook.DEFRAG_BEFORE_CLUSTER, Hook.UUID_SCAN_NEXT_ROOT,
        Hook.DISCARD_WORKFN_BEFORE_PEEK, Hook.CLEANUP_BEFORE_DELALLOC_INODES, Hook.MNT_IS_READONLY_AFTER_REMOUNT_TEST,
        Hook.EVICT_BEFORE_ORPHAN_DEL, Hook.DROP_EXTENTS_AFTER_SEARCH, Hook.BTREE_WRITEBACK_CLAIMED,
        Hook.BTREE_WRITEBACK_BEFORE_WRITTEN_FLAG, Hook.SCRUB_BEFORE_INC_BLOCK_GROUP_RO, Hook.SCRUB_STRIPE,
        Hook.COMMIT_AFTER_UNBLOCKED, Hook.COMMIT_AFTER_COMPLETED, Hook.ASYNC_RECLAIM_BEFORE_FLUSH,
        Hook.ASYNC_RECLAIM_AFTER_FLUSH, Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS, Hook.ASYNC_RECLAIM_BEFORE_CLEAR_PENDING,
        Hook.ASYNC_RECLAIM_BEFORE_RETURN, Hook.ASYNC_DATA_RECLAIM_BEFORE_FLUSH, Hook.ASYNC_DATA_RECLAIM_BEFORE_CLEAR_PENDING,
        Hook.ASYNC_DATA_RECLAIM_BEFORE_RETURN, Hook.DELAYED_REFS_REFILL_BEFORE_ADD,
        Hook.PREEMPT_RECLAIM_BEFORE_FLUSH, Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT, Hook.BALANCE_KTHREAD_BEFORE_MUTEX,
        Hook.BALANCE_NEXT_CHUNK, Hook.DELAYED_WORKER_AFTER_JOIN, Hook.DEV_REPLACE_KTHREAD_BEFORE_SCRUB,
        Hook.SCRUB_BEFORE_RUNNING, Hook.DEV_REPLACE_NEXT_CHUNK, Hook.DEV_REPLACE_START_BEFORE_TRANSACTION,
        Hook.DEV_REPLACE_RESUME_BEFORE_EXCLOP, Hook.DEV_REPLACE_BEFORE_FINISHING, Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX,
        Hook.ADD_INODE_DEFRAG_BEFORE_INSERT, Hook.DEV_REPLACE_FINISHING_AFTER_COMMIT);
    /**
     * Later hooks never focused: no sleep of the kernel's is there to lengthen ({@link #LATER_HOOKS}; btrfs_resize_thread_pool
     * between its load of the scrub queue and its store, stop 67, two instructions apart; a commit after
     * UNBLOCKED, stop 53, is the tests' window for the sync barrier: its IO waits are the device's); and scrub's stripe
     * hook, reached once per 64 KiB of every block group (hundreds per scrub): its cond_resched is the kind of
     * point the per-bio hooks are, and a focus there would hold one scrub for seconds.
     */
    private static final Set<Hook> NEVER_FOCUSED = EnumSet.of(Hook.REMOUNT_RW_AFTER_PRE_RW_MOUNT,
        Hook.MNT_IS_READONLY_AFTER_REMOUNT_TEST, Hook.DROP_EXTENTS_AFTER_SEARCH, Hook.BTREE_WRITEBACK_CLAIMED,
        Hook.BTREE_WRITEBACK_BEFORE_WRITTEN_FLAG, Hook.SCRUB_STRIPE, Hook.COMMIT_AFTER_UNBLOCKED, Hook.BALANCE_NEXT_CHUNK,
        Hook.RESIZE_THREAD_POOL_BEFORE_SCRUB_SET_MAX);
    /** How often a non-quiet cycle focuses on each hook of {@link #LATER_HOOKS}. */
    static final double P_LATER_FOCUS = 0.3;
    /**
     * The longest delay at a focused later hook. Their windows are another process's whole command (a quota disable
     * and enable, each committing a transaction), longer than the 3 ms of the other focus hooks: a task woken at the
     * end of its commit can wait as long for a CPU on a loaded machine.
     */
    static final long LATER_FOCUS_MAX_NANOS = 20_000_000;
    /** The focus candidates, in declaration order (the hooks the explorer had when its schedules were fixed). */
    private static final Hook[] PERTURBED = java.util.Arrays.stream(Hook.values()).filter(h -> !LATER_HOOKS.contains(h))
        .toArray(Hook[]::new);

    Decision decide(String role, Hook hook) {
        if (quiet) {
            return Decision.NONE;
        }
        boolean later = LATER_HOOKS.contains(hook);
        if (later && (!laterFocus.contains(hook) || hook == Hook.COMMIT_AFTER_COMPLETED && !role.equals(Roles.KWORKER))) {
            return Decision.NONE;
        }
        String stream = (later ? "later:" : "role:") + role;
        SplittableRandom r = streams.computeIfAbsent(stream, k -> Seeds.stream(cycleSeed, k));
        double u;
        double v;
        synchronized (r) {
            u = r.nextDouble();
            v = r.nextDouble();
        }
        double scale = PER_BIO.contains(hook) ? PER_BIO_SCALE : 1.0;
        if (later) {
            return u < pFocus * scale ? new Decision(logUniform(v, 200_000, LATER_FOCUS_MAX_NANOS), false) : Decision.NONE;
        }
        if (focus.contains(hook) && u < pFocus * scale) {
            return new Decision(logUniform(v, 200_000, 3_000_000), false);
        }
        if (u < pDelay * scale) {
            return new Decision(logUniform(v, 50_000, 1_500_000), false);
        }
        if (u < (pDelay + pYield) * scale) {
            return new Decision(0, true);
        }
        return Decision.NONE;
    }

    private static long logUniform(double u, long lo, long hi) {
        return (long) (lo * Math.pow((double) hi / lo, u));
    }

    @Override
    public String toString() {
        if (quiet) {
            return "quiet";
        }
        java.util.Set<Hook> all = EnumSet.copyOf(focus);
        all.addAll(laterFocus);
        return String.format(Locale.ROOT, "delay %.2f yield %.2f focus %s at %.2f", pDelay, pYield, all, pFocus);
    }
}
