package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelOops;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ModelCheck;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.junit.jupiter.api.Test;

/**
 * {@link SubQueue}'s two Dekker pairs under Lincheck's model checker, on a pool without kworker threads
 * ({@link WorkerPool#withoutKworkers}): the kworker is an operation of the scenario, which takes a permit
 * and runs one work exactly as a pool thread does ({@link WorkerPool#tryRunToken}).
 * <ol>
 *   <li><b>No lost work</b> (the SCHED token): a producer offers its work and then reads {@code ctl}; a
 *       kworker finishing the only allowed work (max_active 1) gives its slot back and then reads the
 *       queue's emptiness. One of them must schedule the sub-queue again; a work left pending with no
 *       token would never run. Checked against a mutation (scheduling before the offer in queue()):
 *       reported as a work that never ran.</li>
 *   <li><b>Queue versus destroy</b> ({@code __WQ_DRAINING}): queue() counts the work in flight before it
 *       reads {@code draining}; destroy sets {@code draining} before it waits for the count. So a work
 *       queued from outside while the queue is destroyed either runs before destroy returns, or is dropped
 *       with the kernel's WARN, or (queue() entered after destroy freed it) is the reported use-after-free
 *       — exactly one, and never a work running after destroy returned. Checked against a mutation
 *       (reading {@code draining} before counting the work): reported.</li>
 * </ol>
 */
public class SubQueueLincheckTest {
    /**
     * One module for every execution, made when the first execution needs it: each execution counts its own
     * log entries from a mark. The objects an execution uses are made by its {@code setUp} operation, not by
     * the constructor, so JUnit's own instance of this class never builds them.
     */
    static final class Module {
        static final Kernel KERNEL = new Kernel("wq-model", KernelConfig.defaults().logCapacity(1 << 16));
    }

    private long mark;
    private WorkerPool pool;
    private SubQueue sq;
    private WorkerPool.Kworker kworker;
    private WorkerPool.Kworker reaper;
    private volatile int ranA;
    private volatile int ranB;
    private volatile int ranW;
    private volatile boolean destroyCalled;
    private volatile boolean destroyed;
    private volatile boolean ranAfterDestroy;
    private volatile boolean useAfterFree;

    public SubQueueLincheckTest() { }

    /** A pool without kworker threads and one sub-queue of max_active 1 (no thresholding). */
    @Operation
    public void setUp() {
        mark = Module.KERNEL.log().mark();
        pool = WorkerPool.withoutKworkers(Module.KERNEL);
        sq = new SubQueue(pool, "btrfs-model", "sdc", false, 1, 2, "btrfs_queue_work");
        kworker = pool.new Kworker("kworker/u0:0");
        reaper = pool.new Kworker("kworker/u0:1");
    }

    @Operation
    public void queueA() { sq.queue(new BtrfsWork(() -> ranA++)); }

    @Operation
    public void queueB() { sq.queue(new BtrfsWork(() -> ranB++)); }

    /** A kworker's step: one permit, one work (nothing when no permit is free). */
    @Operation
    public void kworker() { pool.tryRunToken(kworker); }

    /** queue_work from outside the workqueue; on a freed one, the use-after-free oops. */
    @Operation
    public void queueW() {
        try {
            sq.queue(new BtrfsWork(() -> {
                ranW++;
                if (destroyed) {
                    ranAfterDestroy = true;
                }
            }));
        } catch (KernelOops e) {
            useAfterFree = true;
        }
    }

    @Operation
    public void destroy() {
        destroyCalled = true;
        sq.destroy();
        destroyed = true;
    }


    /**
     * After every execution. No-lost-work scenario: run what is left with a second kworker; then A and B
     * ran once each, nothing is pending, counted or running. Destroy scenario: W met exactly one fate and
     * did not run after destroy returned. Both: free permits equal queued tokens (WorkerPool's invariant).
     */
    @Validate
    public void everyWorkMetExactlyOneFate() {
        if (!destroyCalled) {
            while (pool.tryRunToken(reaper)) {
                // the tokens left, as an idle kworker would take them
            }
            assertEquals(1, ranA, "A ran");
            assertEquals(1, ranB, "B ran (or was left pending with no token)");
            assertEquals(0, sq.running());
            assertEquals(0, sq.inFlightCount());
        } else {
            long warned = Module.KERNEL.log().since(mark).stream().filter(e -> e.kind() == LogEntry.Kind.WARNING).count();
            int fates = ranW + (int) warned + (useAfterFree ? 1 : 0);
            assertEquals(1, fates, "ran " + ranW + ", dropped with a WARN " + warned + ", use-after-free " + useAfterFree);
            assertFalse(ranAfterDestroy, "a work ran after destroy returned");
            assertEquals(0, sq.inFlightCount());
        }
        assertEquals(pool.queuedTokens(), pool.tokenPermits(), "free permits and queued tokens");
    }

    /**
     * The checker's budget goes to the protocol: the JCTools queues, the semaphore, a work's claim, the
     * threshold and the ordered list are linearizable steps here (one switch point each), and the kernel
     * log (the WARN and KASAN reports) is not analysed.
     */
    private ModelCheck.Scenario scenario() {
        return ModelCheck.of(getClass())
            .atomic("org.jctools.queues.MpscUnboundedArrayQueue", "org.jctools.queues.MpmcUnboundedXaddArrayQueue",
                "java.util.concurrent.Semaphore", "org.jbtrfs.workqueue.BtrfsWork", "org.jbtrfs.workqueue.Threshold",
                "org.jbtrfs.workqueue.OrderedList", "org.jbtrfs.core.kernel.Lifetime")
            .ignore("org.jbtrfs.core.KernelLog");
    }

    @Test
    void aWorkQueuedWhileTheOnlySlotIsGivenBackIsNeverLost() {
        scenario().init("setUp", "queueA").thread("kworker").thread("queueB").invocations(40).check();
    }

    @Test
    void aWorkQueuedDuringDestroyRunsBeforeItReturnsOrIsDroppedOrIsTheUseAfterFree() {
        scenario().init("setUp").thread("queueW", "kworker").thread("destroy").invocations(100).check();
    }
}
