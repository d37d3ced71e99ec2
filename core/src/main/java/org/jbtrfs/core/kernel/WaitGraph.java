package org.jbtrfs.core.kernel;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The deadlock oracle: the wait-for graph of a module's sleeping threads, and the set of them none of which can ever
 * wake. Lockdep names a cycle of lock classes before it closes, but not a wait on a completion or on a count (quota
 * disable under qgroup_ioctl_lock waiting for the rescan worker's completion, a commit waiting for a writer that waits
 * for that mutex): the kernel learns of such a deadlock from khungtaskd, hung_task_timeout_secs later. This looks at
 * the deadlock itself, a state rather than a timeout, the way a model checker tells a deadlock: each sleep that names
 * its {@link Blockers} is a node, each thread parked on a lock with an owner (a {@link Mutex}, an rwsem held for write,
 * a monitor: ThreadMXBean names the owner of the others) is one with its owner as the edge; a thread that is neither — running, or in a sleep whose waker is not
 * known — is free. The stuck set is the greatest one in which every node still needs a member: a node whose sleep
 * needs all of its blockers stays while one of them is stuck, one that any blocker can end stays while all of them are.
 * What remains can never move (every member waits for a member), so a non-empty answer is a deadlock, not a guess —
 * provided each sleep's blockers are complete, which is what the callers of {@link Sched#waitUntil(Object, String,
 * Blockers, java.util.function.BooleanSupplier)} promise.
 *
 * <p>Only sleeps older than the caller's threshold count: a sleep just entered may be one whose blockers' state is
 * still being published (a commit that set COMMIT_DOING and has not yet dropped its own handle from the count).
 */
public final class WaitGraph {
    private WaitGraph() { }

    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    /**
     * A deadlock: every thread in {@code stuck} waits for one in it.
     *
     * @param stuck the threads that can never wake, each with the identity of its wait (a sleep's serial, or the lock
     * and owner it waits for): the same deadlock looked at again has the same map
     * @param cycle one cycle of it, a line per thread: "quota-disable: wait_for_completion(…) → kworker-3"
     */
    public record Deadlock(Map<Thread, String> stuck, List<String> cycle) {

        /** The report's lines: the cycle, then the threads stuck behind it. */
        public String describe() {
            StringBuilder sb = new StringBuilder("a cycle of waits none of which can end:\n");
            cycle.forEach(l -> sb.append("  ").append(l).append('\n'));
            List<String> behind = stuck.keySet().stream().map(Thread::getName)
                .filter(n -> cycle.stream().noneMatch(l -> l.startsWith(n + ":"))).sorted().toList();
            if (!behind.isEmpty()) {
                sb.append("  stuck behind it: ").append(String.join(", ", behind)).append('\n');
            }
            return sb.toString().stripTrailing();
        }
    }

    /** A node: what the thread waits for, whether it needs all of its targets, the targets, and the wait's identity. */
    private record Node(String what, boolean all, Set<Thread> targets, String identity) { }

    /**
     * The deadlock among {@code sched}'s sleepers right now, if there is one. Sleeps younger than {@code minAsleepNanos}
     * are not looked at.
     */
    public static Optional<Deadlock> find(Sched sched, long minAsleepNanos) {
        long now = System.nanoTime();
        Map<Thread, Sched.Sleep> sleeps = sched.sleeps();
        Map<Thread, Node> nodes = new HashMap<>();
        Deque<Thread> toVisit = new ArrayDeque<>();
        for (Map.Entry<Thread, Sched.Sleep> e : sleeps.entrySet()) {
            Sched.Sleep s = e.getValue();
            if (s.blockers() == null || now - s.since() < minAsleepNanos) {
                continue;
            }
            Set<Thread> targets = new LinkedHashSet<>(nonNull(s.blockers().threads().get()));
            targets.remove(e.getKey());
            if (targets.isEmpty()) {
                continue; // nobody known: not provably stuck
            }
            nodes.put(e.getKey(), new Node(s.what(), s.blockers().all(), targets, "sleep " + s.serial()));
            toVisit.addAll(targets);
        }
        if (nodes.isEmpty()) {
            return Optional.empty();
        }
        // the blockers that are no kernel sleepers: parked on a lock with an owner, or free
        Set<Thread> seen = new LinkedHashSet<>(nodes.keySet());
        Map<Long, Thread> byId = null;
        while (!toVisit.isEmpty()) {
            Thread t = toVisit.poll();
            if (!seen.add(t) || sleeps.containsKey(t)) {
                continue; // a sleeper without (known) blockers is free as far as this can tell
            }
            Mutex m = Mutex.waitedForBy(t);
            if (m != null) {
                Thread owner = m.owner();
                if (owner != null && owner != t) {
                    nodes.put(t, new Node("mutex_lock(" + m.name() + ")", true, Set.of(owner),
                        "mutex " + m.name() + " owned by " + owner.getId()));
                    toVisit.add(owner);
                }
                continue;
            }
            Thread.State st = t.getState();
            if (st != Thread.State.WAITING && st != Thread.State.BLOCKED) {
                continue; // running (or in a timed wait): free, and no ThreadMXBean call (a VM operation) for it
            }
            ThreadInfo ti = MX.getThreadInfo(t.getId());
            if (ti == null || ti.getLockOwnerId() < 0
                || ti.getThreadState() != Thread.State.WAITING && ti.getThreadState() != Thread.State.BLOCKED) {
                continue;
            }
            if (byId == null || !byId.containsKey(ti.getLockOwnerId())) {
                byId = liveThreads(); // first needed, or the owner started since the last enumeration
            }
            Thread owner = byId.get(ti.getLockOwnerId());
            if (owner == null || owner == t) {
                continue;
            }
            nodes.put(t, new Node("lock " + simpleLockName(ti.getLockName()), true, Set.of(owner),
                "lock " + ti.getLockName() + " owned by " + owner.getId()));
            toVisit.add(owner);
        }
        Set<Thread> stuck = stuck(nodes);
        if (stuck.isEmpty()) {
            return Optional.empty();
        }
        Map<Thread, String> identities = new LinkedHashMap<>();
        stuck.forEach(t -> identities.put(t, nodes.get(t).identity()));
        return Optional.of(new Deadlock(identities, cycle(nodes, stuck)));
    }

