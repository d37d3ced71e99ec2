package org.jbtrfs.transaction;

import java.util.ArrayDeque;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsFlag;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.LatencyModel;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.kernel.SpinWatch;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.workqueue.DelayedWork;

/**
 * kernel: fs/btrfs/discard.c (5.11) — async discard, struct btrfs_discard_ctl. Freed space is not discarded at
 * commit: the block group goes on one of three lists (the unused one, and two filtered by a minimum discard length)
 * with an eligible time, and one delayed work, btrfs_discard_workfn on the "btrfs_discard" queue, discards one
 * region of the first eligible group per run and schedules itself again. A group that was emptied is discarded
 * whole first and only then handed to btrfs_mark_bg_unused, so the cleaner removes trimmed groups only.
 *
 * <p>Its lock is this object's monitor (discard_ctl->lock; the block groups' discard fields are guarded by it).
 * Left out: the filters' re-prioritisation on coalescing (btrfs_discard_check_filter), the kbps limit, the sysfs
 * statistics; the port's free space is a bitmap, so the extent and bitmap passes differ only in their length filters.
 */
public final class Discard {
    /** BTRFS_NR_DISCARD_LISTS, BTRFS_DISCARD_INDEX_UNUSED, BTRFS_DISCARD_INDEX_START. */
    static final int NR_LISTS = 3;
    static final int INDEX_UNUSED = 0;
    static final int INDEX_START = 1;
    /** BTRFS_DISCARD_DELAY: a group's first eligible time, to give freed blocks a chance of reuse. */
    static final long DELAY_NANOS = 120_000_000_000L;
    /** BTRFS_DISCARD_UNUSED_DELAY. */
    static final long UNUSED_DELAY_NANOS = 10_000_000_000L;
    /** BTRFS_ASYNC_DISCARD_MAX_FILTER, BTRFS_ASYNC_DISCARD_MIN_FILTER: the minimum lengths of the filtered lists. */
    static final long[] MINLEN = {0, 1L << 20, 32L << 10};
    /** BTRFS_DISCARD_TARGET_MSEC, _MIN_DELAY_MSEC, _MAX_DELAY_MSEC, and 5.11's default iops_limit (BTRFS_DISCARD_MAX_IOPS). */
    private static final long TARGET_MSEC = 6 * 60 * 60 * 1000L;
    private static final long MAX_DELAY_MSEC = 1000;
    private static final long IOPS_LIMIT = 10;
    /** The modelled cost of one discard request (a small write's). */
    private static final long DISCARD_NANOS = 50_000L;

    private final FsInfo fs;
    @SuppressWarnings("unchecked")
    private final ArrayDeque<BlockGroup>[] lists = new ArrayDeque[NR_LISTS];
    /** discard_ctl->block_group: the group the work is discarding now. */
    private BlockGroup current;
    /** discard_ctl->delay, nanoseconds. */
    private long delayNanos = MAX_DELAY_MSEC * 1_000_000L;
    private volatile DelayedWork work;
    private long discardedBytes;

    Discard(FsInfo fs) {
        this.fs = fs;
        for (int i = 0; i < NR_LISTS; i++) {
            lists[i] = new ArrayDeque<>();
        }
    }

    /** kernel: INIT_DELAYED_WORK(&discard_ctl->work, btrfs_discard_workfn) once the "btrfs_discard" queue exists. */
    void init() {
        work = new DelayedWork(fs.kernel, fs.workqueues().discardWorkers, "btrfs_discard " + fs.sbId(), this::workfn);
    }

    private long scaled(long nanos) { return nanos / fs.kernel.config().discardTimeDivisor(); }

    private long now() { return fs.kernel.clock().nanoTime(); }

    /** kernel: btrfs_run_discard_work() — the filesystem is writable and BTRFS_FS_DISCARD_RUNNING is set. */
    public boolean runDiscardWork() { return !fs.sbRdonly() && fs.flags.test(FsFlag.DISCARD_RUNNING); }

