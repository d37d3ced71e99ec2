package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.kernel.SlabObject;

/**
 * struct btrfs_delayed_ref_head: the pending reference changes of one extent, with the slab objects
 * the kernel allocates for it (the head, one btrfs_delayed_tree_ref / btrfs_delayed_data_ref per
 * change, and a btrfs_delayed_extent_op for a new tree block). Guarded by {@link DelayedRefs}.
 */
final class DelayedRefHead {
    final long bytenr;
    final long numBytes;
    final boolean isData;
    final SlabObject headObj;
    final List<SlabObject> refObjs = new ArrayList<>();
    SlabObject extentOp;
    /** Net reference change (+1 per add, -1 per drop). */
    int refMod;
    /** The extent was allocated in this transaction (kernel: must_insert_reserved). */
    boolean mustInsertReserved;
    long ownerRoot;
    int level;
    /** A data extent's EXTENT_DATA_REF key (inode, file offset of the extent's start), recorded by its allocation. */
    long dataObjectid;
    long dataOffset;

    DelayedRefHead(long bytenr, long numBytes, boolean isData, SlabObject headObj) {
        this.bytenr = bytenr;
        this.numBytes = numBytes;
        this.isData = isData;
        this.headObj = headObj;
    }
}