    /**
     * The sleeps right now with who can end each ("sync: commit: wait for writers -> each of lane:quota2:0"), one per
     * line, sorted: what a hang's note shows of the graph, so that a deadlock the oracle did not name tells why.
     */
    public static String describeSleeps(Sched sched) {
        List<String> lines = new ArrayList<>();
        sched.sleeps().forEach((t, s) -> {
            String who = "";
            if (s.blockers() != null) {
                Collection<Thread> ts = nonNull(s.blockers().threads().get());
                who = " -> " + (ts.isEmpty() ? "nobody known" : (s.blockers().all() ? "each of " : "any of ") + names(ts));
            }
            lines.add(t.getName() + ": " + s.what() + who);
        });
        lines.sort(null);
        return String.join("\n", lines);
    }

    /** The greatest set of nodes each of which needs a member of it (see the class comment). */
    static Set<Thread> stuck(Map<Thread, Node> nodes) {
        Set<Thread> d = new LinkedHashSet<>(nodes.keySet());
        boolean changed = true;
        while (changed) {
            changed = false;
            for (var it = d.iterator(); it.hasNext(); ) {
                Node n = nodes.get(it.next());
                boolean stays = n.all()
                    ? n.targets().stream().anyMatch(d::contains)
                    : d.containsAll(n.targets());
                if (!stays) {
                    it.remove();
                    changed = true;
                }
            }
        }
        return d;
    }

    /** One cycle inside {@code stuck}: from any member, follow a stuck target until a thread comes again. */
    private static List<String> cycle(Map<Thread, Node> nodes, Set<Thread> stuck) {
        List<Thread> path = new ArrayList<>();
        Thread t = stuck.iterator().next();
        while (!path.contains(t)) {
            path.add(t);
            t = nodes.get(t).targets().stream().filter(stuck::contains).findFirst().orElseThrow();
        }
        List<String> lines = new ArrayList<>();
        for (Thread m : path.subList(path.indexOf(t), path.size())) {
            Node n = nodes.get(m);
            Thread next = n.targets().stream().filter(stuck::contains).findFirst().orElseThrow();
            lines.add(m.getName() + ": " + n.what() + " -> " + next.getName()
                + (n.targets().size() > 1 ? " (" + (n.all() ? "each of " : "any of ") + names(n.targets()) + ")" : ""));
        }
        return lines;
    }

    /** "ReentrantReadWriteLock$NonfairSync@1b2c" of a java.util.concurrent lock's class name and identity. */
    private static String simpleLockName(String lockName) {
        return lockName == null ? "?" : lockName.substring(lockName.lastIndexOf('.') + 1);
    }

    private static String names(Collection<Thread> ts) {
        return String.join(", ", ts.stream().map(Thread::getName).sorted().toList());
    }

    private static Collection<Thread> nonNull(Collection<Thread> c) {
        return c == null ? List.of() : c.stream().filter(java.util.Objects::nonNull).toList();
    }

    /** Every live thread by id (the owners ThreadMXBean names by id only). */
    private static Map<Long, Thread> liveThreads() {
        ThreadGroup g = Thread.currentThread().getThreadGroup();
        while (g.getParent() != null) {
            g = g.getParent();
        }
        Thread[] all = new Thread[g.activeCount() + 16];
        int n = g.enumerate(all, true);
        Map<Long, Thread> m = new HashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(all[i].getId(), all[i]);
        }
        return m;
    }
}
