package org.jbtrfs.cleaner;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.AtomicVar;
import org.jbtrfs.core.kernel.Kthread;
import org.jbtrfs.transaction.FsInfo;

/** Delayed iputs (inode.c): final iputs deferred from contexts that must not evict, run by the cleaner. */
public final class DelayedIputs {
    private final FsInfo fs;
    private final Inodes inodes;
    /** fs_info->delayed_iputs, guarded by itself (delayed_iput_lock). */
    private final ArrayDeque<Inode> list = new ArrayDeque<>();
    /** fs_info->nr_delayed_iputs */
    private final AtomicVar nr;
    /**
     * Who queued each pending inode (thread and callers), guarded by {@link #list}: what a crash dump's stack of the
     * queueing task would say — the triage of a delayed iput left at umount needs it (stop 62).
     */
    private final java.util.Map<Inode, String> origins = new java.util.IdentityHashMap<>();
    private static final StackWalker WALKER = StackWalker.getInstance();

    public DelayedIputs(FsInfo fs, Inodes inodes) {
        this.fs = fs;
        this.inodes = inodes;
        this.nr = new AtomicVar(fs.kernel.sched());
    }

    /**
     * kernel: btrfs_add_delayed_iput() in fs/btrfs/inode.c — not the last reference: just drop it.
     * Otherwise queue the inode and wake the cleaner, but only if it is not running: a cleaner in the
     * middle of a pass is expected to come back (which is the patch 5/5 window once it goes to sleep
     * for good on an RO remount).
     */
    public void add(Inode inode) {
        int c;
        do {
            c = inode.count.get();
            if (c <= 1) {
                break;
            }
        } while (!inode.count.compareAndSet(c, c - 1));
        if (c > 1) {
            return;
        }
        nr.inc();
        String origin = origin();
        synchronized (list) {
            list.addLast(inode);
            origins.put(inode, origin);
        }
        fs.kernel.hooks().arrive(Hook.DELAYED_IPUT_ADDED);
        if (fs.applied(FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK)) {
            nr.wake(); // proposed: wake delayed_iputs_wait too — a reclaim work waiting there runs this one itself
        }
        Kthread cleaner = fs.cleanerKthread();
        if (cleaner != null && !fs.flags.test(FsFlag.CLEANER_RUNNING)) {
            cleaner.wakeUpProcess();
        }
    }

    /**
     * kernel: btrfs_run_delayed_iputs() — pop entries one at a time and iput each (an unlinked inode's
     * eviction starts a transaction).
     */
    public void run() {
        while (true) {
            Inode inode;
            synchronized (list) {
                inode = list.pollFirst();
                if (inode != null) {
                    origins.remove(inode); // queued once: only the last reference is (btrfs_add_delayed_iput)
                }
            }
            if (inode == null) {
                return;
            }
            fs.kernel.hooks().arrive(Hook.CLEANER_BEFORE_DELAYED_IPUT);
            try {
                inodes.iput(inode);
            } finally {
                nr.dec();
            }
        }
    }

    /**
     * kernel: btrfs_wait_on_delayed_iputs() (killable in the kernel; uninterruptible here, ended by a panic) — the
     * async reclaim work's RUN_DELAYED_IPUTS state, after its btrfs_run_delayed_iputs. An iput queued after that run
     * waits for the cleaner; a cleaner waiting on a metadata ticket (its btrfs_delete_unused_bgs) waits for this work:
     * {@link FixSwitch#RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK}. Applied, the wait runs what is queued meanwhile.
     */
    public void waitOnDelayedIputs() {
        if (!fs.applied(FixSwitch.RECLAIM_DELAYED_IPUTS_CLEANER_DEADLOCK)) {
            nr.waitForZero("btrfs_wait_on_delayed_iputs");
            return;
        }
        while (true) {
            nr.waitForZeroOr("btrfs_wait_on_delayed_iputs", () -> !isEmpty());
            if (isEmpty()) {
                return; // nr_delayed_iputs reached 0
            }
            run();
        }
    }

    /** list_empty(&fs_info->delayed_iputs) */
    public boolean isEmpty() {
        synchronized (list) {
            return list.isEmpty();
        }
    }

    /** The thread that queues an inode and the first callers outside this class, e.g. "kworker/u4:3 at A.b < C.d". */
    private static String origin() {
        String callers = WALKER.walk(frames -> frames
            .filter(f -> !f.getClassName().equals(DelayedIputs.class.getName()))
            .limit(3)
            .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
            .collect(java.util.stream.Collectors.joining(" < ")));
        return Thread.currentThread().getName() + " at " + callers;
    }

    /** The pending inodes with who queued each: "inode N of root R (queued by T at A.b < C.d)" (inspection). */
    public List<String> pendingWithOrigins() {
        synchronized (list) {
            return list.stream().map(i -> i + " (queued by " + origins.get(i) + ")").toList();
        }
    }

    /** The pending inodes (inspection). */
    public List<Inode> pending() {
        synchronized (list) {
            return new ArrayList<>(list);
        }
    }
}
