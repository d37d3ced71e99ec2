package org.jbtrfs.core.kernel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;

/**
 * kernel: lockdep's circular-dependency check (kernel/locking/lockdep.c, CONFIG_PROVE_LOCKING) — one per loaded module,
 * as one per booted kernel. Every acquisition of a kernel mutex ({@link Mutex}), rw_semaphore ({@link RwSemaphore}),
 * freeze level ({@link PercpuRwSemaphore}) and workqueue map (a flush, a work's execution) names its lock class; a task
 * that takes class B while holding class A records the dependency A → B, the first time with the task's stack. A new
 * dependency that closes a cycle — B already (transitively) depends on A — is the kernel's "WARNING: possible circular
 * locking dependency detected", printed once: like {@code debug_locks_off()}, the first report turns lockdep off for
 * the rest of the module's life. No deadlock has to happen: two code paths that took the two orders, at any times,
 * suffice — which is why kernel developers run lockdep kernels to find them.
 *
 * <p>As the kernel's check_prevs_add(): the new dependency is added from the most recently held lock, and from the
 * ones below it only while those were trylocks; a trylock adds no dependency of its own (it cannot wait). Reads of an
 * rw_semaphore and of a percpu rw_semaphore are non-recursive reads (read = 1), which since v5.10's recursive-read
 * detection take part in cycles like writes — so every cycle here is one lockdep reports.
 *
 * <p>Not modelled (documented limits): spinlocks (the port's {@code synchronized} blocks), the recursive-locking check
 * (the same class taken twice is recorded once: the port does not annotate nesting subclasses such as
 * {@code lock_two_nondirectories}' I_MUTEX_PARENT/CHILD), btrfs tree locks, IRQ-safety states, completions and
 * wait_event (which 5.11's lockdep does not track either) — except the transaction's wait events, which btrfs itself
 * annotates with lockdep maps since 6.1 (the transaction module's {@code TransLockdep}, applied with lockdep).
 */
public final class Lockdep {
    /** A lock class: static per init site in the kernel (one for every fs_info's cleaner_mutex), or per instance (a workqueue). */
    public static final class LockClass {
        private final String name;

        private LockClass(String name) { this.name = name; }

        public String name() { return name; }

        @Override
        public String toString() { return name; }
    }

    /** One held lock of a task (lockdep's struct held_lock); the token its release gives back. */
    public static final class Held {
        private final LockClass cls;
        private final boolean trylock;
        private final List<Held> owner;

        private Held(LockClass cls, boolean trylock, List<Held> owner) {
            this.cls = cls;
            this.trylock = trylock;
            this.owner = owner;
        }
    }

    /**
     * A dependency prev → next, with where it was first seen: save_trace()'s stack entries. The frames are captured
     * (fillInStackTrace, a few microseconds, as save_trace is cheap) and turned into text only for a report: formatting
     * them at every new dependency cost more than the lock operations it annotates.
     */
    private record Dep(String thread, Throwable where) {
        String trace() { return Lockdep.trace(where); }
    }

    private final boolean enabled;
    private final KernelLog log;
    private volatile boolean debugLocks = true;
    private final Map<String, LockClass> statics = new ConcurrentHashMap<>();
    private final ThreadLocal<List<Held>> held = ThreadLocal.withInitial(ArrayList::new);
    /**
     * The dependency graph: for each class, the classes taken while it was held. Changed under this; read without it
     * for the common case, a dependency seen before (LockClass has identity equality).
     */
    private final Map<LockClass, Map<LockClass, Dep>> after = new ConcurrentHashMap<>();
    private volatile String report;

    public Lockdep(boolean enabled, KernelLog log) {
        this.enabled = enabled;
        this.log = log;
    }

    /** A lockdep that checks nothing (a module without CONFIG_PROVE_LOCKING, and locks made outside a module). */
    public static final Lockdep OFF = new Lockdep(false, null);

    /** The first line of a report, before its cycle ("A -> B -> C", from the least class name). */
    public static final String CIRCULAR = "WARNING: possible circular locking dependency detected: ";

    public boolean enabled() { return enabled; }

