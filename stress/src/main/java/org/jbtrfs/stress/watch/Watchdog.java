package org.jbtrfs.stress.watch;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jbtrfs.core.kernel.WaitGraph;

/**
 * The hung-task detector (khungtaskd) and stall sampler: a daemon thread that looks at every
 * registered driver's and lane's current operation. Past the stall threshold it samples once where the
 * operation blocks (the kernel sleep it is in: {@code Kthread.park <- CloseCtree.closeCtree}), so that
 * an operation which then completes is reported as a stall with its site. Past the hung-task limit it
 * reports the operation once, with every thread's stack, to {@code onHung} — which panics the module so
 * every sleeper of it unwinds, and the run goes on with a fresh one.
 */
public final class Watchdog implements AutoCloseable {
    private final List<Busy> watched = new CopyOnWriteArrayList<>();
    private final long limitNanos;
    private final long stallNanos;
    private final Consumer<Hung> onHung;
    private final Thread thread;
    private volatile boolean closed;
    /** Lost wake-ups right now: requester → what it waits for (see {@link #lostWakeups}); null: not watched. */
    private volatile java.util.function.Supplier<Map<Thread, String>> lostWakeups;
    private volatile Consumer<Hung> onLostWakeup;
    /** The module has a dead task (an oops or BUG tainted it D) and is not panicked yet; null: not watched. */
    private volatile java.util.function.Predicate<Busy> deadTask;
    private volatile long deadTaskLimitNanos = Long.MAX_VALUE;
    /** The module's deadlock right now ({@link WaitGraph}); null: not watched. */
    private volatile java.util.function.Supplier<java.util.Optional<WaitGraph.Deadlock>> deadlocks;
    /** The deadlock seen at the last look and when it was first seen (the watchdog thread's own). */
    private Map<Thread, String> lastDeadlock = Map.of();
    private long lastDeadlockSince;
    private long lastDeadlockLook;

    public record Hung(Busy driver, String frame, String report) { }

    /** How often lost wake-ups are looked for (a few live kthreads' fields: cheap). */
    private static final long LOST_WAKEUP_PERIOD = 5_000_000L;

    public Watchdog(List<Busy> drivers, long limitNanos, Consumer<Hung> onHung) {
        this(drivers, limitNanos, Long.MAX_VALUE, onHung);
    }

