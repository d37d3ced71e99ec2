package org.jbtrfs.cleaner;

import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;

/** Orphan item keys: (BTRFS_ORPHAN_OBJECTID, ORPHAN_ITEM, inode number or subvolume id). */
public final class OrphanItems {
    private OrphanItems() { }

    public static Key key(long offset) { return new Key(ItemType.ORPHAN_OBJECTID, ItemType.ORPHAN_ITEM, offset); }
}
