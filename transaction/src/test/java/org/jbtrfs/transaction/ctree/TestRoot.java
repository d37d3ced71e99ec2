package org.jbtrfs.transaction.ctree;

/** A tree root pointer for tests (the transaction layer's struct btrfs_root stand-in). */
final class TestRoot implements TreeRoot {
    private final long objectid;
    private ExtentBuffer node;

    TestRoot(long objectid, ExtentBuffer node) {
        this.objectid = objectid;
        this.node = node;
    }

    /** A new tree: an empty root leaf allocated in {@code mgr}'s running transaction. */
    static TestRoot create(InMemoryTreeBlockManager mgr, long objectid) {
        return new TestRoot(objectid, Ctree.createEmptyRoot(mgr, objectid));
    }

    @Override public long objectid() { return objectid; }

    @Override public ExtentBuffer node() { return node; }

    @Override public void setNode(ExtentBuffer newRoot) { node = newRoot; }
}