    public Watchdog(List<Busy> drivers, long limitNanos, long stallNanos, Consumer<Hung> onHung) {
        this.limitNanos = limitNanos;
        this.stallNanos = stallNanos;
        drivers.forEach(this::watch);
        this.onHung = onHung;
        this.thread = new Thread(this::loop, "stress-watchdog");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Also names lost wake-ups at once: an operation whose thread waits in kthread_park() or kthread_stop() on a
     * kthread that sleeps through the request ({@code probe}: {@code Kthreadd.sleptThroughRequests()}) goes to
     * {@code onLost}, with the probe's words as its report. This is a state, not a timeout: the kthread
     * stays asleep until another wake-up comes (in btrfs the transaction kthread's next loop, or a timer up to
     * commit_interval away), so waiting for it only tells how long the stall would have lasted.
     */
    public void lostWakeups(java.util.function.Supplier<Map<Thread, String>> probe, Consumer<Hung> onLost) {
        this.onLostWakeup = onLost;
        this.lostWakeups = probe;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }

    /**
     * Also shortens the hung-task limit to {@code limitNanos} while {@code probe} says the module has a dead task:
     * an oops or a BUG killed a kthread, a worker or a syscall (taint D), and what it held — a transaction handle, a
     * completion it never completes, a lock — is never given back, so an operation that now blocks in a kernel sleep
     * past this shorter limit is almost always blocked on the dead task. The kernel's khungtaskd would name it only
     * after hung_task_timeout_secs; the verdict is the same, the cycle ends sooner. Only operations waiting in a
     * kernel sleep count (see {@link #blockingFrame}); a merely slow one runs on to the full limit.
     */
    public void deadTask(java.util.function.BooleanSupplier probe, long limitNanos) {
        deadTask(b -> probe.getAsBoolean(), limitNanos);
    }

    /**
     * As {@link #deadTask(java.util.function.BooleanSupplier, long)}, asked per operation: does the module have a
     * dead task that {@code b}'s filesystem's operations may be blocked on (with several filesystems, one whose
     * report names this filesystem's device or thread, or no filesystem at all)?
     */
    public void deadTask(java.util.function.Predicate<Busy> probe, long limitNanos) {
        if (limitNanos <= 0) {
            throw new IllegalArgumentException("limitNanos must be positive: " + limitNanos);
        }
        this.deadTaskLimitNanos = limitNanos;
        this.deadTask = probe;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }

    /**
     * Also names deadlocks at once: when {@code probe} (the module's wait-for graph, {@link WaitGraph#find}) shows the
     * same set of threads none of which can ever wake at two looks {@link #DEADLOCK_CONFIRM_NANOS} apart, the watched
     * operation among them that began first is reported to the hung-task consumer — the one khungtaskd would name
     * first, hung_task_timeout_secs later, with the same stacks, plus the cycle. This is a state, not a timeout: the
     * members wait for each other, and nothing but a panic ends their sleeps. A deadlock of kthreads or workers alone,
     * with no watched operation in it, is left to the hung-task limit (the operation that waits for them is not stuck
     * by the graph's proof).
     */
    public void deadlocks(java.util.function.Supplier<java.util.Optional<WaitGraph.Deadlock>> probe) {
        this.deadlocks = probe;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }

    /** How often the wait-for graph is looked at (a few map reads; a ThreadMXBean call per lock waiter). */
    static final long DEADLOCK_PERIOD = 20_000_000L;
    /** How long a deadlock must stay the same before it is named: a look is not atomic, the second one confirms it. */
    static final long DEADLOCK_CONFIRM_NANOS = 100_000_000L;

    /** Watches {@code b} too (a lane's). */
    public void watch(Busy b) {
        b.stallThreshold(stallNanos);
        watched.add(b);
    }

    public void unwatch(Busy b) { watched.remove(b); }

    private void loop() {
        long period = Math.max(1_000_000L, Math.min(Math.min(100_000_000L, limitNanos / 4), Math.max(1_000_000L, stallNanos / 4)));
        while (!closed) {
            long now = System.nanoTime();
            var probe = lostWakeups;
            Map<Thread, String> lost = probe == null ? Map.of() : probe.get();
            var deadProbe = deadTask;
            for (Busy b : watched) {
                long started = b.startedAt();
                long t = started == 0 ? -1 : now - started;
                String why = t < 0 ? null : lost.get(b.thread());
                if (why != null && b.markHung(started)) {
                    deliver(onLostWakeup, b, started, new Hung(b, frameOfRequester(b, started), why));
                    continue;
                }
                if (t > stallNanos && !b.sampled()) {
                    String f = blockingFrame(b.thread());
                    b.sample(started, f, f == null ? null : kernelThreads());
                }
                if (t > limitNanos && b.markHung(started)) {
                    deliver(onHung, b, started, new Hung(b, hungFrame(b.thread()), report(b, t)));
                } else if (t > deadTaskLimitNanos && deadProbe != null && deadProbe.test(b)) {
                    String f = hungFrame(b.thread());
                    if (f != null && b.markHung(started)) {
                        deliver(onHung, b, started, new Hung(b, f, reportAfterDeadTask(b, t)));
                    }
                }
            }
            lookForDeadlock(now);
            long next = lostWakeups == null && deadTask == null && deadlocks == null ? period
                : Math.min(period, LOST_WAKEUP_PERIOD);
            java.util.concurrent.locks.LockSupport.parkNanos(next);
        }
    }

    /** One look at the wait-for graph (every {@link #DEADLOCK_PERIOD}); see {@link #deadlocks}. */
    private void lookForDeadlock(long now) {
        var probe = deadlocks;
        if (probe == null || now - lastDeadlockLook < DEADLOCK_PERIOD) {
            return;
        }
        lastDeadlockLook = now;
        WaitGraph.Deadlock d;
        try {
            d = probe.get().orElse(null);
        } catch (RuntimeException e) {
            // a look while the runner replaces the module, or a sleep's blockers read mid-change: no proof this time —
            // the watchdog thread must never die of it (the hung-task limit and the other probes depend on it)
            d = null;
        }
        if (d == null) {
            lastDeadlock = Map.of();
            return;
        }
        if (!d.stuck().equals(lastDeadlock)) {
            lastDeadlock = d.stuck();
            lastDeadlockSince = now;
            return;
        }
        if (now - lastDeadlockSince < DEADLOCK_CONFIRM_NANOS) {
            return;
        }
        Busy first = null;
        for (Busy b : watched) {
            long started = b.startedAt();
            if (started != 0 && d.stuck().containsKey(b.thread()) && (first == null || started < first.startedAt())) {
                first = b;
            }
        }
        if (first == null) {
            return;
        }
        long started = first.startedAt();
        if (started != 0 && first.markHung(started)) {
            deliver(onHung, first, started, new Hung(first, hungFrame(first.thread()), reportDeadlock(first, now - started, d)));
        }
    }

    /**
     * How long the requester of a slept-through request is sampled until it shows its wait: 2 ms sufficed with one
     * filesystem; with four on two CPUs (`--kernel 5.12 --filesystems 4`) a requester was still not blocked after
     * them five times in 300 s ("stall:umount in null"). It cannot get past the wait, so a longer bound only delays
     * the report in that case.
     */
    static final long REQUESTER_SAMPLING_NANOS = 50_000_000L;

    /**
     * Where the requester of a slept-through kthread_park()/kthread_stop() waits. The oracle names the request as
     * soon as the kthread went to sleep through it, which can be before the requester itself blocks (it is still
     * running towards its wait_for_completion, or between two polls): its stack then shows no kernel sleep yet, and
     * the class would be named "in null" instead of the wait. Sampled again, every 100 µs (parked: on a loaded
     * machine a spin would take the CPU the requester needs to get there), for up to {@link #REQUESTER_SAMPLING_NANOS}
     * while the same operation runs — the requester cannot get past the wait the kthread will never complete.
     */
    private static String frameOfRequester(Busy b, long started) {
        long until = System.nanoTime() + REQUESTER_SAMPLING_NANOS;
        String f = blockingFrame(b.thread());
        while (f == null && b.startedAt() == started && System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000L);
            f = blockingFrame(b.thread());
        }
        return f;
    }

