package org.jbtrfs.core;

import java.util.List;

/**
 * What one slab cache still held when it was destroyed at module unload.
 *
 * @param cache       cache name ("btrfs_delayed_ref_head")
 * @param remaining   objects still allocated ("used=")
 * @param allocations objects ever allocated from it
 * @param allocatedIn one "Allocated in ..." record per remaining object
 */
public record SlabLeak(String cache, long remaining, long allocations, List<String> allocatedIn) {
}
