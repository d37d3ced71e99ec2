package org.jbtrfs.transaction.ctree;

import org.jbtrfs.core.disk.Key;

/** Receives items in key order from {@link Ctree#forEach}. */
@FunctionalInterface
public interface ItemVisitor {
    /**
     * @param data a private copy of the item's data
     * @return true to continue with the next item, false to stop the walk
     */
    boolean visit(Key key, byte[] data);
}
