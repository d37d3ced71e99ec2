package org.jbtrfs.workqueue;

import java.util.ArrayDeque;

/**
 * The ordered works of one sub-queue in submission order (kernel: ordered_list and list_lock of
 * struct __btrfs_workqueue) and the loop that runs their ordered parts (kernel: run_ordered_work).
 *
 * <p>A plain lock, as the kernel's spinlock: every critical section is O(1), and queueing must
 * append under the same lock the runners inspect the head with, which a lock-free queue would not
 * make simpler (runners on several threads peek the head, so it is not single-consumer).
 */
final class OrderedList {
    private final SubQueue owner;
    private final ArrayDeque<BtrfsWork> list = new ArrayDeque<>(); // guarded by this

    OrderedList(SubQueue owner) { this.owner = owner; }

    /** Appends at queueing time; the list order is the submission order. */
    synchronized void add(BtrfsWork work) { list.addLast(work); }

    synchronized int size() { return list.size(); }

    /** "3 (head: func done, ordered running)": the list's length and its head's state, for a hang report. */
    synchronized String debugState() {
        BtrfsWork head = list.peekFirst();
        return list.size() + (head == null ? "" : " (head: func " + (head.done ? "done" : "not done") + ", ordered "
            + (head.orderDone ? "running" : "waiting") + ")");
    }

    /**
     * kernel: run_ordered_work() in fs/btrfs/async-thread.c — called by the worker whose func just
     * finished: runs the ordered parts of every leading work whose func is done, oldest first.
     *
     * <p>The head stays on the list, flagged orderDone, while its ordered parts run: it is the
     * barrier that makes any other worker arriving here stop, so ordered parts never overlap and never
     * overtake. Whoever holds the head re-checks the next one after removing it, so a func that finished
     * meanwhile is not missed (its worker either sees the new head itself, or found the barrier and the
     * holder sees its done flag, written before that worker took this lock).
     *
     * <p>Unlike the kernel, ordered_free also runs here for every work in order, including the
     * worker's own: the kernel defers freeing the work it is executing until after the loop because
     * the kworker still references that memory, which a Java reference makes safe.
     */
    void run() {
        while (true) {
            BtrfsWork work;
            synchronized (this) {
                work = list.peekFirst();
                if (work == null || !work.done || work.orderDone) {
                    return;
                }
                work.orderDone = true;
            }
            int color = work.color; // read before ordered_free, which may recycle the work
            owner.runGuarded(work.orderedFunc(), "ordered_func");
            owner.runGuarded(work.orderedFree(), "ordered_free");
            synchronized (this) {
                list.pollFirst(); // still `work`: nobody else removes a head flagged orderDone
            }
            work.release();
            owner.completed(color);
        }
    }
}
