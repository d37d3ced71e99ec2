package org.jbtrfs.workqueue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.core.kernel.LentThreads;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.Role;
import org.jctools.queues.MpmcUnboundedXaddArrayQueue;

/**
 * The kworker pool of one loaded module: a fixed set of kworkers that run the works of every
 * {@link BtrfsWorkqueue} of every filesystem of that module (kernel: the unbound worker pools behind
 * alloc_workqueue(WQ_UNBOUND)).
 *
 * <p>Why one pool, on lent threads: starting and joining a Java thread costs ~100–330 µs here, so no
 * thread is created per queue or per mount — a mount only allocates queue objects — and none per module
 * either: each kworker is a loop run on a real thread lent by the JVM-wide {@link LentThreads} pool for
 * as long as the module is loaded, and given back at unload, when no thread serves the module any more.
 *
 * <h2>Design</h2>
 * Each sub-queue keeps its own pending works (an MPSC queue, see {@link SubQueue}). The pool only
 * sees <em>runnable sub-queues</em>: a sub-queue with pending work and a free concurrency slot puts a
 * token for itself on one of two MPMC queues, {@code high} (WQ_HIGHPRI sub-queues) or {@code normal},
 * and releases one permit of {@link #tokens}. An idle worker blocks on that semaphore (a real wait,
 * no spinning), takes a token, high first, and runs one work of that sub-queue. Per-sub-queue limits
 * (max_active, thresholds) are enforced by the sub-queue before it offers a token, so the pool itself
 * stays a plain FIFO of tokens and sub-queues are served round-robin.
 *
 * <p>Invariant: the permits plus the workers between acquire and poll never exceed the tokens on the
 * two queues, because a token is offered before its permit is released and only permit holders poll.
 */
public final class WorkerPool {
    private static final int CHUNK = 64;

    private final Kernel kernel;
    private final Kworker[] workers;
    private final MpmcUnboundedXaddArrayQueue<SubQueue> high = new MpmcUnboundedXaddArrayQueue<>(CHUNK);
    private final MpmcUnboundedXaddArrayQueue<SubQueue> normal = new MpmcUnboundedXaddArrayQueue<>(CHUNK);
    /** One permit per token on {@link #high} or {@link #normal}, plus one per worker at shutdown. */
    private final Semaphore tokens = new Semaphore(0);
    private final Set<BtrfsWorkqueue> liveQueues = ConcurrentHashMap.newKeySet();
    private final AtomicLong destroySeq = new AtomicLong();
    /** Kworkers in the blocking acquire: see {@link #idleKworkers()}. */
    private final AtomicInteger idle = new AtomicInteger();
    /** Written once by shutdown; workers read it after each acquire, which orders it (semaphore release/acquire). */
    private volatile boolean shutdown;
    /** system_wq, made by its first user; the kernel's own, never destroyed. Guarded by this. */
    private BtrfsWorkqueue systemWq;
    private BtrfsWorkqueue systemUnboundWq;

    /** A pool of {@code kernel.config().workerThreads()} threads. */
    public WorkerPool(Kernel kernel) {
        this(kernel, kernel.config().workerThreads());
    }

    /** A pool of {@code threads} kworkers, started now, named {@code <kernel>-kworker/u<threads>:<i>}. */
    public WorkerPool(Kernel kernel, int threads) {
        this(kernel, threads, LentThreads.SHARED);
    }

    /**
     * A pool with no kworker threads, for the model-checking tests: works run only when the test calls
     * {@link #tryRunToken} from a thread it controls (Lincheck's model checker drives every thread of an
     * execution itself, so none may run on threads it does not know).
     */
    static WorkerPool withoutKworkers(Kernel kernel) { return new WorkerPool(kernel, 0, null); }

    WorkerPool(Kernel kernel, int threads, LentThreads lender) {
        if (threads < (lender == null ? 0 : 1) || threads > 256) {
            throw new IllegalArgumentException("kworker pool size must be 1..256: " + threads);
        }
        this.kernel = kernel;
        this.workers = new Kworker[threads];
        for (int i = 0; i < threads; i++) {
            workers[i] = new Kworker(kernel.name() + "-kworker/u" + threads + ":" + i);
        }
        for (Kworker w : workers) {
            w.lease = lender.lend(w.name, w);
        }
    }

