package org.jbtrfs.core.kernel;

/**
 * One object allocated from a {@link SlabCache}: the identity the cache counts, with its allocation
 * site when the module runs with slab debug (SLUB's "Allocated in ..." record).
 */
public final class SlabObject {
    final SlabCache cache;
    final long id;
    final long allocNanos;
    final String allocThread;
    final StackTraceElement[] allocSite;
    volatile boolean freed;
    private volatile Object tag;

    SlabObject(SlabCache cache, long id, long allocNanos, String allocThread, StackTraceElement[] allocSite) {
        this.cache = cache;
        this.id = id;
        this.allocNanos = allocNanos;
        this.allocThread = allocThread;
        this.allocSite = allocSite;
    }

    public SlabCache cache() { return cache; }

    public boolean isFreed() { return freed; }

    /** Attaches what this object describes (an extent_state's range), for leak reports. */
    public SlabObject tag(Object t) {
        this.tag = t;
        return this;
    }

    public Object tag() { return tag; }

    /** kernel: kmem_cache_free() */
    public void free() { cache.free(this); }

    /**
     * The object's id: a cache keeps its live objects in a hash set, and an identity hash code costs a
     * header inflation per allocation (a few % of a lifecycle cycle). Equality stays identity.
     */
    @Override
    public int hashCode() { return Long.hashCode(id); }

    @Override
    public boolean equals(Object o) { return this == o; }

    @Override
    public String toString() { return cache.name() + "#" + id; }
}