    /** The class of a lock initialised at one site ({@code "&fs_info->cleaner_mutex"}): one for every instance. */
    public LockClass staticClass(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("lock class name must not be empty");
        }
        return statics.computeIfAbsent(name, LockClass::new);
    }

    /** A class of its own for one instance (lockdep_register_key: each workqueue's "(wq_completion)NAME"). */
    public LockClass dynamicClass(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("lock class name must not be empty");
        }
        return new LockClass(name);
    }

    /**
     * lockdep_unregister_key(): a dynamic class's instance is gone (destroy_workqueue's wq_unregister_lockdep) — the class
     * and every dependency through it are zapped, so that a new instance starts without them and the graph does not
     * grow with every mount.
     */
    public synchronized void unregister(LockClass cls) {
        if (cls == null) {
            return;
        }
        after.remove(cls);
        for (Map<LockClass, Dep> m : after.values()) {
            m.remove(cls);
        }
    }

    /**
     * lock_acquire(): the calling task takes {@code cls} (read or write alike, see the class comment). Returns the
     * token {@link #release} takes, or null when lockdep is off.
     */
    public Held acquire(LockClass cls, boolean trylock) {
        if (!enabled) {
            return null;
        }
        List<Held> hs = held.get();
        if (debugLocks && !trylock) {
            List<Held> snapshot;
            synchronized (hs) {
                snapshot = hs.isEmpty() ? List.of() : new ArrayList<>(hs);
            }
            for (int i = snapshot.size() - 1; i >= 0; i--) {
                Held prev = snapshot.get(i);
                if (prev.cls != cls && !isKnown(prev.cls, cls) && !addDependency(prev.cls, cls, snapshot)) {
                    break;
                }
                if (!prev.trylock) {
                    break;
                }
            }
        }
        Held h = new Held(cls, trylock, hs);
        synchronized (hs) {
            hs.add(h);
        }
        return h;
    }

    /** lock_release() of {@code h} — by its task or, for a percpu rw_semaphore's reader, by another. */
    public void release(Held h) {
        if (h == null) {
            return;
        }
        synchronized (h.owner) {
            for (int i = h.owner.size() - 1; i >= 0; i--) {
                if (h.owner.get(i) == h) {
                    h.owner.remove(i);
                    return;
                }
            }
        }
    }

    /**
     * btrfs_lockdep_acquire() of one of btrfs' wait-event maps (6.1: the transaction states', the ordered extents'):
     * the map named {@code name} taken as a reader by the side others wait for. Null when lockdep is off.
     */
    public Held acquireMap(String name) {
        return enabled ? acquire(staticClass(name), false) : null;
    }

    /** btrfs_might_wait_for_event() / btrfs_might_wait_for_state(): the map taken as a writer and released at once. */
    public void mightWaitFor(String name) {
        if (enabled) {
            acquireRelease(staticClass(name));
        }
    }

    /** lock_map_acquire() + lock_map_release() at once: flush_workqueue()'s annotation of waiting for every work. */
    public void acquireRelease(LockClass cls) {
        release(acquire(cls, false));
    }

    /** lockdep_depth(current): how many locks the calling task holds. */
    public int depth() {
        if (!enabled) {
            return 0;
        }
        List<Held> hs = held.get();
        synchronized (hs) {
            return hs.size();
        }
    }

    /**
     * process_one_work()'s check after a work function returned: the kworker holds more than before it ran the work —
     * "BUG: workqueue leaked lock or atomic" with the locks it still holds (they stay held, as the kernel's task keeps
     * them). {@code before}: {@link #depth()} before the work's maps were taken.
     */
    public void checkWorkLeak(int before, int maps, String function) {
        if (!enabled || !debugLocks || log.died()) {
            return;
        }
        List<Held> hs = held.get();
        List<String> names = new ArrayList<>();
        synchronized (hs) {
            if (hs.size() <= before + maps) {
                return;
            }
            for (Held h : hs) {
                names.add(h.cls.name());
            }
        }
        log.log(LogLevel.ERR, LogEntry.Kind.TEXT, "BUG: workqueue leaked lock or atomic: " + Thread.currentThread().getName()
            + "\n    last function: " + function + "\n" + names.size() + " locks held: " + names);
    }

    /** Whether lockdep has reported (and so turned itself off). */
    public boolean reported() { return report != null; }

    /** The report, or null. */
    public String report() { return report; }

    private boolean isKnown(LockClass prev, LockClass next) {
        Map<LockClass, Dep> out = after.get(prev);
        return out != null && out.containsKey(next);
    }

    /** check_prev_add(): records prev → next unless next already leads to prev. False when it reported. */
    private synchronized boolean addDependency(LockClass prev, LockClass next, List<Held> heldNow) {
        if (!debugLocks || log.died()) {
            // an oops, BUG or panic: oops_enter()'s debug_locks_off() — a task that died holding locks never released them
            debugLocks = false;
            return false;
        }
        Map<LockClass, Dep> out = after.computeIfAbsent(prev, k -> new ConcurrentHashMap<>());
        if (out.containsKey(next)) {
            return true;
        }
        List<LockClass> path = path(next, prev);
        if (path != null) {
            debugLocks = false;
            report = circular(prev, next, path, heldNow);
            log.log(LogLevel.WARNING, LogEntry.Kind.WARNING, report);
            return false;
        }
        out.put(next, new Dep(Thread.currentThread().getName(), new Throwable()));
        return true;
    }

    /** A dependency path from {@code from} to {@code to} (both included), or null: breadth first, as lockdep's BFS. */
    private List<LockClass> path(LockClass from, LockClass to) {
        Map<LockClass, LockClass> parent = new IdentityHashMap<>();
        ArrayDeque<LockClass> queue = new ArrayDeque<>();
        parent.put(from, from);
        queue.add(from);
        while (!queue.isEmpty()) {
            LockClass c = queue.poll();
            if (c == to) {
                List<LockClass> p = new ArrayList<>();
                for (LockClass x = to; x != from; x = parent.get(x)) {
                    p.add(0, x);
                }
                p.add(0, from);
                return p;
            }
            for (LockClass n : after.getOrDefault(c, Map.of()).keySet()) {
                if (!parent.containsKey(n)) {
                    parent.put(n, c);
                    queue.add(n);
                }
            }
        }
        return null;
    }

    /**
     * print_circular_bug(): the header, the lock wanted and the one held, the existing chain in reverse order with where
     * each of its dependencies was first taken, and the cycle ("Chain exists of"). The first line names the cycle in a
     * canonical rotation (starting at its least class name), so that one cycle is one failure class however it closed.
     */
    private String circular(LockClass prev, LockClass next, List<LockClass> path, List<Held> heldNow) {
        List<String> cycle = new ArrayList<>();
        for (LockClass c : path) {
            cycle.add(c.name());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(CIRCULAR).append(canonical(cycle)).append('\n');
        sb.append("------------------------------------------------------\n");
        sb.append(Thread.currentThread().getName()).append(" is trying to acquire lock:\n  (").append(next).append(")\n\n");
        sb.append("but task is already holding lock:\n  (").append(prev).append(")\n\n");
        sb.append("which lock already depends on the new lock.\n\n");
        sb.append("the existing dependency chain (in reverse order) is:\n");
        for (int i = path.size() - 1; i >= 1; i--) {
            Dep d = after.get(path.get(i - 1)).get(path.get(i));
            sb.append("\n-> #").append(path.size() - 1 - i).append(" (").append(path.get(i)).append(") after (")
                .append(path.get(i - 1)).append("), first in ").append(d.thread()).append(":\n").append(d.trace());
        }
        sb.append("\nother info that might help us debug this:\n\n Chain exists of:\n   ");
        List<String> chain = new ArrayList<>(cycle);
        chain.add(cycle.get(0));
        sb.append(String.join(" --> ", chain)).append("\n\n");
        sb.append(heldNow.size()).append(" lock").append(heldNow.size() == 1 ? "" : "s").append(" held by ")
            .append(Thread.currentThread().getName()).append(":\n");
        for (Held h : heldNow) {
            sb.append("  (").append(h.cls).append(")").append(h.trylock ? " [trylock]" : "").append('\n');
        }
        sb.append("\nstack backtrace:\n").append(trace(new Throwable()));
        return sb.toString();
    }

    /** The cycle rotated to start at its least name: "a -> b -> c". */
    static String canonical(List<String> cycle) {
        int start = 0;
        for (int i = 1; i < cycle.size(); i++) {
            if (cycle.get(i).compareTo(cycle.get(start)) < 0) {
                start = i;
            }
        }
        List<String> r = new ArrayList<>();
        for (int i = 0; i < cycle.size(); i++) {
            r.add(cycle.get((start + i) % cycle.size()));
        }
        return String.join(" -> ", r);
    }

    /** The port's frames of {@code where}, innermost first, lockdep's own left out. */
    private static String trace(Throwable where) {
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (StackTraceElement e : where.getStackTrace()) {
            String c = e.getClassName();
            if (!c.startsWith("org.jbtrfs.") || c.startsWith(Lockdep.class.getName()) || c.endsWith(".Mutex")
                || c.contains(".RwSemaphore") || c.endsWith(".PercpuRwSemaphore")) {
                continue;
            }
            sb.append("   ").append(c.substring(c.lastIndexOf('.', c.lastIndexOf('.') - 1) + 1)).append('.')
                .append(e.getMethodName()).append(':').append(e.getLineNumber()).append('\n');
            if (++n == 12) {
                break;
            }
        }
        return sb.toString();
    }

    /** Port only, for tests: the classes recorded as taken after {@code name}'s class. */
    public synchronized List<String> dependenciesOf(String name) {
        List<String> r = new ArrayList<>();
        LockClass c = statics.get(name);
        if (c != null) {
            for (LockClass n : after.getOrDefault(c, Map.of()).keySet()) {
                r.add(n.name());
            }
        }
        return r;
    }

    /** Port only: every dependency recorded, "A -> B", in the order first seen per class (lockdep's /proc/lockdep). */
    public synchronized List<String> dependencies() {
        List<String> r = new ArrayList<>();
        for (Map.Entry<LockClass, Map<LockClass, Dep>> e : after.entrySet()) {
            for (LockClass n : e.getValue().keySet()) {
                r.add(e.getKey().name() + " -> " + n.name());
            }
        }
        return r;
    }

    /** Port only: how many dependencies were recorded. */
    public synchronized int dependencyCount() {
        int n = 0;
        for (Map<LockClass, Dep> m : after.values()) {
            n += m.size();
        }
        return n;
    }
}
