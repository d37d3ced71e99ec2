package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;

/**
 * Port instrumentation, no kernel counterpart: the transactions committed while the filesystem was settled
 * read-only — after its RO remount (btrfs_commit_super included) or its RO mount returned, before an RW remount
 * began. A read-only filesystem writes nothing, so each is a write to the device of a read-only mount by something
 * that started a transaction after the last commit: with the kernel's tree log an fsync there only ends its handle
 * and the transaction leaks through the umount; the port, without a tree log, commits it. The explorer's RO-leak
 * oracle reads these beside the transactions still open.
 */
public final class ReadOnlyWrites {
    /** Enough to name who wrote; more is the same evidence again. */
    static final int KEPT = 16;

    private boolean settled;
    private final List<Transaction> committed = new ArrayList<>();

    /** The RO remount or RO mount returned: from here on every commit is a write to a read-only filesystem. */
    public synchronized void settle() {
        settled = true;
        committed.clear();
    }

    /** An RW remount begins (its btrfs_start_pre_rw_mount commits legitimately): nothing recorded until the next settle. */
    public synchronized void unsettle() {
        settled = false;
        committed.clear();
    }

    /** {@code t} completed its commit (btrfs_commit_transaction's end). */
    synchronized void committed(Transaction t) {
        if (settled && committed.size() < KEPT) {
            committed.add(t);
        }
    }

    /** The transactions committed since the filesystem settled read-only, oldest first (at most {@value #KEPT}). */
    public synchronized List<Transaction> transactions() { return List.copyOf(committed); }
}
