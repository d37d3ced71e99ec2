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
 * The kworker pool of one loaded module: the kworkers that run the works of every {@link BtrfsWorkqueue} of every
 * filesystem of that module (kernel: the unbound worker pools behind alloc_workqueue(WQ_UNBOUND)). It starts with
 * {@code threads} kworkers and grows as the kernel's pool does: a kworker woken for a work that finds no other idle
 * kworker left first creates one (worker_thread's {@code may_start_working} / {@code manage_workers} /
 * {@code maybe_create_worker}), so a work queued while every kworker is blocked inside a work still starts — only a
 * queue's max_active limits how many of its works run. Kworkers beyond the first {@code threads} leave after
 * {@link #IDLE_WORKER_TIMEOUT_NANOS} idle while the pool has too many idle ones ({@code idle_worker_timeout},
 * {@code too_many_workers}).
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

    /** kernel: IDLE_WORKER_TIMEOUT (300 * HZ) — how long an idle kworker beyond the pool's first ones stays. */
    static final long IDLE_WORKER_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(300);
    /** kernel: MAX_IDLE_WORKERS_RATIO — one idle kworker in four busy ones is not too many. */
    private static final int MAX_IDLE_WORKERS_RATIO = 4;
    /**
     * A bound the kernel does not have (its pools grow until memory or the pid limit says no): a module whose works
     * block by the thousand is a bug of the port, better reported than served by ever more threads.
     */
    static final int MAX_KWORKERS = 1024;

    private final Kernel kernel;
    /** The first kworkers, never retired; named {@code u<threads>}. */
    private final int threads;
    /** The live kworkers; changed under this object's lock. */
    private final List<Kworker> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Lends the kworkers their threads; null: a pool without kworkers (the model-checking tests'), which never grows. */
    private final LentThreads lender;
    /** Whether a kworker that finds no other idle creates one: the kernel's pool does; {@link #fixedSize} does not. */
    private final boolean grows;
    /** {@link #IDLE_WORKER_TIMEOUT_NANOS}, shorter in the retirement test. */
    private final long idleTimeoutNanos;
    private int nextId;
    /** {@link #MAX_KWORKERS} was reached and said so (once per pool). Guarded by this. */
    private boolean boundReported;
    /** Retired kworkers whose loop may not have returned yet: unload waits for them too. Guarded by this. */
    private final List<Kworker> retired = new ArrayList<>();
    private final MpmcUnboundedXaddArrayQueue<SubQueue> high = new MpmcUnboundedXaddArrayQueue<>(CHUNK);
    private final MpmcUnboundedXaddArrayQueue<SubQueue> normal = new MpmcUnboundedXaddArrayQueue<>(CHUNK);
    /** One permit per token on {@link #high} or {@link #normal}, plus one per worker at shutdown. */
    private final Semaphore tokens = new Semaphore(0);
    private final Set<BtrfsWorkqueue> liveQueues = ConcurrentHashMap.newKeySet();
    private final AtomicLong destroySeq = new AtomicLong();
    /** Kworkers in the blocking acquire, and created ones not there yet (kernel: pool->nr_idle): see {@link #idleKworkers()}. */
    private final AtomicInteger idle = new AtomicInteger();
    /** Written once by shutdown; workers read it after each acquire, which orders it (semaphore release/acquire). */
    private volatile boolean shutdown;
    /** system_wq, made by its first user; the kernel's own, never destroyed. Guarded by this. */
    private BtrfsWorkqueue systemWq;
    private BtrfsWorkqueue systemUnboundWq;
    private BtrfsWorkqueue bdiWq;

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

    WorkerPool(Kernel kernel, int threads, LentThreads lender) { this(kernel, threads, lender, true, IDLE_WORKER_TIMEOUT_NANOS); }

    /**
     * A pool of {@code threads} kworkers that never grows: for the tests of the order in which queued tokens are
     * taken, which a growing pool serves as they come (a test plugs the one kworker and queues behind it).
     */
    static WorkerPool fixedSize(Kernel kernel, int threads) {
        return new WorkerPool(kernel, threads, LentThreads.SHARED, false, IDLE_WORKER_TIMEOUT_NANOS);
    }

    WorkerPool(Kernel kernel, int threads, LentThreads lender, boolean grows, long idleTimeoutNanos) {
        if (threads < (lender == null ? 0 : 1) || threads > 256) {
            throw new IllegalArgumentException("kworker pool size must be 1..256: " + threads);
        }
        this.kernel = kernel;
        this.threads = threads;
        this.lender = lender;
        this.grows = grows;
        this.idleTimeoutNanos = idleTimeoutNanos;
        synchronized (this) {
            for (int i = 0; i < threads; i++) {
                createWorker(false);
            }
        }
    }

    /**
     * kernel: create_worker() — a new kworker, counted idle from the start (worker_enter_idle before its first wake-up),
     * so that two kworkers woken at once do not both create one. Called holding this object's lock.
     */
    private void createWorker(boolean retirable) {
        Kworker w = new Kworker(kernel.name() + "-kworker/u" + threads + ":" + nextId++, retirable);
        idle.incrementAndGet();
        workers.add(w);
        w.lease = lender.lend(w.name, w);
    }

    /**
     * kernel: manage_workers() → maybe_create_worker(), run by a kworker about to start a work when no other kworker
     * of the pool is idle: one more, so a work queued next finds a kworker to run it. Nothing after unload; nothing in
     * a pool without kworkers; nothing past {@link #MAX_KWORKERS} (logged once it is reached).
     */
    private synchronized void maybeCreateWorker() {
        if (shutdown || !grows || lender == null || idle.get() > 0) {
            return;
        }
        if (workers.size() >= MAX_KWORKERS) {
            if (!boundReported) {
                boundReported = true;
                kernel.log().log(LogLevel.ERR, LogEntry.Kind.TEXT, "workqueue: " + workers.size()
                    + " kworkers busy and none idle: not creating more");
            }
            return;
        }
        createWorker(true);
    }

    /**
     * kernel: too_many_workers() — more than two idle kworkers, and the idle ones beyond two at least a quarter of
     * the busy ones. Called holding this object's lock, by an idle kworker (one of the idle count).
     */
    private boolean tooManyWorkers() {
        int nrIdle = idle.get();
        int nrBusy = workers.size() - nrIdle;
        return nrIdle > 2 && (nrIdle - 2) * MAX_IDLE_WORKERS_RATIO >= nrBusy;
    }

    /**
     * kernel: idle_worker_timeout() → destroy_worker() — an idle kworker past the timeout leaves if the pool has too
     * many idle ones (never one of the first {@code threads}, nor after unload: unload's permits are counted for it).
     */
    private synchronized boolean retire(Kworker w) {
        if (shutdown || !tooManyWorkers()) {
            return false;
        }
        workers.remove(w);
        idle.decrementAndGet();
        retired.removeIf(r -> r.lease.isDone());
        retired.add(w);
        return true;
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

    /**
     * kernel: bdi_wq ("writeback", mm/backing-dev.c) — where the flusher's wb_workfn runs the writeback works that
     * writeback_inodes_sb and its kin queue (bdi_split_work_to_wbs); like {@link #systemWq()} the kernel's, never
     * destroyed.
     *
     * @throws IllegalStateException the pool is shut down (module unloaded)
     */
    public synchronized BtrfsWorkqueue bdiWq() {
        if (bdiWq == null) {
            bdiWq = BtrfsWorkqueue.allocPlain(this, "", "writeback", 512);
        }
        return bdiWq;
    }

    /** The kworkers the pool started with (it may have more now: {@link #kworkers()}). */
    public int threads() { return threads; }

    /** The kworkers alive now: the first {@link #threads()} and those created since and not retired. */
    public int kworkers() { return workers.size(); }

    public boolean isShutdown() { return shutdown; }

    /** Kworkers blocked waiting for work right now (a woken one pays LatencyModel's wake-up latency). */
    int idleKworkers() { return idle.get(); }

    /** Threads serving this pool's kworkers right now (none once it is shut down and they returned). */
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
        BtrfsWorkqueue bdi;
        synchronized (this) {
            system = systemWq;
            unbound = systemUnboundWq;
            bdi = bdiWq;
        }
        return liveQueues.stream().filter(q -> q != system && q != unbound && q != bdi).toList();
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
                    if (q == systemWq || q == systemUnboundWq || q == bdiWq) {
                        continue; // the kernel's, never destroyed
                    }
                    kernel.log().log(LogLevel.ERR, LogEntry.Kind.TEXT,
                        "workqueue: " + q.describe() + " was not destroyed before module unload");
                }
                // One permit per worker: each one wakes, sees `shutdown` and returns; a busy one does so
                // when its current work returns. None is created or retired from here on.
                tokens.release(workers.size());
            }
        }
        List<Kworker> all;
        synchronized (this) {
            all = new ArrayList<>(workers);
            all.addAll(retired);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Kworker w : all) {
            w.lease.await(Math.max(0, deadline - System.nanoTime()));
        }
        List<String> alive = new ArrayList<>();
        for (Kworker w : all) {
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
            + ", idle kworkers " + idle.get() + " of " + workers.size());
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

    /**
     * One kworker of the unbound pool: a loop on a lent thread, for as long as the module is loaded (kernel:
     * worker_thread()), or, for one the pool created when it ran out of idle ones, until it retires.
     */
    final class Kworker implements Runnable {
        final String name;
        /** Created when the pool ran out of idle kworkers: it may retire after the idle timeout. */
        private final boolean retirable;
        volatile LentThreads.Lease lease;
        /** The sub-queue whose work this kworker runs now; only its own thread writes and reads it. */
        SubQueue running;

        /** A kworker the model-checking tests drive themselves ({@link #tryRunToken}). */
        Kworker(String name) { this(name, false); }

        Kworker(String name, boolean retirable) {
            this.name = name;
            this.retirable = retirable;
        }

        @Override
        public void run() {
            CURRENT.set(this);
            long wakeup = kernel.config().latency().wakeupNanos();
            try (Role.Scope serving = Role.WORKER.enter()) {
                boolean counted = true; // createWorker counted this kworker idle
                while (true) {
                    boolean wasIdle = counted || !tokens.tryAcquire();
                    if (wasIdle) {
                        if (!counted) {
                            idle.incrementAndGet();
                        }
                        counted = false;
                        if (!awaitToken()) {
                            return; // retired: it left the pool and the idle count
                        }
                        int othersIdle = idle.decrementAndGet();
                        if (!shutdown && othersIdle == 0) {
                            maybeCreateWorker(); // the last idle kworker keeps one behind before it starts working
                        }
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

        /** Idle: waits for a permit; false when the kworker retired instead ({@link #retire}). */
        private boolean awaitToken() {
            if (!retirable) {
                tokens.acquireUninterruptibly();
                return true;
            }
            while (true) {
                try {
                    if (tokens.tryAcquire(idleTimeoutNanos, TimeUnit.NANOSECONDS)) {
                        return true;
                    }
                } catch (InterruptedException e) {
                    continue; // a stray interrupt: kworkers are not interruptible
                }
                if (retire(this)) {
                    return false;
                }
            }
        }
    }
}