    public Kernel kernel() { return kernel; }

    /**
     * kernel: system_wq (kernel/workqueue.c), what schedule_work() queues on — a queue of the kernel's, not of any
     * filesystem: nothing btrfs tears down at umount flushes it, and module unload does not destroy it (its works
     * still running then are waited for as every kworker is, and reported if they do not return).
     *
     * @throws IllegalStateException the pool is shut down (module unloaded)
     */
    public synchronized BtrfsWorkqueue systemWq() {
        if (systemWq == null) {
            systemWq = BtrfsWorkqueue.allocPlain(this, "", "events", 256);
        }
        return systemWq;
    }

    /**
     * kernel: system_unbound_wq ("events_unbound") — the kernel's queue for works bound to no CPU, such as btrfs' async
     * metadata reclaim; like {@link #systemWq()} it belongs to no filesystem and is never destroyed.
     *
     * @throws IllegalStateException the pool is shut down (module unloaded)
     */
    public synchronized BtrfsWorkqueue systemUnboundWq() {
        if (systemUnboundWq == null) {
            systemUnboundWq = BtrfsWorkqueue.allocPlain(this, "", "events_unbound", 512);
        }
        return systemUnboundWq;
    }

    public int threads() { return workers.length; }

    public boolean isShutdown() { return shutdown; }

    /** Kworkers blocked waiting for work right now (a woken one pays LatencyModel's wake-up latency). */
    int idleKworkers() { return idle.get(); }

    /** Threads serving this pool's kworkers right now (none once it is shut down). */
    public List<Thread> liveThreads() {
        List<Thread> out = new ArrayList<>();
        for (Kworker w : workers) {
            LentThreads.Lease l = w.lease;
            if (l != null && !l.isDone()) {
                out.add(l.thread());
            }
        }
        return out;
    }

    /** Workqueues allocated on this pool and not destroyed yet, but the system ones (never destroyed). */
    public List<BtrfsWorkqueue> liveQueues() {
        BtrfsWorkqueue system;
        BtrfsWorkqueue unbound;
        synchronized (this) {
            system = systemWq;
            unbound = systemUnboundWq;
        }
        return liveQueues.stream().filter(q -> q != system && q != unbound).toList();
    }

    /** Module unload with the default bounded wait of 5 s; see {@link #shutdown(Duration)}. */
    public List<String> shutdown() { return shutdown(Duration.ofSeconds(5)); }