    /**
     * Hands {@code h} on only if {@code b} is still in the operation that started at {@code started}: building the
     * report (every thread's stack) takes milliseconds, in which the operation may end — the panic of an earlier
     * report unwinds it, and its cycle's verdict, the module's replacement and the next cycle may all follow. A
     * report delivered then panicked the next cycle's fresh module for an operation of the last one (the
     * {@code --kernel 5.12} runs' {@code hang:remount ro in ?@lifecycle}: an epoch's first cycle panicked in its
     * mount, the frame '?' because the reported thread had left the kernel).
     */
    static void deliver(Consumer<Hung> to, Busy b, long started, Hung h) {
        if (b.startedAt() == started) {
            to.accept(h);
        }
    }

    /** The kernel sleep primitives an operation can block in. */
    private static final List<String> SLEEPS = List.of("org.jbtrfs.core.kernel.Kthread", "org.jbtrfs.core.kernel.Sched",
        "org.jbtrfs.core.kernel.IdlePoll", "org.jbtrfs.core.kernel.FlagWord",
        "org.jbtrfs.qgroup.Completion", "org.jbtrfs.core.Hooks", "org.jbtrfs.workqueue.InFlight",
        "org.jbtrfs.workqueue.DelayedWork");

    /**
     * "Kthread.park <- CloseCtree.closeCtree": the innermost kernel sleep {@code t} blocks in and the first
     * caller outside the sleep primitives; null when {@code t} is not waiting in one (merely slow).
     */
    static String blockingFrame(Thread t) {
        if (t == null) {
            return null;
        }
        Thread.State st = t.getState();
        StackTraceElement[] stack = t.getStackTrace();
        if (st != Thread.State.WAITING && st != Thread.State.TIMED_WAITING && !polling(stack)) {
            return null;
        }
        String sleep = null;
        for (StackTraceElement e : stack) {
            String c = e.getClassName();
            if (!c.startsWith("org.jbtrfs.") || c.startsWith("org.jbtrfs.stress")) {
                continue;
            }
            String f = simple(c) + "." + e.getMethodName();
            if (sleep == null) {
                if (SLEEPS.stream().noneMatch(c::startsWith)) {
                    return null; // a jbtrfs frame that is no kernel sleep: not blocked in the kernel
                }
                if (semaphoreDown(e)) {
                    return null; // a sleeping lock's wait, as a mutex's: see lockFrame
                }
                sleep = f;
            } else if (SLEEPS.stream().anyMatch(c::startsWith)) {
                sleep = f; // the outermost primitive: Kthread.park rather than the Sched.waitUntil inside it
            } else if (!c.startsWith("org.jbtrfs.fs.Btrfs")) {
                return sleep + " <- " + f;
            }
        }
        return sleep;
    }

    /**
     * True for {@code Sched.down}, the kernel's down() on a semaphore: a sleeping lock, held by a thread doing work (the
     * btrfs-uuid kthread scanning the root tree holds uuid_tree_rescan_sem). Its wait is a lock wait, not a kernel sleep
     * for an event: no wake-up can be lost, and a slow holder is not a stall. Stop 46 made down() a module sleep (a
     * panic ends it); stall sampling then took an RO remount waiting 0.4 s for a scan slowed by a loaded CI machine for
     * an unexplained stall class ({@code stall:mount in Sched.down <- UuidScan.down}, ShardProcessTest on CI).
     */
    private static boolean semaphoreDown(StackTraceElement e) {
        return e.getClassName().equals("org.jbtrfs.core.kernel.Sched") && e.getMethodName().equals("down");
    }

