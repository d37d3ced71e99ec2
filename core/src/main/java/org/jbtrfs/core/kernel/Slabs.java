package org.jbtrfs.core.kernel;

import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.SlabLeak;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The module's slab caches. The btrfs module creates its caches at load (init_btrfs_fs) and destroys
 * them at unload (exit_btrfs_fs), which is where objects leaked by an open transaction are reported.
 */
public final class Slabs {
    /**
     * The caches btrfs creates at module init, by their kernel names. struct btrfs_transaction is
     * kmalloc'ed, not a named cache, so a leaked transaction shows at rmmod only through the delayed
     * refs it still holds, exactly as in the seed.
     */
    public static final List<String> BTRFS_CACHES = List.of(
        "btrfs_trans_handle", "btrfs_inode", "btrfs_path", "btrfs_free_space",
        "btrfs_delayed_ref_head", "btrfs_delayed_tree_ref", "btrfs_delayed_data_ref", "btrfs_delayed_extent_op",
        "extent_state", "extent_buffer", "btrfs_delayed_iput", "btrfs_ordered_extent", "btrfs_delayed_node",
        "btrfs_inode_defrag");

    private final Map<String, SlabCache> caches = new ConcurrentHashMap<>();
    private final KernelLog log;
    private final KernelClock clock;
    private final boolean debug;
    private volatile boolean destroyed;

    public Slabs(KernelLog log, KernelClock clock, boolean debug) {
        this.log = log;
        this.clock = clock;
        this.debug = debug;
        for (String n : BTRFS_CACHES) {
            caches.put(n, new SlabCache(n, this));
        }
    }

    KernelLog log() { return log; }

    KernelClock clock() { return clock; }

    boolean debug() { return debug; }

    /** The named cache; an unknown name is a programming error and says which names exist. */
    public SlabCache cache(String name) {
        SlabCache c = caches.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown slab cache '" + name + "'; caches: " + caches.keySet());
        }
        return c;
    }

    public Collection<SlabCache> all() { return caches.values(); }

    /** Destroys every cache (module unload) and returns what each still held. */
    public synchronized List<SlabLeak> destroyAll() {
        if (destroyed) {
            throw new IllegalStateException("slab caches already destroyed");
        }
        destroyed = true;
        List<SlabLeak> leaks = new ArrayList<>();
        for (String n : BTRFS_CACHES) {
            SlabLeak l = caches.get(n).destroy();
            if (l != null) {
                leaks.add(l);
            }
        }
        return leaks;
    }
}
