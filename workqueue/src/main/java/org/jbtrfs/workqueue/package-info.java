/**
 * btrfs workqueues: a port of fs/btrfs/async-thread.c and the async bio submission of
 * fs/btrfs/disk-io.c.
 *
 * <ul>
 *   <li>{@link org.jbtrfs.workqueue.WorkerPool} — the module's kworkers: a fixed set of real threads
 *       shared by every queue of every filesystem of one loaded module.</li>
 *   <li>{@link org.jbtrfs.workqueue.BtrfsWorkqueue} — struct btrfs_workqueue: normal and high
 *       sub-queues, max_active, thresholds, ordered work, flush, destroy (drain, then poison).</li>
 *   <li>{@link org.jbtrfs.workqueue.BtrfsWork} — struct btrfs_work.</li>
 *   <li>{@link org.jbtrfs.workqueue.FsWorkqueues} — the per-filesystem set: btrfs_init_workqueues
 *       and btrfs_stop_all_workers.</li>
 *   <li>{@link org.jbtrfs.workqueue.AsyncSubmit} — btrfs_wq_submit_bio.</li>
 * </ul>
 *
 * <p>The concurrency design (token per sub-queue, JCTools queues, the Dekker pairs that prevent lost
 * work and lost wake-ups) is written down in {@code WorkerPool}, {@code SubQueue} and
 * {@code InFlight}, next to the atomics it reasons about.
 */
package org.jbtrfs.workqueue;
