package org.jbtrfs.core.kernel;

import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.core.Role;
import org.jbtrfs.core.WorkOwner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The module's kthreadd: {@link #run} starts a kthread on a real thread lent by the JVM-wide
 * {@link LentThreads} pool, renamed for the role while it serves ("btrfs-cleaner"), back in the pool
 * when the thread function returned.
 *
 * <p>Why lent threads: starting and joining a Java thread costs ~100–330 µs on a 2-core machine, so a
 * mount that created its cleaner and transaction kthreads afresh would cap the lifecycle at a few
 * thousand mounts per second, and a fresh module per test would pay it too. The kernel's kthreadd is one
 * per machine; here the threads are one pool per JVM, and each module tracks the kthreads it started,
 * so "after unload no thread serves this module" stays checkable.
 */
public final class Kthreadd {
    private final KernelClock clock;
    private final KernelLog log;
    private final Sched sched;
    private final LentThreads threads;
    /** The kthreads of this module whose thread function has not returned yet, with their lease. */
    private final Map<Kthread, LentThreads.Lease> live = new ConcurrentHashMap<>();
    private final AtomicInteger started = new AtomicInteger();
    private volatile boolean shutdown;
    /**
     * Orders {@link #run}'s test of {@link #shutdown} and its registration of the new kthread against {@link #shutdown}'s
     * setting of the flag and its look at the live kthreads: a mount that raced a post-panic unload (its open_ctree
     * starting the cleaner while rmmod runs) either is refused or starts a kthread the unload sees, asks to stop and
     * waits for — never one that runs on after the module is gone.
     */
    private final Object registration = new Object();
    /** Test seam: runs in {@link #run} between its test of the flag and the registration (null: nothing). */
    volatile Runnable afterShutdownTest;
    private final long wakeupNanos;
    /** How long its kthreads and their pooled threads poll before blocking ({@link IdlePoll}). */
    private final long pollNanos;

    public Kthreadd(KernelClock clock, KernelLog log, Sched sched) {
        this(clock, log, sched, LentThreads.SHARED, 0);
    }

    /** A kthreadd whose kthreads start {@code wakeupNanos} after a wake-up (the module's LatencyModel). */
    public Kthreadd(KernelClock clock, KernelLog log, Sched sched, long wakeupNanos) {
        this(clock, log, sched, LentThreads.SHARED, wakeupNanos);
    }

    Kthreadd(KernelClock clock, KernelLog log, Sched sched, LentThreads threads) { this(clock, log, sched, threads, 0); }

    Kthreadd(KernelClock clock, KernelLog log, Sched sched, LentThreads threads, long wakeupNanos) {
        this(clock, log, sched, threads, wakeupNanos, IdlePoll.forWakeup(wakeupNanos));
    }

    /** With an explicit {@link IdlePoll} time (tests). */
    Kthreadd(KernelClock clock, KernelLog log, Sched sched, LentThreads threads, long wakeupNanos, long pollNanos) {
        this.pollNanos = pollNanos;
        this.wakeupNanos = wakeupNanos;
        this.clock = clock;
        this.log = log;
        this.sched = sched;
        this.threads = threads;
    }

    /** kernel: kthread_run() — create and start a kthread named {@code name} running {@code fn}, role {@link Role#KTHREAD}. */
    public Kthread run(String name, KthreadFunction fn) { return run(name, Role.KTHREAD, fn); }

    /**
     * kernel: kthread_run() — create and start a kthread named {@code name} running {@code fn}; its thread
     * serves {@code role} (what hooks see it as) for as long as {@code fn} runs.
     */
    public Kthread run(String name, Role role, KthreadFunction fn) { return run(name, role, null, fn); }