    /**
     * Module unload: stops every pool thread and joins it, waiting at most {@code timeout} in total.
     * Returns the names of threads still alive after that (a work that never returns), each also
     * logged. Workqueues not destroyed by then are a leak of the caller, logged too; their pending work
     * never runs. Idempotent.
     */
    public List<String> shutdown(Duration timeout) {
        synchronized (this) {
            if (!shutdown) {
                shutdown = true;
                for (BtrfsWorkqueue q : liveQueues) {
                    if (q == systemWq || q == systemUnboundWq) {
                        continue; // the kernel's, never destroyed
                    }
                    kernel.log().log(LogLevel.ERR, LogEntry.Kind.TEXT,
                        "workqueue: " + q.describe() + " was not destroyed before module unload");
                }
                // One permit per worker: each one wakes, sees `shutdown` and returns; a busy one does so
                // when its current work returns.
                tokens.release(workers.length);
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Kworker w : workers) {
            w.lease.await(Math.max(0, deadline - System.nanoTime()));
        }
        List<String> alive = new ArrayList<>();
        for (Kworker w : workers) {
            if (!w.lease.isDone()) {
                alive.add(w.name);
                kernel.log().log(LogLevel.ERR, LogEntry.Kind.TEXT,
                    "workqueue: " + w.name + " still running a work " + timeout.toMillis() + " ms after module unload");
            }
        }
        return alive;
    }

    void register(BtrfsWorkqueue q) {
        if (shutdown) {
            throw new IllegalStateException("kworker pool of " + kernel.name() + " is shut down (module unloaded)");
        }
        liveQueues.add(q);
    }

    /** Called by a destroyed workqueue: returns its position in this pool's destroy order. */
    long unregister(BtrfsWorkqueue q) {
        liveQueues.remove(q);
        return destroySeq.incrementAndGet();
    }

    /** A sub-queue won its SCHED bit: hand a token to the workers. */
    void makeRunnable(SubQueue sq) {
        (sq.high ? high : normal).offer(sq);
        tokens.release(); // after the offer: a permit always finds its token (see the class invariant)
    }

    /**
     * The pool and every live workqueue, for a hang report (the kernel's sysrq-t / show_workqueue_state):
     * free permits, queued tokens, idle kworkers, then one line per sub-queue.
     */
    public String debugState() {
        StringBuilder sb = new StringBuilder("workqueues: pool permits " + tokens.availablePermits() + ", tokens " + queuedTokens()
            + ", idle kworkers " + idle.get() + " of " + workers.length);
        for (BtrfsWorkqueue q : liveQueues) {
            for (String line : q.debugState().split("\n")) {
                sb.append("\n  ").append(line);
            }
        }
        return sb.toString();
    }

    /** Permits of {@link #tokens} free right now (the class invariant compares them with {@link #queuedTokens}). */
    int tokenPermits() { return tokens.availablePermits(); }

    /** Tokens on the two runnable queues right now. */
    int queuedTokens() { return high.size() + normal.size(); }

    /**
     * One step of a kworker that does not block: take a permit if one is free and run one work of the
     * token it stands for; false when there was none. The model-checking tests' kworker.
     */
    boolean tryRunToken(Kworker self) {
        if (!tokens.tryAcquire()) {
            return false;
        }
        runToken(self);
        return true;
    }

    /** A permit held: take a token (high first) and run one work of its sub-queue; an escaping throwable is an oops. */
    private void runToken(Kworker self) {
        try {
            takeRunnable().runOne(self);
        } catch (Throwable t) {
            kernel.log().uncaught(self.name, t);
        }
    }

    /** The high-first take. */
    private SubQueue takeRunnable() {
        while (true) {
            SubQueue sq = high.poll();
            if (sq == null) {
                sq = normal.poll();
            }
            if (sq != null) {
                return sq;
            }
            // By the invariant a token is on one of the queues; the two polls are not one atomic step,
            // so another permit holder may have taken it between them. Retry: someone made progress.
            Thread.onSpinWait();
        }
    }

    /** The kworker the calling thread runs, or null (the calling thread is no kworker of any pool). */
    static Kworker current() { return CURRENT.get(); }

    private static final ThreadLocal<Kworker> CURRENT = new ThreadLocal<>();

    /** One kworker of the unbound pool: a loop on a lent thread, for as long as the module is loaded. */
    final class Kworker implements Runnable {
        final String name;
        volatile LentThreads.Lease lease;
        /** The sub-queue whose work this kworker runs now; only its own thread writes and reads it. */
        SubQueue running;

        Kworker(String name) { this.name = name; }

        @Override
        public void run() {
            CURRENT.set(this);
            long wakeup = kernel.config().latency().wakeupNanos();
            try (Role.Scope serving = Role.WORKER.enter()) {
                while (true) {
                    boolean wasIdle = !tokens.tryAcquire();
                    if (wasIdle) {
                        idle.incrementAndGet();
                        tokens.acquireUninterruptibly();
                        idle.decrementAndGet();
                    }
                    if (shutdown) {
                        return;
                    }
                    if (wasIdle) {
                        // LatencyModel: an idle kworker woken for a work starts it only after the modelled
                        // wake-up latency (the kernel's woken kworker does not preempt its waker's kernel
                        // code); a busy one goes from work to work at once. Holding the permit keeps the
                        // token ours.
                        LatencyModel.delay(wakeup);
                    }
                    runToken(this);
                    Thread.interrupted(); // a work's stray interrupt must not reach the next work
                }
            } finally {
                CURRENT.remove();
            }
        }
    }
}
