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

    private CommitProbe() { }

    /** Installs {@code probe} (null removes it) for every filesystem of this JVM. */
    public static void install(ObjLongConsumer<FsInfo> probe) { afterSuper = probe; }

    static void afterSuperWritten(FsInfo fs, long transid) {
        ObjLongConsumer<FsInfo> p = afterSuper;
        if (p != null) {
            p.accept(fs, transid);
        }
    }
}
