package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

class AsyncSubmitTest extends PoolFixture {

    /** A metadata bio as far as this module cares: an id and the bytes to checksum. */
    static final class Bio {
        final int id;
        final byte[] data;
        volatile int csum;

        Bio(int id) {
            this.id = id;
            this.data = ("tree block " + id).getBytes();
        }
    }

    final List<Integer> written = Collections.synchronizedList(new ArrayList<>());
    final Map<Integer, Errno> ended = new ConcurrentHashMap<>();
    final List<Integer> freed = Collections.synchronizedList(new ArrayList<>());

    AsyncSubmit<Bio> submitter(AsyncSubmit.Start<Bio> start) {
        return new AsyncSubmit<>(kernel, start,
            bio -> {
                assertEquals(kernel.crc32c().compute(bio.data), bio.csum, "written after its checksum");
                written.add(bio.id);
                return null;
            },
            (bio, status) -> ended.put(bio.id, status),
            bio -> freed.add(bio.id));
    }

    /**
     * Checksums run concurrently and finish out of order (bio 0's start waits until bio 1's finished),
     * yet the writes go out in submission order, each after its own checksum, and every bio is freed.
     */
    @Test
    void writesGoOutInSubmissionOrderAfterConcurrentChecksums() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 4);
        CountDownLatch bio1Summed = new CountDownLatch(1);
        AsyncSubmit<Bio> async = submitter(bio -> {
            if (bio.id == 0) {
                TestThread.await(bio1Summed);
            }
            bio.csum = kernel.crc32c().compute(bio.data);
            if (bio.id == 1) {
                bio1Summed.countDown();
            }
            return null;
        });
        for (int i = 0; i < 40; i++) {
            async.submit(fs.workers, new Bio(i), false);
        }
        fs.workers.flush();
        List<Integer> all = IntStream.range(0, 40).boxed().toList();
        assertEquals(all, written);
        assertEquals(all, freed);
        assertTrue(ended.isEmpty());
        assertEquals(40, fs.workers.normal().executed());
        fs.stopAll();
    }

    /** A failed checksum skips the write: the bio is ended with that error, in order, and still freed. */
    @Test
    void failedStartEndsTheBioWithItsError() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 4);
        AsyncSubmit<Bio> async = submitter(bio -> {
            bio.csum = kernel.crc32c().compute(bio.data);
            return bio.id == 1 ? Errno.EIO : null;
        });
        for (int i = 0; i < 3; i++) {
            async.submit(fs.workers, new Bio(i), false);
        }
        fs.workers.flush();
        assertEquals(List.of(0, 2), written);
        assertEquals(Map.of(1, Errno.EIO), ended);
        assertEquals(List.of(0, 1, 2), freed);
        fs.stopAll();
    }

    /** A sync bio (REQ_SYNC) is a high-priority work: it goes to btrfs-worker-high. */
    @Test
    void syncBioGoesToTheHighSubQueue() {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 4);
        AsyncSubmit<Bio> async = submitter(bio -> {
            bio.csum = kernel.crc32c().compute(bio.data);
            return null;
        });
        BtrfsWork work = async.submit(fs.workers, new Bio(7), true);
        assertTrue(work.isHighPriority());
        fs.workers.flush();
        assertEquals(1, fs.workers.high().executed());
        assertEquals(0, fs.workers.normal().executed());
        assertEquals(List.of(7), written);
        fs.stopAll();
    }

    /**
     * The seed's crash in miniature: 1. a writeback parks just before btrfs_queue_work; 2. umount
     * stops all workers; 3. the writeback resumes and queues on the freed fs_info->workers → KASAN
     * use-after-free in btrfs_queue_work, and nothing is written.
     */
    @Test
    void submitAfterStopAllWorkersIsTheUseAfterFree() throws Exception {
        FsWorkqueues fs = FsWorkqueues.init(pool, "sdc", 4);
        AsyncSubmit<Bio> async = submitter(bio -> null);
        kernel.hooks().parkAt(Hook.ASYNC_SUBMIT_BEFORE_QUEUE);
        TestThread<Void> writeback = TestThread.run("umount", () -> async.submit(fs.workers, new Bio(1), false));
        kernel.hooks().awaitParked(Hook.ASYNC_SUBMIT_BEFORE_QUEUE, Duration.ofSeconds(10));
        fs.stopAll();
        kernel.hooks().release(Hook.ASYNC_SUBMIT_BEFORE_QUEUE);
        Throwable failure = writeback.failure();
        assertTrue(failure instanceof KernelOops, String.valueOf(failure));
        String report = kernel.log().matching(e -> e.kind() == LogEntry.Kind.USE_AFTER_FREE).get(0).message();
        assertTrue(report.startsWith("BUG: KASAN: use-after-free in btrfs_queue_work"), report);
        assertTrue(report.contains("btrfs-worker (device sdc)"), report);
        assertTrue(report.contains("AsyncSubmit.submit"), report);
        assertTrue(written.isEmpty());
        assertTrue(freed.isEmpty());
    }
}
