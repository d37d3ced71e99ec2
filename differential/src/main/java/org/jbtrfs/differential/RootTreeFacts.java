package org.jbtrfs.differential;

import java.util.Map;
import java.util.Set;

/**
 * What the root tree on the device says about subvolumes, in a form both targets can produce: the
 * kernel's from {@code btrfs inspect-internal dump-tree -t root}, the port's from DumpTree.
 *
 * @param roots   subvolume id (5 and user subvolumes) → its root item
 * @param orphans ids with an orphan item in the root tree (deleted subvolumes whose drop is pending)
 */
public record RootTreeFacts(Map<Long, Root> roots, Set<Long> orphans) {
    /**
     * A subvolume's root item.
     *
     * @param refs         0 once deleted
     * @param dropProgress whether drop_progress is set (a drop was interrupted and will resume from there)
     */
    public record Root(int refs, boolean dropProgress) { }

    public RootTreeFacts {
        roots = Map.copyOf(roots);
        orphans = Set.copyOf(orphans);
    }
}
