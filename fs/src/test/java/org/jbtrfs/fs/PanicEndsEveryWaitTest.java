package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * A panic ends every sleep of the module's tasks — a dead kthread or a hang is reported, never a thread left
 * behind. Port bug found by the explorer (--kernel 5.12, lanes): the data path's waits (an ordered extent's
 * COMPLETE and last put, a file's and the btree inode's page writeback) slept on plain monitors outside
 * {@code Sched}, so after the watchdog panicked a module for a lost wake-up, a lane in closeFromWorker waited
 * on forever, was abandoned by its driver and stayed alive after rmmod; inspect().blockedOn() could not name
 * those sleeps either. They now sleep through Sched (TASK_UNINTERRUPTIBLE, named), like every other wait.
 */
class PanicEndsEveryWaitTest {

    @Test
    void aCloseWaitingForItsOrderedExtentEndsWithThePanic() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            Btrfs fs = r.mountSettled("");
            fs.createFile("f");
            FileHandle h = fs.open("f");
            // the endio-write worker holds the ordered extent: the close waits for its last put
            r.mod.hooks().parkAt(Hook.ORDERED_EXTENT_BEFORE_FINISH);
            TestThread<Void> close = TestThread.run("closer", h::closeFromWorker)
                .describedBy(n -> fs.inspect().blockedOn().get(n))
                .awaitBlockedOn("wait for the last btrfs_put_ordered_extent");

            r.mod.kernel().panic("test: a hung task elsewhere");

            assertInstanceOf(KernelPanic.class, close.failure());
            r.mod.hooks().reset();
        }
    }
}
