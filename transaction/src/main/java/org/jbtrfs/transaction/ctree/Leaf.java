package org.jbtrfs.transaction.ctree;

import java.util.List;

import org.jbtrfs.core.disk.Key;

/**
 * The items of one leaf, from a start key on, and where the next leaf begins — one step of a
 * leaf-by-leaf walk (the qgroup rescan processes one leaf per transaction from a commit root, and
 * resumes from {@link #nextKey()}).
 *
 * @param items   copies of the leaf's items with key &gt;= the start key, in key order (empty only at the end of the tree)
 * @param nextKey the first key of the following leaf, or null when this was the last leaf
 */
public record Leaf(List<Item> items, Key nextKey) {
    public Leaf {
        items = List.copyOf(items);
    }

    /** True when there is no leaf after this one. */
    public boolean isLast() {
        return nextKey == null;
    }
}