    /**
     * Where a hung task blocks: its kernel sleep ({@link #blockingFrame}), or else the kernel lock it waits for — a
     * mutex, rwsem or semaphore (the port's {@code ReentrantLock}s, {@code ReentrantReadWriteLock}s and down()'s
     * {@code Semaphore}: s_umount, subvol_sem, qgroup_ioctl_lock, uuid_tree_rescan_sem …), named
     * {@code lock <- Caller.method} by the first jbtrfs frame that waits for it. A hang behind a lock was named '?' before; stall sampling still ignores lock waits (a slow remount holding s_umount
     * would make every operation behind it a stall class).
     */
    static String hungFrame(Thread t) {
        String f = blockingFrame(t);
        return f != null ? f : lockFrame(t);
    }

    /** The port's kernel lock types, whose lock() wraps a java.util.concurrent lock's for lockdep. */
    private static final java.util.List<String> LOCK_WRAPPERS = java.util.List.of("org.jbtrfs.core.kernel.Mutex",
        "org.jbtrfs.core.kernel.RwSemaphore");

    /** {@code "lock <- Caller.method"} when {@code t} is parked acquiring a java.util.concurrent lock for jbtrfs code. */
    static String lockFrame(Thread t) {
        if (t == null || t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            return null;
        }
        boolean acquiring = false;
        for (StackTraceElement e : t.getStackTrace()) {
            String c = e.getClassName();
            if (c.startsWith("java.util.concurrent.locks.")) {
                acquiring |= e.getMethodName().equals("lock") || e.getMethodName().startsWith("acquire");
                continue;
            }
            if (LOCK_WRAPPERS.stream().anyMatch(c::startsWith) || semaphoreDown(e)) {
                continue; // the kernel lock types over those locks (lockdep's checks), down(): the caller names the wait
            }
            if (c.startsWith("org.jbtrfs.") && !c.startsWith("org.jbtrfs.stress")) {
                return acquiring ? "lock <- " + simple(c) + "." + e.getMethodName() : null;
            }
            if (!c.startsWith("java.") && !c.startsWith("jdk.")) {
                return null;
            }
        }
        return null;
    }

    /**
     * True when the innermost jbtrfs frame is {@code IdlePoll.poll}: the thread runs (it yields) but is in the
     * first phase of a kernel sleep, polling its wake-up before it blocks.
     */
    private static boolean polling(StackTraceElement[] stack) {
        for (StackTraceElement e : stack) {
            if (e.getClassName().startsWith("org.jbtrfs.")) {
                return e.getClassName().equals("org.jbtrfs.core.kernel.IdlePoll");
            }
        }
        return false;
    }

    /** The kernel threads' and lanes' innermost jbtrfs frames: what a stall was waiting for. */
    static String kernelThreads() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            String n = e.getKey().getName();
            if (!n.startsWith("btrfs-") && !n.startsWith("lane:") && !n.contains("kworker")) {
                continue;
            }
            sb.append("  ").append(n).append(" ").append(e.getKey().getState()).append(':');
            int k = 0;
            for (StackTraceElement f : e.getValue()) {
                if (f.getClassName().startsWith("org.jbtrfs.") && k++ < 5) {
                    sb.append(' ').append(simple(f.getClassName())).append('.').append(f.getMethodName());
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String simple(String cls) {
        String s = cls.substring(cls.lastIndexOf('.') + 1);
        int d = s.indexOf('$');
        return d > 0 ? s.substring(0, d) : s;
    }

    static String report(Busy b, long nanos) {
        return report("INFO: task " + b.driverName + b.deviceTag()
            + " blocked for more than " + nanos / 1_000_000_000L + " seconds in '" + b.op()
            + "'.");
    }

    static String reportDeadlock(Busy b, long nanos, WaitGraph.Deadlock d) {
        return report("INFO: task " + b.driverName + b.deviceTag() + " blocked for " + nanos / 1_000_000L + " ms in '"
            + b.op() + "' in a deadlock (the wait-for graph: khungtaskd would name it after hung_task_timeout_secs), "
            + d.describe());
    }

    static String reportAfterDeadTask(Busy b, long nanos) {
        return report("INFO: task " + b.driverName + b.deviceTag()
            + " blocked for " + nanos / 1_000_000L + " ms in '" + b.op()
            + "' on a module with a dead task (tainted D: an oops or BUG killed the task that would wake it).");
    }

    private static String report(String headline) {
        StringBuilder sb = new StringBuilder();
        sb.append(headline).append('\n');
        sb.append("Showing all threads:\n");
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            sb.append("task:").append(t.getName()).append(" state:").append(t.getState()).append('\n');
            StackTraceElement[] st = e.getValue();
            for (int i = 0; i < st.length && i < 20; i++) {
                sb.append("  ").append(st[i]).append('\n');
            }
        }
        return sb.toString().stripTrailing();
    }

    @Override
    public void close() {
        closed = true;
        java.util.concurrent.locks.LockSupport.unpark(thread);
    }
}
