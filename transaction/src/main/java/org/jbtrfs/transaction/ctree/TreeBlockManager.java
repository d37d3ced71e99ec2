package org.jbtrfs.transaction.ctree;

import org.jbtrfs.core.Hook;

/**
 * What the B-tree algorithms need from the transaction layer: reading verified tree blocks, the COW
 * decision, allocating and freeing tree blocks, and dirtying them. One instance serves one
 * transaction handle (or, read-only, no transaction: then every modifying call throws).
 */
public interface TreeBlockManager {
    /** Reads and checksum-verifies the tree block at {@code bytenr}; a bad block throws BtrfsException(EUCLEAN/EIO) naming the bytenr. */
    ExtentBuffer read(long bytenr);

    /** {@link #read} as the walks take it: a {@link MirrorReader} where the blocks have other mirrors to try. */
    default java.util.function.LongFunction<ExtentBuffer> reader() { return this::read; }

    /** kernel: should_cow_block() — true unless {@code eb} was created in this transaction and not yet written. */
    boolean shouldCow(ExtentBuffer eb);

    /**
     * kernel: btrfs_alloc_tree_block() — a new tree block for tree {@code owner} at {@code level},
     * header filled (bytenr, generation = current transid, owner, level, fsid, nritems 0), already
     * marked dirty in the running transaction.
     */
    ExtentBuffer allocTreeBlock(long owner, int level);

    /** kernel: btrfs_free_tree_block() — the block is no longer referenced by the tree (pinned until commit). */
    void freeTreeBlock(ExtentBuffer eb);

    /** kernel: btrfs_mark_buffer_dirty() — {@code eb}'s contents changed in the running transaction. */
    void markDirty(ExtentBuffer eb);

    /** Current transaction id (the generation new and COWed blocks get). */
    long transid();

    /**
     * kernel: the checks btrfs_cow_block() makes before should_cow_block() (v5.11 ctree.c) — a COW of a tree being
     * dropped is logged as an error, a COW through a handle that is not of the running transaction warns; neither
     * stops the COW. A manager without a kernel checks nothing.
     */
    default void checkCow(TreeRoot root) { }

    /** Arrives at a named race window ({@link org.jbtrfs.core.Hooks#arrive}); a manager without a kernel has none. */
    default void arrive(Hook hook) { }
}
