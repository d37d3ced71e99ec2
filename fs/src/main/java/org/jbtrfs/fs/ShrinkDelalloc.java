package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.Inodes;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelVersion;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.transaction.AsyncReclaim;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.WbSyncMode;

/**
 * kernel: shrink_delalloc() in fs/btrfs/space-info.c with btrfs_start_delalloc_roots(fs_info, nr, true) and
 * start_delalloc_inodes() of fs/btrfs/inode.c (5.11) — the async reclaim work's FLUSH_DELALLOC states: write back up to
 * twice the items' worth of delalloc, inode by inode (igrab, sync_inode WB_SYNC_NONE, then btrfs_add_delayed_iput: the
 * work's reference is dropped by the cleaner), up to three rounds while tickets wait; FLUSH_DELALLOC_WAIT waits for the
 * ordered extents after each round (up to the items' count of them), FLUSH_DELALLOC sleeps a jiffy. The port keeps no
 * delalloc_inodes list: an inode is on it while it has delalloc bytes and no abort's cleanup took it off
 * ({@link InodeData#onDelallocList}).
 */
final class ShrinkDelalloc implements FsInfo.DelallocShrinker {
    /** One jiffy at HZ=250: schedule_timeout_killable(1). */
    private static final long JIFFY_NANOS = 4_000_000L;
    private static final int PAGE_SHIFT = 12;
    /** kernel: EXTENT_SIZE_PER_ITEM. */
    private static final long EXTENT_SIZE_PER_ITEM = 256L << 10;

    private final FsContext ctx;
    /** fs_info->delalloc_root_mutex: one btrfs_start_delalloc_roots at a time. */
    private final Mutex delallocRootMutex;
    /** Each root's delalloc_mutex, by objectid: one start_delalloc_inodes per root at a time. */
    private final Map<Long, Mutex> delallocMutexes = new ConcurrentHashMap<>();

    ShrinkDelalloc(FsContext ctx) {
        this.ctx = ctx;
        this.delallocRootMutex = new Mutex("delalloc_root_mutex", ctx.fs.kernel.lockdep(), "&fs_info->delalloc_root_mutex");
    }

    @Override
    public void shrink(long toReclaim, boolean waitOrdered, boolean data) {
        // U64_MAX (the data work): every page; else twice the items' worth
        long items = toReclaim == Long.MAX_VALUE ? Long.MAX_VALUE : AsyncReclaim.calcReclaimItemsNr(toReclaim) * 2;
        long reclaimBytes = items == Long.MAX_VALUE ? Long.MAX_VALUE : items * EXTENT_SIZE_PER_ITEM;
        long delallocBytes = delallocBytes();
        // 5.12 weighs the ordered extents in flight (fs_info->ordered_bytes) where 5.11 weighed direct IO (none here)
        boolean v512 = ctx.fs.kernel.config().version() == KernelVersion.V5_12;
        long orderedBytes = v512 ? orderedBytes() : 0;
        if (delallocBytes == 0 && orderedBytes == 0) {
            if (waitOrdered && !v512) {
                ctx.ordered.waitOrderedRoots(items); // 5.11: with nothing to write, still wait for the ordered extents
            }
            return;
        }
        if (orderedBytes > delallocBytes) {
            waitOrdered = true; // 5.12: mostly ordered extents — waiting for them is what frees space
        }
        int loops = 0;
        while ((delallocBytes > 0 || orderedBytes > 0) && loops < 3) {
            long nrPages = Math.min(delallocBytes, reclaimBytes) >> PAGE_SHIFT;
            startDelallocRoots(Math.max(nrPages, 1));
            loops++;
            if (waitOrdered) {
                ctx.ordered.waitOrderedRoots(items);
            } else {
                LockSupport.parkNanos(JIFFY_NANOS); // schedule_timeout_killable(1): nothing wakes it early
            }
            var r = ctx.fs.space.reservations;
            if ((data ? r.dataTicketsWaiting() : r.ticketsWaiting()) == 0) {
                break;
            }
            delallocBytes = delallocBytes();
            orderedBytes = v512 ? orderedBytes() : 0;
        }
    }

    /**
     * kernel: btrfs_start_delalloc_roots(fs_info, nr, in_reclaim_context = true) — not a full flush. Nothing on a
     * filesystem in error (-EROFS, which shrink_delalloc ignores: a round already past this test goes on). Under
     * fs_info->delalloc_root_mutex, root by root ({@link #startDelallocInodes}) until {@code nrPages} pages are written
     * (wbc.nr_to_write). The three reclaim works flush delalloc one at a time through these mutexes.
     */
    private void startDelallocRoots(long nrPages) {
        if (ctx.fs.fsState.test(FsState.ERROR)) {
            return;
        }
        delallocRootMutex.lock();
        try {
            long nrToWrite = nrPages;
            for (Root root : delallocRoots()) {
                nrToWrite = startDelallocInodes(root, nrToWrite);
                if (nrToWrite <= 0) {
                    return;
                }
            }
        } finally {
            delallocRootMutex.unlock();
        }
    }

    /**
     * kernel: start_delalloc_inodes(root, wbc, false, true) in fs/btrfs/inode.c — under the root's delalloc_mutex, each
     * inode of the root's delalloc list written here and now (igrab, sync_inode WB_SYNC_NONE), its reference handed to
     * btrfs_add_delayed_iput ({@link Hook#SHRINK_DELALLOC_BEFORE_DELAYED_IPUT} between the two), until nr_to_write is
     * used up. Returns what is left of it. The port's writeback takes all of an inode's dirty ranges at once, and its
     * compressed writes need no second sync_inode (BTRFS_INODE_HAS_ASYNC_EXTENT is not modelled).
     */
    private long startDelallocInodes(Root root, long nrToWrite) {
        Mutex mutex = delallocMutexes.computeIfAbsent(root.objectid(),
            id -> new Mutex("delalloc_mutex", ctx.fs.kernel.lockdep(), "&root->delalloc_mutex"));
        mutex.lock();
        try {
            Inodes inodes = ctx.cleaner.inodes();
            for (InodeData d : delallocInodes()) {
                Inode in = d.inode;
                if (in.root() != root || !inodes.igrab(in)) {
                    continue;
                }
                long before = d.delallocBytes();
                ctx.writeback.writeInode(d, WbSyncMode.NONE, null);
                ctx.fs.kernel.hooks().arrive(Hook.SHRINK_DELALLOC_BEFORE_DELAYED_IPUT);
                ctx.cleaner.delayedIputs().add(in);
                nrToWrite -= (before + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
                if (nrToWrite <= 0) {
                    break;
                }
            }
            return nrToWrite;
        } finally {
            mutex.unlock();
        }
    }

    /** fs_info->delalloc_roots, as the splice takes them: the roots of the listed inodes, in the order they come. */
    private List<Root> delallocRoots() {
        Set<Root> roots = new LinkedHashSet<>();
        for (InodeData d : delallocInodes()) {
            roots.add(d.inode.root());
        }
        return new ArrayList<>(roots);
    }

    private List<InodeData> delallocInodes() { return DelallocInodes.list(ctx.cleaner.inodes()); }

    /** kernel: percpu_counter_sum_positive(&fs_info->ordered_bytes) — the bytes of the ordered extents not yet removed. */
    @Override
    public long orderedBytes() { return ctx.ordered.bytes(); }

    /** kernel: percpu_counter_sum_positive(&fs_info->delalloc_bytes) — every inode's, on a delalloc list or not. */
    @Override
    public long delallocBytes() { return DelallocInodes.bytes(ctx.cleaner.inodes()); }
}
