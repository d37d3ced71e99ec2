package org.jbtrfs.transaction;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Hook;
import org.jbtrfs.transaction.space.SpaceReservations;

/**
 * kernel: flush_space() of fs/btrfs/space-info.c (5.11; 5.12's FORCE_COMMIT_TRANS), shared by the async reclaim
 * works: the metadata one ({@link AsyncReclaim}), the data one ({@link AsyncDataReclaim}), each for its own space_info
 * ({@code data}), and 5.12's preemptive one ({@link PreemptReclaim}).
 */
final class FlushSpace {
    private FlushSpace() { }

    /**
     * kernel: flush_space() — one flush state; advisory: its errors are not looked at, the tickets tell. The port runs
     * every delayed item and delayed ref where the kernel's _NR states run a number of them (the port has no partial
     * run).
     */
    static void flushSpace(FsInfo fs, boolean data, long numBytes, int state) {
        switch (state) {
            case 1, 2 -> { // FLUSH_DELAYED_ITEMS_NR, FLUSH_DELAYED_ITEMS
                TransHandle h = joinOrNull(fs);
                if (h != null) {
                    try {
                        fs.delayedInodes.runDelayedItems(h); // aborts the transaction itself on error
                    } catch (BtrfsException ignored) {
                        // the abort was reported
                    } finally {
                        Transactions.end(h);
                    }
                }
            }
            case 3, 4 -> { // FLUSH_DELAYED_REFS_NR, FLUSH_DELAYED_REFS
                TransHandle h = joinOrNull(fs);
                if (h != null) {
                    try {
                        ExtentCommit.runDelayedRefs(h);
                    } catch (BtrfsException e) {
                        Transactions.abort(h, "btrfs_run_delayed_refs", e);
                    } finally {
                        Transactions.end(h);
                    }
                }
            }
            case 5, 6 -> fs.delallocShrinker().shrink(numBytes, state == 6, data); // FLUSH_DELALLOC(_WAIT): shrink_delalloc
            case 7, 8 -> { // ALLOC_CHUNK, ALLOC_CHUNK_FORCE
                TransHandle h = joinOrNull(fs);
                if (h != null) {
                    try {
                        if (data) {
                            fs.space.allocDataChunkForced(h.newBgs); // the data work runs ALLOC_CHUNK_FORCE only
                        } else {
                            fs.space.allocMetadataChunk(state == 8, h.newBgs);
                        }
                    } finally {
                        Transactions.end(h); // btrfs_create_pending_block_groups inserts the new chunk's item
                    }
                }
            }
            case 9 -> { // RUN_DELAYED_IPUTS: btrfs_run_delayed_iputs, btrfs_wait_on_delayed_iputs
                fs.delayedIputRunner().run();
                fs.kernel.hooks().arrive(Hook.ASYNC_RECLAIM_BEFORE_WAIT_DELAYED_IPUTS);
                fs.delayedIputsWaiter().run();
            }
            case 10 -> mayCommitTransaction(fs, data); // COMMIT_TRANS
            case 11 -> forceCommitTransaction(fs); // FORCE_COMMIT_TRANS (5.12, the preemptive work's)
            default -> { }
        }
    }

    /** flush_space's btrfs_join_transaction(fs_info->extent_root); an error (IS_ERR) ends the state. */
    private static TransHandle joinOrNull(FsInfo fs) {
        try {
            return Transactions.join(fs, fs.extentRoot(), "flush_space");
        } catch (BtrfsException e) {
            return null;
        }
    }

    /** FORCE_COMMIT_TRANS (5.12): btrfs_join_transaction, then btrfs_commit_transaction — whatever it frees. */
    private static void forceCommitTransaction(FsInfo fs) {
        TransHandle h = joinOrNull(fs);
        if (h == null) {
            return;
        }
        try {
            Transactions.commit(h);
        } catch (BtrfsException ignored) {
            // flush_space only traces the error
        }
    }

    /**
     * kernel: may_commit_transaction() — commit only if it can satisfy the first ticket: the bytes it still needs
     * beyond the free space are pinned, or (metadata) sit in the delayed, delayed-refs and trans reserves, or the
     * transaction frees block groups (BTRFS_TRANS_HAVE_FREE_BGS).
     */
    private static void mayCommitTransaction(FsInfo fs, boolean data) {
        SpaceReservations r = fs.space.reservations;
        long needed = data ? r.dataCommitBytesNeeded() : r.commitBytesNeeded();
        if (needed == 0) {
            return;
        }
        TransHandle h = joinOrNull(fs);
        if (h == null) {
            return;
        }
        boolean haveFreeBgs;
        synchronized (h.transaction) {
            haveFreeBgs = !h.transaction.deletedBgs.isEmpty();
        }
        if (!(data ? r.dataCommitWorthIt(needed, haveFreeBgs) : r.commitWorthIt(needed, haveFreeBgs))) {
            Transactions.end(h);
            return;
        }
        try {
            Transactions.commit(h);
        } catch (BtrfsException ignored) {
            // flush_space only traces the error
        }
    }

}