    /** list_move_tail(&bg->discard_list, list). */
    private void moveTail(BlockGroup bg, int list) {
        listDelInit(bg);
        bg.discardList = list;
        lists[list].addLast(bg);
    }

    /** list_del_init(&bg->discard_list). */
    private void listDelInit(BlockGroup bg) {
        if (bg.discardList >= 0) {
            lists[bg.discardList].remove(bg);
            bg.discardList = -1;
        }
    }

    /**
     * kernel: __add_to_discard_list() — a group new on the lists (or leaving the unused one) starts from the first
     * filtered list with BTRFS_DISCARD_DELAY; then it moves to its list's tail. Before 2025's fix it first tests
     * btrfs_run_discard_work and does nothing when discard stopped: the group stays where it is.
     */
    private void addToDiscardListLocked(BlockGroup bg) {
        if (!fs.applied(FixSwitch.DISCARD_WORKER_INFINITE_LOOP) && !runDiscardWork()) {
            return;
        }
        if (bg.discardList < 0 || bg.discardIndex == INDEX_UNUSED) {
            if (bg.discardIndex == INDEX_UNUSED) {
                bg.discardIndex = INDEX_START;
            }
            bg.discardEligibleTime = now() + scaled(DELAY_NANOS);
            bg.discardState = BlockGroup.DiscardState.RESET_CURSOR;
        }
        moveTail(bg, bg.discardIndex);
    }

    /** kernel: add_to_discard_list() — data-only groups only (2025's fix tests btrfs_run_discard_work here). */
    private void addToDiscardList(BlockGroup bg) {
        if (!bg.dataOnly()) {
            return;
        }
        if (fs.applied(FixSwitch.DISCARD_WORKER_INFINITE_LOOP) && !runDiscardWork()) {
            return;
        }
        synchronized (this) {
            addToDiscardListLocked(bg);
        }
    }

    /** kernel: add_to_discard_unused_list() — an emptied group goes to the unused list, eligible after 10 s. */
    private synchronized void addToDiscardUnusedList(BlockGroup bg) {
        if (!runDiscardWork()) {
            return;
        }
        bg.discardIndex = INDEX_UNUSED;
        bg.discardEligibleTime = now() + scaled(UNUSED_DELAY_NANOS);
        bg.discardState = BlockGroup.DiscardState.RESET_CURSOR;
        moveTail(bg, INDEX_UNUSED);
    }

    /** kernel: remove_from_discard_list() — true when the work is discarding this very group. */
    private synchronized boolean removeFromDiscardList(BlockGroup bg) {
        boolean running = false;
        if (bg == current) {
            running = true;
            current = null;
        }
        bg.discardEligibleTime = 0;
        listDelInit(bg);
        return running;
    }

    /** kernel: find_next_block_group() — the head of the lists with the earliest eligible time (an eligible one first). */
    private BlockGroup findNextBlockGroup(long now) {
        BlockGroup ret = null;
        for (int i = 0; i < NR_LISTS; i++) {
            BlockGroup bg = lists[i].peekFirst();
            if (bg != null) {
                if (ret == null) {
                    ret = bg;
                }
                if (ret.discardEligibleTime < now) {
                    break;
                }
                if (ret.discardEligibleTime > bg.discardEligibleTime) {
                    ret = bg;
                }
            }
        }
        return ret;
    }

    /** What peek_discard_list hands the work: the group, and its state and index as they were then. */
    private record Peeked(BlockGroup bg, BlockGroup.DiscardState state, int index) { }

