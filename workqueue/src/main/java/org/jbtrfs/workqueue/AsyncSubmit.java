package org.jbtrfs.workqueue;

import java.util.Objects;
import java.util.function.Consumer;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.kernel.Kernel;

/**
 * Asynchronous bio submission on fs_info->workers (kernel: btrfs_wq_submit_bio and the
 * run_one_async_* functions in fs/btrfs/disk-io.c): the start step (checksumming) runs on any
 * worker, concurrently; the done step (mapping and writing) runs in submission order; then free.
 *
 * <p>Generic over the bio type {@code B}: the caller (the transaction module's metadata write path)
 * supplies the steps. One instance per filesystem; {@link #submit} per bio.
 *
 * @param <B> the bio
 */
public final class AsyncSubmit<B> {
    /**
     * The start hook (kernel: extent_submit_bio_start_t, e.g. btree_submit_bio_start): null on
     * success, else the status to end the bio with (a thrown {@link BtrfsException} counts as its errno).
     */
    @FunctionalInterface
    public interface Start<B> {
        Errno start(B bio);
    }

    /**
     * Map and write the bio (kernel: btrfs_map_bio): null on success, else the status to end the bio
     * with (a thrown {@link BtrfsException} counts as its errno).
     */
    @FunctionalInterface
    public interface MapBio<B> {
        Errno map(B bio);
    }

    /** End the bio with an error status (kernel: bio->bi_status = status; bio_endio(bio)). */
    @FunctionalInterface
    public interface EndIo<B> {
        void endIo(B bio, Errno status);
    }

    private final Kernel kernel;
    private final Start<B> start;
    private final MapBio<B> map;
    private final EndIo<B> endIo;
    private final Consumer<? super B> free;

    /**
     * @param free runs last for every bio (kernel: run_one_async_free's kfree of async_submit_bio);
     *             may be null
     */
    public AsyncSubmit(Kernel kernel, Start<B> start, MapBio<B> map, EndIo<B> endIo, Consumer<? super B> free) {
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.start = Objects.requireNonNull(start, "start");
        this.map = Objects.requireNonNull(map, "map");
        this.endIo = Objects.requireNonNull(endIo, "endIo");
        this.free = free;
    }

    /**
     * kernel: btrfs_wq_submit_bio() in fs/btrfs/disk-io.c — wraps {@code bio} in an async work,
     * marks it high priority for a sync bio (REQ_SYNC), and queues it on {@code workers} with no
     * check that the queue is still alive: on a destroyed queue this is the use-after-free in
     * btrfs_queue_work. Arrives at {@link Hook#ASYNC_SUBMIT_BEFORE_QUEUE} just before queueing.
     * Returns the queued work.
     */
    public BtrfsWork submit(BtrfsWorkqueue workers, B bio, boolean sync) {
        Objects.requireNonNull(bio, "bio");
        Async async = new Async(bio);
        if (sync) {
            async.work.setHighPriority();
        }
        kernel.hooks().arrive(Hook.ASYNC_SUBMIT_BEFORE_QUEUE);
        workers.queueWork(async.work);
        return async.work;
    }

    /** kernel: struct async_submit_bio. */
    private final class Async {
        final B bio;
        /**
         * kernel: async->status. Written by the start step, read by the done step, possibly on another
         * worker: ordered by the work's volatile done flag and the ordered list's lock.
         */
        Errno status;
        final BtrfsWork work;

        Async(B bio) {
            this.bio = bio;
            this.work = new BtrfsWork(this::runStart, this::runDone, this::runFree);
        }

        /** kernel: run_one_async_start() in fs/btrfs/disk-io.c — checksum; remember a failure. */
        void runStart() {
            try {
                status = start.start(bio);
            } catch (BtrfsException e) {
                status = e.errno();
            } catch (RuntimeException | Error e) {
                status = Errno.EIO; // never write a bio whose checksum step blew up
                throw e;           // and let the worker report the oops
            }
        }

        /** kernel: run_one_async_done() in fs/btrfs/disk-io.c — on error end the bio, else map and write it. */
        void runDone() {
            if (status != null) {
                endIo.endIo(bio, status);
                return;
            }
            Errno ret;
            try {
                ret = map.map(bio);
            } catch (BtrfsException e) {
                ret = e.errno();
            }
            if (ret != null) {
                endIo.endIo(bio, ret);
            }
        }

        /** kernel: run_one_async_free() in fs/btrfs/disk-io.c. */
        void runFree() {
            if (free != null) {
                free.accept(bio);
            }
        }
    }
}
