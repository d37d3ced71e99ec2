package org.jbtrfs.transaction;

import java.util.function.ObjLongConsumer;

/**
 * A port-debugging probe, not kernel behaviour: called by every transaction commit right after its superblock is
 * written and before it unpins what it freed, when the committed image is complete and nothing can reuse its blocks
 * yet. The stress runner installs a btrfs check of the committed image here under
 * {@code -Djbtrfs.stress.checkEveryCommit=true}, so damage a later commit would heal (a stale pointer whose tree is
 * rewritten again) is caught in the commit that wrote it. Unset, a commit pays one volatile read.
 */
public final class CommitProbe {
    private static volatile ObjLongConsumer<FsInfo> afterSuper;
    private static volatile boolean traceDirtying;

    private CommitProbe() { }

    /**
     * Installs {@code probe} (null removes it) for every filesystem of this JVM. With a probe installed the btree
     * inode also records who dirtied each tree block ({@link BtreeInode#dirtyState()}, a stack per btrfs_mark_buffer_dirty:
     * slow) and warns at {@code port-debug/dirty-after-unblocked} when a block is dirtied through a transaction whose
     * commit already took its dirty_pages (UNBLOCKED or later), at {@code port-debug/dirty-after-commit-write} when a
     * block of a commit's set is dirty once the commit wrote it, and at {@code port-debug/stale-free} when a block is
     * freed through a buffer that is not the page cache's: each a change that would miss the image a commit writes.
     */
    public static void install(ObjLongConsumer<FsInfo> probe) {
        afterSuper = probe;
        traceDirtying = probe != null;
    }

    static boolean tracing() { return traceDirtying; }

    static void afterSuperWritten(FsInfo fs, long transid) {
        ObjLongConsumer<FsInfo> p = afterSuper;
        if (p != null) {
            p.accept(fs, transid);
        }
    }
}
