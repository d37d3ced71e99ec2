package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.Taint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A named slab cache (kmem_cache) counting live objects. Objects are tracked individually so that
 * {@code kmem_cache_destroy} can report what remains, SLUB-style, like the seed's rmmod output.
 */
public final class SlabCache {
    /** Frames kept per allocation site: deep enough to reach the kernel function that caused it (SLUB keeps 16). */
    private static final int ALLOC_FRAMES = 24;

    private final String name;
    private final Slabs owner;
    private final Set<SlabObject> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong allocations = new AtomicLong();
    private volatile boolean destroyed;

    SlabCache(String name, Slabs owner) {
        this.name = name;
        this.owner = owner;
    }

    public String name() { return name; }

    /** kernel: kmem_cache_alloc() */
    public SlabObject alloc() {
        if (destroyed) {
            throw owner.log().oops(LogEntry.Kind.USE_AFTER_FREE,
                "BUG: KASAN: use-after-free in kmem_cache_alloc\nkmem_cache " + name + " was destroyed");
        }
        StackTraceElement[] site = null;
        if (owner.debug()) {
            StackTraceElement[] st = new Throwable().getStackTrace(); // one walk: it is the whole cost of slab debug
            site = Arrays.copyOfRange(st, 1, Math.min(st.length, 1 + ALLOC_FRAMES));
        }
        SlabObject o = new SlabObject(this, ids.incrementAndGet(), owner.clock().nanoTime(),
            Thread.currentThread().getName(), site);
        live.add(o);
        allocations.incrementAndGet();
        return o;
    }

    void free(SlabObject o) {
        if (o.cache != this) {
            throw new IllegalArgumentException(o + " does not belong to cache " + name);
        }
        if (o.freed || !live.remove(o)) {
            owner.log().taint(Taint.BAD_PAGE);
            throw owner.log().oops(LogEntry.Kind.DOUBLE_FREE,
                "=============================================================================\n"
                    + "BUG " + name + " (" + owner.log().taintLine() + "): Object already free\n"
                    + "-----------------------------------------------------------------------------\n"
                    + "INFO: Object " + o + " @offset=0\nCall Trace:\n" + KernelLog.callTrace(new Throwable(), 2));
        }
        o.freed = true;
    }

    /** The live objects, oldest first (for leak checkers that run before the cache is destroyed). */
    public List<SlabObject> live() {
        List<SlabObject> l = new ArrayList<>(live);
        l.sort((a, b) -> Long.compare(a.id, b.id));
        return l;
    }

    /** Objects allocated and not freed. */
    public long inUse() { return live.size(); }

    /** Total allocations since creation. */
    public long allocations() { return allocations.get(); }

    /**
     * kernel: kmem_cache_destroy() — returns the leak (null if empty) and logs SLUB's report for it.
     */
    SlabLeak destroy() {
        destroyed = true;
        if (live.isEmpty()) {
            return null;
        }
        List<SlabObject> remaining = new ArrayList<>(live);
        remaining.sort((a, b) -> Long.compare(a.id, b.id));
        KernelLog log = owner.log();
        log.taint(Taint.BAD_PAGE);
        StringBuilder sb = new StringBuilder();
        sb.append("=============================================================================\n")
            .append("BUG ").append(name).append(" (").append(log.taintLine()).append("): Objects remaining in ")
            .append(name).append(" on __kmem_cache_shutdown()\n")
            .append("-----------------------------------------------------------------------------\n\n")
            .append("INFO: Slab objects=").append(allocations.get()).append(" used=").append(remaining.size()).append('\n');
        List<String> sites = new ArrayList<>();
        long now = owner.clock().nanoTime();
        for (SlabObject o : remaining) {
            String site = allocatedIn(o, now);
            sites.add(site);
            // slub_debug's object dump, as what the object describes (its tag) at the time of the report
            sb.append("INFO: Object ").append(o).append(" @offset=0").append(o.tag() == null ? "" : " (" + o.tag() + ")")
                .append('\n').append(site).append('\n');
        }
        log.log(LogLevel.ERR, LogEntry.Kind.SLAB_LEAK, sb.toString().stripTrailing());
        log.log(LogLevel.ERR, LogEntry.Kind.SLAB_LEAK, "kmem_cache_destroy " + name + ": Slab cache still has objects");
        return new SlabLeak(name, remaining.size(), allocations.get(), sites);
    }

    private static String allocatedIn(SlabObject o, long now) {
        if (o.allocSite == null) {
            return "Allocated in <unknown: boot with slab debug> age=" + (now - o.allocNanos) / 1_000_000 + "ms thread="
                + o.allocThread;
        }
        StringBuilder sb = new StringBuilder("Allocated in ");
        for (int i = 0; i < o.allocSite.length; i++) {
            StackTraceElement f = o.allocSite[i];
            sb.append(i == 0 ? "" : "\n\t").append(f.getClassName().replace("org.jbtrfs.", "")).append('.')
                .append(f.getMethodName()).append(':').append(f.getLineNumber());
            if (i == 0) {
                sb.append(" age=").append((now - o.allocNanos) / 1_000_000).append("ms thread=").append(o.allocThread);
            }
        }
        return sb.toString();
    }
}