    /**
     * kernel: peek_discard_list() — the next eligible group, made the current one. A group on the unused list that got
     * an extent since leaves it first (a data group to a filtered list, another off the lists) and the search starts
     * again: with __add_to_discard_list doing nothing once discard stopped, that is the same group again, for ever.
     */
    private Peeked peekDiscardList() {
        long now = now();
        SpinWatch spin = null;
        synchronized (this) {
            while (true) {
                BlockGroup bg = findNextBlockGroup(now);
                if (bg == null || now <= bg.discardEligibleTime) {
                    return null;
                }
                if (bg.discardIndex == INDEX_UNUSED && fs.space.used(bg) != 0) {
                    if (bg.dataOnly()) {
                        addToDiscardListLocked(bg);
                    } else {
                        listDelInit(bg);
                    }
                    if (spin == null) {
                        spin = new SpinWatch(fs.kernel, "btrfs_discard_workfn");
                    }
                    spin.turn(); // goto again, still holding discard_ctl->lock
                    continue;
                }
                if (bg.discardState == BlockGroup.DiscardState.RESET_CURSOR) {
                    bg.discardCursor = bg.start();
                    bg.discardState = BlockGroup.DiscardState.EXTENTS;
                }
                current = bg;
                return new Peeked(bg, bg.discardState, bg.discardIndex);
            }
        }
    }

    /** kernel: btrfs_update_discard_index() — on to the next filtered list; after the last one it falls off. */
    private void updateDiscardIndex(BlockGroup bg) {
        bg.discardIndex++;
        if (bg.discardIndex == NR_LISTS) {
            bg.discardIndex = INDEX_START;
            return;
        }
        addToDiscardList(bg);
    }

    /** kernel: btrfs_discard_cancel_work() — off the lists; if the work is on it, wait for the work and reschedule. */
    public void cancelWork(BlockGroup bg) {
        if (removeFromDiscardList(bg) && work != null) {
            work.cancelSync();
            scheduleWork(true);
        }
    }

    /** kernel: btrfs_discard_queue_work() — an emptied group to the unused list, another to a filtered list. */
    public void queueWork(BlockGroup bg) {
        if (bg == null || work == null || !fs.mountOpt.test(MountOpt.DISCARD_ASYNC)) {
            return;
        }
        if (fs.space.used(bg) == 0) {
            addToDiscardUnusedList(bg);
        } else {
            addToDiscardList(bg);
        }
        if (!work.pending()) {
            scheduleWork(false);
        }
    }

    /** kernel: btrfs_discard_schedule_work() — arm the work for the next group, not before its eligible time. */
    public synchronized void scheduleWork(boolean override) {
        if (work == null || !runDiscardWork()) {
            return;
        }
        if (!override && work.pending()) {
            return;
        }
        long now = now();
        BlockGroup bg = findNextBlockGroup(now);
        if (bg != null) {
            long delay = scaled(delayNanos);
            if (now < bg.discardEligibleTime) {
                delay = Math.max(delay, bg.discardEligibleTime - now);
            }
            work.mod(delay);
        }
    }

    /**
     * kernel: btrfs_finish_discard_pass() — a group discarded to its end: an empty one that is fully trimmed goes to
     * unused_bgs for the cleaner (or back to the unused list), a used one on to the next filter.
     */
    private void finishDiscardPass(BlockGroup bg) {
        removeFromDiscardList(bg);
        if (fs.space.used(bg) == 0) {
            if (fs.space.isFreeSpaceTrimmed(bg)) {
                fs.space.markUnused(bg);
            } else {
                addToDiscardUnusedList(bg);
            }
        } else {
            updateDiscardIndex(bg);
        }
    }

