package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.ModelCheck;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.junit.jupiter.api.Test;

/**
 * {@link WorkerPool}'s token invariant under Lincheck's model checker: a sub-queue's token is offered on
 * its runnable queue before the permit that stands for it is released, and only permit holders poll; so
 * the free permits plus the kworkers between acquire and poll never exceed the queued tokens, and a
 * kworker holding a permit finds a token without waiting for anybody — its retry loop in takeRunnable only
 * covers another permit holder taking a token between the high and the normal poll, whose own token is
 * then still queued. Two producers queue on a normal and a high sub-queue while a kworker takes one
 * permit; the check fails if the kworker ever spins waiting for a producer (obstruction freedom), and after
 * every execution the free permits must equal the queued tokens and both works must run exactly once.
 * Checked against a mutation (releasing the permit before offering the token): the kworker's wait for the
 * producer is reported.
 */
public class WorkerPoolLincheckTest {
    /** One module for every execution (see {@link SubQueueLincheckTest.Module}). */
    static final class Module {
        static final Kernel KERNEL = new Kernel("wq-pool-model", KernelConfig.defaults().logCapacity(1 << 12));
    }

    private WorkerPool pool;
    private SubQueue normal;
    private SubQueue high;
    private WorkerPool.Kworker kworker;
    private WorkerPool.Kworker reaper;
    private volatile int ranNormal;
    private volatile int ranHigh;

    public WorkerPoolLincheckTest() { }

    @Operation
    public void setUp() {
        pool = WorkerPool.withoutKworkers(Module.KERNEL);
        normal = new SubQueue(pool, "btrfs-model", "sdc", false, 1, 2, "btrfs_queue_work");
        high = new SubQueue(pool, "btrfs-model-high", "sdc", true, 1, 2, "btrfs_queue_work");
        kworker = pool.new Kworker("kworker/u0:0");
        reaper = pool.new Kworker("kworker/u0:1");
    }

    @Operation
    public void queueNormal() { normal.queue(new BtrfsWork(() -> ranNormal++)); }

    @Operation
    public void queueHigh() { high.queue(new BtrfsWork(() -> ranHigh++)); }

    @Operation
    public void kworker() { pool.tryRunToken(kworker); }

    @Validate
    public void permitsMatchTokensAndEveryWorkRanOnce() {
        assertEquals(pool.queuedTokens(), pool.tokenPermits(), "free permits and queued tokens");
        while (pool.tryRunToken(reaper)) {
            // what is left, as an idle kworker would take it
        }
        assertEquals(1, ranNormal);
        assertEquals(1, ranHigh);
        assertEquals(0, pool.queuedTokens());
        assertEquals(0, pool.tokenPermits());
    }

    @Test
    void aPermitHolderFindsATokenWithoutWaitingForAProducer() {
        ModelCheck.of(getClass())
            .atomic("org.jctools.queues.MpscUnboundedArrayQueue", "org.jctools.queues.MpmcUnboundedXaddArrayQueue",
                "java.util.concurrent.Semaphore", "org.jbtrfs.workqueue.BtrfsWork", "org.jbtrfs.workqueue.Threshold",
                "org.jbtrfs.workqueue.OrderedList", "org.jbtrfs.core.kernel.Lifetime")
            .ignore("org.jbtrfs.core.KernelLog")
            .obstructionFree()
            .init("setUp").thread("queueNormal").thread("queueHigh").thread("kworker")
            .invocations(60)
            .check();
    }
}
