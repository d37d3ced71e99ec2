package org.jbtrfs.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The module's kthreadd: a pool of parked real threads that {@link #run} lends to kthreads.
 *
 * <p>Why a pool: starting and joining a Java thread costs ~200–330 µs on a 2-core machine, so a
 * mount that created its cleaner and transaction kthreads afresh would cap the lifecycle at a few
 * hundred mounts per second. A pooled thread is handed its function through a one-slot queue,
 * renamed to the kthread's name while it serves, and renamed back when the function returns.
 */
public final class Kthreadd {
    private static final String IDLE = "kthreadd";

    private final KernelClock clock;
    private final KernelLog log;
    private final Sched sched;
    private final String prefix;
    private final BlockingQueue<Worker> idle = new ArrayBlockingQueue<>(1024);
    private final List<Worker> all = new CopyOnWriteArrayList<>();
    private final AtomicInteger created = new AtomicInteger();
    private volatile boolean shutdown;

    public Kthreadd(String prefix, KernelClock clock, KernelLog log, Sched sched) {
        this.prefix = prefix;
        this.clock = clock;
        this.log = log;
        this.sched = sched;
    }

    /** kernel: kthread_run() — create and start a kthread named {@code name} running {@code fn}. */
    public Kthread run(String name, KthreadFunction fn) {
        if (shutdown) {
            throw new IllegalStateException("kthreadd is shut down (module unloaded)");
        }
        Kthread k = new Kthread(name, clock, sched, log);
        Worker w = idle.poll();
        if (w == null) {
            w = new Worker(prefix + IDLE + "/" + created.incrementAndGet());
            all.add(w);
            w.thread.start();
        }
        k.bind(w.thread);
        w.assign(k, fn);
        return k;
    }

    /** Real threads this pool has created (alive or not). */
    public int threadsCreated() { return created.get(); }

    /** Threads of this pool still alive. */
    public List<Thread> liveThreads() {
        List<Thread> out = new ArrayList<>();
        for (Worker w : all) {
            if (w.thread.isAlive()) {
                out.add(w.thread);
            }
        }
        return out;
    }

    /** Threads currently serving a kthread (not idle in the pool). */
    public List<String> busy() {
        List<String> out = new ArrayList<>();
        for (Worker w : all) {
            Kthread k = w.current;
            if (k != null) {
                out.add(k.name());
            }
        }
        return out;
    }

    /**
     * Ends every pooled thread and joins it (module unload). Kthreads still running are a bug of the
     * caller: they are reported, asked to stop (kthread_should_stop() turns true) and waited for up
     * to {@code timeoutMillis} in total.
     */
    public List<String> shutdown(long timeoutMillis) {
        shutdown = true;
        List<String> stuck = busy();
        for (Worker w : all) {
            w.retire();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (Worker w : all) {
            try {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                w.thread.join(Math.max(1, left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return stuck;
    }

    private final class Worker implements Runnable {
        final Thread thread;
        private final String idleName;
        private final BlockingQueue<Runnable> inbox = new ArrayBlockingQueue<>(1);
        volatile Kthread current;

        Worker(String name) {
            idleName = name;
            thread = new Thread(this, name);
            thread.setDaemon(true);
        }

        void assign(Kthread k, KthreadFunction fn) {
            current = k;
            inbox.add(() -> runOne(k, fn));
        }

        /**
         * An idle worker wakes on the empty job; a busy one is asked to stop its kthread and exits
         * after it (run() sees shutdown). No interrupt: it would not end a kthread sleeping in
         * schedule() (kthreads ignore signals) and would spin any LockSupport.park it reaches.
         */
        void retire() {
            inbox.offer(() -> { });
            Kthread k = current;
            if (k != null) {
                k.requestStop();
            }
        }

        private void runOne(Kthread k, KthreadFunction fn) {
            thread.setName(k.name());
            int code = 0;
            try {
                code = fn.run(k);
            } catch (Throwable t) {
                code = Errno.EINTR.ret();
                log.uncaught("kthread " + k.name(), t);
            } finally {
                Thread.interrupted();
                thread.setName(idleName);
                current = null;
                // Back in the pool before stop() returns, so the next kthread_run reuses this thread.
                if (!shutdown) {
                    idle.offer(this);
                }
                k.exited(code);
            }
        }

        @Override
        public void run() {
            while (true) {
                Runnable job;
                try {
                    job = inbox.take();
                } catch (InterruptedException e) {
                    if (shutdown && current == null) {
                        return;
                    }
                    continue;
                }
                job.run();
                if (shutdown && current == null) {
                    return;
                }
            }
        }
    }
}
