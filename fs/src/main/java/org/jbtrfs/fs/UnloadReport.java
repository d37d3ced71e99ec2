package org.jbtrfs.fs;

import java.util.List;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.Taint;

/**
 * What rmmod found: slab caches that still had objects (SLUB's "Objects remaining"), extent_state
 * leaks ("BTRFS: state leak"), threads still serving the module after the bounded wait, the taints, and
 * the errors of the clean-up {@link BtrfsModule#close()} did before the unload (an umount that threw).
 */
public record UnloadReport(List<SlabLeak> slabLeaks, List<String> stateLeaks, List<String> threadsAlive,
                           java.util.Set<Taint> taints, List<LogEntry> log, List<Throwable> cleanupErrors) {
    /** True when nothing leaked and no thread survived. */
    public boolean clean() { return slabLeaks.isEmpty() && stateLeaks.isEmpty() && threadsAlive.isEmpty(); }

    /** Objects remaining in {@code cache} (0 if it was empty). */
    public long remaining(String cache) {
        return slabLeaks.stream().filter(l -> l.cache().equals(cache)).mapToLong(SlabLeak::remaining).sum();
    }
}
