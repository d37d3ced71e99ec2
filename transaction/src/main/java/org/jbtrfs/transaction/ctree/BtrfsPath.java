package org.jbtrfs.transaction.ctree;

import java.util.Arrays;

import org.jbtrfs.core.disk.Key;

/**
 * A root-to-leaf path through one tree (kernel: struct btrfs_path): the block at each level and the
 * slot taken in it. {@code node(0)} is the leaf; {@code slot(0)} the item slot there (for a search
 * that did not find its key, the slot the key would be inserted at, possibly == nritems). Levels
 * above the root are null.
 *
 * <p>A path is only valid until the tree is modified by anything but the operation that produced
 * it (the kernel holds tree locks for that; we rely on callers serializing access per root).
 */
public final class BtrfsPath {
    /** BTRFS_MAX_LEVEL: a tree has at most 8 levels (root level <= 7). */
    public static final int MAX_LEVEL = 8;

    final ExtentBuffer[] nodes = new ExtentBuffer[MAX_LEVEL];
    final int[] slots = new int[MAX_LEVEL];
    /** btrfs_search_slot()'s return value: 0 when the key was found, 1 when not. */
    int searchResult = 1;

    public ExtentBuffer node(int level) {
        return nodes[level];
    }

    public int slot(int level) {
        return slots[level];
    }

    /** The leaf: {@code node(0)}. */
    public ExtentBuffer leaf() {
        return nodes[0];
    }

    /** The item slot in the leaf: {@code slot(0)}. */
    public int slot() {
        return slots[0];
    }

    /** Kernel return convention of the search that filled this path: 0 found, 1 not found. */
    public int searchResult() {
        return searchResult;
    }

    public boolean found() {
        return searchResult == 0;
    }

    /** kernel: btrfs_item_key_to_cpu(path->nodes[0], &key, path->slots[0]). */
    public Key itemKey() {
        return nodes[0].itemKey(slots[0]);
    }

    /** A copy of the data of the item the path points at. */
    public byte[] itemData() {
        return nodes[0].itemData(slots[0]);
    }

    /** The block above {@code level}, or null at the root. */
    ExtentBuffer parentOf(int level) {
        return level + 1 < MAX_LEVEL ? nodes[level + 1] : null;
    }

    /** The slot {@code level}'s block occupies in its parent (meaningless at the root). */
    int parentSlotOf(int level) {
        return level + 1 < MAX_LEVEL ? slots[level + 1] : 0;
    }

    /** kernel: btrfs_release_path(). */
    public void release() {
        Arrays.fill(nodes, null);
        Arrays.fill(slots, 0);
        searchResult = 1;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("path[");
        for (int level = MAX_LEVEL - 1; level >= 0; level--) {
            if (nodes[level] != null) {
                sb.append(" L").append(level).append('=').append(nodes[level].bytenr()).append('@').append(slots[level]);
            }
        }
        return sb.append(found() ? " found]" : " not found]").toString();
    }
}
