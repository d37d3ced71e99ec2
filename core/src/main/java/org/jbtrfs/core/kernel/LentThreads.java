package org.jbtrfs.core.kernel;

import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The JVM's real threads for kernel threads, shared by every loaded module — as one kernel's kthreadd
 * and kworker pools serve every filesystem. A module borrows a thread for a job (a kthread's function,
 * or a kworker's loop for as long as the module is loaded) with {@link #lend}; when the job returns the
 * thread is renamed back, cleared of any stray interrupt and parked here for the next job, of any
 * module. So loading a module, mounting and unmounting create no thread once the pool is warm: starting
 * and joining a Java thread costs ~100–300 µs here, handing a parked one a job a few µs.
 *
 * <p>"No thread left behind" is kept per module: a module waits for every {@link Lease} it took (the job
 * returned) before its unload completes, and from then on no thread runs any of its code. Threads idle
 * for {@link #IDLE_RETIRE_NANOS} leave the pool and end, so an idle JVM keeps none.
 *
 * <h2>Hand-off</h2>
 * A taker pops an idle thread, publishes the job in its volatile {@code job} field and unparks it; the
 * thread reads the field after each park. An idle thread that times out removes itself from the deque
 * before it exits: if the removal fails a taker has it and a job is coming, so it keeps waiting.
 */
public final class LentThreads {
    /** Idle time after which a pooled thread ends. */
    static final long IDLE_RETIRE_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** The one pool of the JVM. */
    public static final LentThreads SHARED = new LentThreads("jbtrfs-idle");

    private final String idlePrefix;
    private final long idleRetireNanos;
    private final ConcurrentLinkedDeque<Worker> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger created = new AtomicInteger();

    LentThreads(String idlePrefix) { this(idlePrefix, IDLE_RETIRE_NANOS); }

    LentThreads(String idlePrefix, long idleRetireNanos) {
        this.idlePrefix = idlePrefix;
        this.idleRetireNanos = idleRetireNanos;
    }

    /** A job running (or run) on a lent thread. */
    public static final class Lease {
        private final Thread thread;
        private final Object done = new Object();
        private boolean finished; // guarded by done

        Lease(Thread thread) { this.thread = thread; }

        /** The real thread running the job (it serves other jobs after this one). */
        public Thread thread() { return thread; }

        /** True once the job returned (or threw). */
        public boolean isDone() {
            synchronized (done) {
                return finished;
            }
        }

        /** Waits up to {@code nanos} for the job to return; true if it did. Interrupts are deferred. */
        public boolean await(long nanos) {
            long deadline = System.nanoTime() + nanos;
            boolean interrupted = false;
            synchronized (done) {
                try {
                    while (!finished) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return false;
                        }
                        try {
                            TimeUnit.NANOSECONDS.timedWait(done, left);
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                    return true;
                } finally {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }

        void finish() {
            synchronized (done) {
                finished = true;
                done.notifyAll();
            }
        }
    }

    /**
     * Runs {@code job} on a pooled thread named {@code name} (a new thread if none is idle) and returns at
     * once. The thread is a daemon: a job that never returns does not keep the JVM alive.
     */
    public Lease lend(String name, Runnable job) { return lend(name, job, null); }

    /**
     * {@link #lend(String, Runnable)}, and {@code returned} runs on the same thread once it is back in the
     * pool (renamed, interrupt cleared) and before the lease completes: whoever waits for the job's end
     * through {@code returned} then finds the thread ready for its next job.
     */
    public Lease lend(String name, Runnable job, Runnable returned) { return lend(name, job, returned, 0); }

    /**
     * {@link #lend(String, Runnable, Runnable)}; once back in the pool the thread polls for its next job for
     * {@code pollNanos} before it blocks ({@link IdlePoll}): a module that models no wake-up cost unmounts
     * and mounts again within microseconds, and its next kthread_run then finds the thread still polling.
     */
    public Lease lend(String name, Runnable job, Runnable returned, long pollNanos) {
        Worker w = idle.pollFirst(); // LIFO: the most recently parked thread is the warmest
        if (w == null) {
            w = new Worker(idlePrefix + "/" + created.incrementAndGet());
            w.start();
        }
        Lease lease = new Lease(w);
        w.setName(name); // named for the job before this returns, so the lender sees its thread by name at once
        w.hand(new Job(job, returned, lease, pollNanos));
        return lease;
    }

    /** Threads this pool created so far (alive or retired). */
    public int threadsCreated() { return created.get(); }

    /** Threads parked here now. */
    public int idleThreads() { return idle.size(); }

    private record Job(Runnable body, Runnable returned, Lease lease, long pollNanos) { }

    private final class Worker extends Thread {
        private final String idleName;
        private volatile Job job;

        Worker(String idleName) {
            super(idleName);
            this.idleName = idleName;
            setDaemon(true);
        }

        void hand(Job j) {
            job = j;
            LockSupport.unpark(this);
        }

        @Override
        public void run() {
            long pollNanos = 0;
            while (true) {
                Job j = awaitJob(pollNanos);
                if (j == null) {
                    return; // retired
                }
                job = null;
                pollNanos = j.pollNanos();
                try {
                    j.body().run();
                } catch (Throwable t) {
                    // the lender reports what its job throws; a throw that gets here must not kill the thread
                } finally {
                    Thread.interrupted(); // a stray interrupt must not reach the next job
                    setName(idleName);
                    // back in the pool before the lease completes, so a module that waits for its lease and
                    // then lends again reuses this thread
                    idle.addFirst(this);
                    try {
                        if (j.returned() != null) {
                            j.returned().run();
                        }
                    } finally {
                        j.lease().finish();
                    }
                }
            }
        }

        /** The next job, or null once idle too long (and removed from the pool). */
        private Job awaitJob(long pollNanos) {
            IdlePoll.poll(() -> job != null, pollNanos);
            long deadline = System.nanoTime() + idleRetireNanos;
            while (true) {
                Job j = job;
                if (j != null) {
                    return j;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (idle.remove(this)) {
                        return null;
                    }
                    // a taker already popped us: its job is on the way
                    deadline = System.nanoTime() + idleRetireNanos;
                    continue;
                }
                LockSupport.parkNanos(this, left);
                Thread.interrupted(); // idle: nothing to interrupt
            }
        }
    }
}