    /**
     * kernel: kthread_run() with the filesystem as its data — as {@link #run(String, Role, KthreadFunction)}, and
     * {@code fn} runs as serving {@code device} ({@link WorkOwner}; null: nobody's), so a hook listener watching several
     * filesystems knows the kthread's arrivals from its first, before the mount that started it returns.
     */
    public Kthread run(String name, Role role, String device, KthreadFunction fn) {
        synchronized (registration) {
            if (shutdown) {
                throw new IllegalStateException("kthreadd is shut down (module unloaded)");
            }
            Runnable seam = afterShutdownTest;
            if (seam != null) {
                seam.run();
            }
            return start(name, role, device, fn);
        }
    }

    private Kthread start(String name, Role role, String device, KthreadFunction fn) {
        Kthread k = new Kthread(name, clock, sched, log, wakeupNanos, pollNanos);
        started.incrementAndGet();
        int[] code = new int[1];
        // the function may call k.thread() at once: it runs only after run() bound it (run holds the gate)
        Object gate = new Object();
        synchronized (gate) {
            LentThreads.Lease lease = threads.lend(name, () -> {
                synchronized (gate) {
                    assert k.thread() != null; // run() bound it before letting go of the gate
                }
                try (Role.Scope serving = role.enter()) {
                    WorkOwner.run(device, () -> code[0] = runFunction(k, fn));
                }
            }, () -> {
                // the thread is back in the pool before kthread_stop returns: the next kthread_run reuses it
                live.remove(k);
                k.exited(code[0]);
            }, pollNanos);
            k.bind(lease.thread());
            live.put(k, lease);
        }
        return k;
    }

    private int runFunction(Kthread k, KthreadFunction fn) {
        try {
            return fn.run(k);
        } catch (Throwable t) {
            log.uncaught("kthread " + k.name(), t);
            return Errno.EINTR.ret();
        }
    }

    /** Kthreads this module started so far. */
    public int kthreadsStarted() { return started.get(); }

    /** Real threads the JVM-wide pool created so far (every module's; stays flat once warm). */
    public int threadsCreated() { return threads.threadsCreated(); }

    /** Threads serving a kthread of this module right now. */
    public List<Thread> liveThreads() {
        List<Thread> out = new ArrayList<>();
        for (LentThreads.Lease l : live.values()) {
            if (!l.isDone()) {
                out.add(l.thread());
            }
        }
        return out;
    }

    /** kernel: {@code current}, when it is a kthread of this module: the kthread the calling thread serves, or null. */
    public Kthread current() {
        Thread self = Thread.currentThread();
        for (Kthread k : live.keySet()) {
            if (k.thread() == self) {
                return k;
            }
        }
        return null;
    }

    /**
     * Lost wake-ups of this module right now: for each task waiting in kthread_park() or kthread_stop() on a
     * kthread that sleeps through the request ({@link Kthread#sleptThroughBy()}), what it waits for.
     */
    public Map<Thread, String> sleptThroughRequests() {
        Map<Thread, String> out = new java.util.HashMap<>();
        for (Kthread k : live.keySet()) {
            Thread by = k.sleptThroughBy();
            if (by != null) {
                out.put(by, k.name() + " sleeps in TASK_INTERRUPTIBLE through kthread_" + (k.shouldStop() ? "stop" : "park")
                    + ": its wake-up came while it ran");
            }
        }
        return out;
    }

    /** Names of the kthreads of this module still running. */
    public List<String> busy() {
        List<String> out = new ArrayList<>();
        for (Kthread k : live.keySet()) {
            out.add(k.name());
        }
        return out;
    }

    /**
     * Module unload: no more kthreads, and waits (up to {@code timeoutMillis} in total) until none of this
     * module's still runs. Kthreads still running are a bug of the caller: they are reported, asked to stop
     * (kthread_should_stop() turns true and they are woken) and waited for; their names are returned.
     */
    public List<String> shutdown(long timeoutMillis) {
        List<String> stuck;
        Map<Kthread, LentThreads.Lease> running;
        synchronized (registration) {
            shutdown = true;
            stuck = busy();
            running = Map.copyOf(live);
        }
        for (Kthread k : running.keySet()) {
            k.requestStop();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (LentThreads.Lease l : running.values()) {
            l.await(Math.max(0, deadline - System.nanoTime()));
        }
        return stuck;
    }
}
