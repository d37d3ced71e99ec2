package org.jbtrfs.transaction.ctree;

/** The root pointer of one tree; the B-tree code replaces it when the root block is COWed or the tree grows/shrinks. */
public interface TreeRoot {
    /** Tree id (objectid of the root: 1 root tree, 2 extent tree, 5 fs tree, ...). */
    long objectid();

    /** The current root node. */
    ExtentBuffer node();

    /** Installs a new root node (after COW of the root, or a split/merge that changes the height). */
    void setNode(ExtentBuffer newRoot);
}