    /** kernel: btrfs_discard_workfn() — discard one region of the next group, then schedule the next run. */
    private void workfn() {
        fs.kernel.hooks().arrive(Hook.DISCARD_WORKFN_BEFORE_PEEK);
        Peeked p = peekDiscardList();
        if (p == null || !runDiscardWork()) {
            return;
        }
        BlockGroup bg = p.bg();
        long minlen = MINLEN[p.index()];
        long maxlen = p.state() == BlockGroup.DiscardState.BITMAPS && p.index() != INDEX_UNUSED ? MINLEN[p.index() - 1] : 0;
        long[] region = fs.space.trimNext(bg, bg.discardCursor, minlen, maxlen);
        long trimmed = 0;
        if (region != null) {
            LatencyModel.delay(fs.kernel.config().latency().writeNanos() > 0 ? DISCARD_NANOS : 0); // the discard request
            trimmed = region[1];
            bg.discardCursor = region[0] + region[1];
        } else {
            bg.discardCursor = bg.end();
        }
        if (bg.discardCursor >= bg.end()) {
            if (p.state() == BlockGroup.DiscardState.BITMAPS) {
                finishDiscardPass(bg);
            } else {
                bg.discardCursor = bg.start();
                synchronized (this) {
                    if (bg.discardState != BlockGroup.DiscardState.RESET_CURSOR) {
                        bg.discardState = BlockGroup.DiscardState.BITMAPS;
                    }
                }
            }
        }
        synchronized (this) {
            discardedBytes += trimmed;
            current = null;
        }
        scheduleWork(false);
    }

    /**
     * kernel: btrfs_discard_calc_delay() — the base delay spreads the discardable extents over six hours, within
     * [1000 / iops_limit ms, 1 s]. The port counts the groups on the lists as its discardable extents.
     */
    public synchronized void calcDelay() {
        int extents = 0;
        for (ArrayDeque<BlockGroup> l : lists) {
            extents += l.size();
        }
        if (extents == 0) {
            return;
        }
        long ms = Math.max(1000 / IOPS_LIMIT, Math.min(MAX_DELAY_MSEC, TARGET_MSEC / extents));
        delayNanos = ms * 1_000_000L;
    }

    /** kernel: btrfs_discard_punt_unused_bgs_list() — every group of unused_bgs to the unused discard list. */
    private void puntUnusedBgsList() {
        for (BlockGroup bg : fs.space.takeUnused()) {
            queueWork(bg);
        }
    }

    /** kernel: btrfs_discard_resume() — async discard on: punt the unused groups, set BTRFS_FS_DISCARD_RUNNING. */
    public void resume() {
        if (!fs.mountOpt.test(MountOpt.DISCARD_ASYNC)) {
            cleanup();
            return;
        }
        puntUnusedBgsList();
        fs.flags.set(FsFlag.DISCARD_RUNNING);
    }

    /** kernel: btrfs_discard_stop() — clear BTRFS_FS_DISCARD_RUNNING (a transaction abort does only this). */
    public void stop() { fs.flags.clear(FsFlag.DISCARD_RUNNING); }

    /** kernel: btrfs_discard_purge_list() — every group off the lists, the empty ones back to unused_bgs. */
    private void purgeList() {
        while (true) {
            BlockGroup bg;
            synchronized (this) {
                bg = null;
                for (ArrayDeque<BlockGroup> l : lists) {
                    if (!l.isEmpty()) {
                        bg = l.peekFirst();
                        break;
                    }
                }
                if (bg == null) {
                    return;
                }
                listDelInit(bg);
            }
            if (fs.space.used(bg) == 0) {
                fs.space.markUnused(bg);
            }
        }
    }

    /** kernel: btrfs_discard_cleanup() — stop, cancel the work (waiting for a running one), purge the lists. */
    public void cleanup() {
        stop();
        DelayedWork w = work;
        if (w != null) {
            w.cancelSync();
        }
        purgeList();
    }

    /** Groups on the discard lists, per list (unused, then the two filtered ones): for tests and inspection. */
    public synchronized int[] listSizes() {
        int[] out = new int[NR_LISTS];
        for (int i = 0; i < NR_LISTS; i++) {
            out[i] = lists[i].size();
        }
        return out;
    }

    /** Bytes discarded so far (discard_ctl->discard_extent_bytes + discard_bitmap_bytes). */
    public synchronized long discardedBytes() { return discardedBytes; }

    /** The delayed work (its state, for tests and hang reports). */
    public DelayedWork work() { return work; }
}
