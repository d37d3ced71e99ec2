package org.jbtrfs.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.core.KernelConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A fresh module (kernel + kworker pool) per test; unload joins every pool thread. */
abstract class PoolFixture {
    private static final AtomicInteger MODULES = new AtomicInteger();

    Kernel kernel;
    WorkerPool pool;

    /** Pool threads of this test class's module. */
    int poolThreads() { return 8; }

    @BeforeEach
    void loadModule() {
        // A roomy log: race tests count every WARN and KASAN line.
        kernel = new Kernel("wqt" + MODULES.incrementAndGet(), KernelConfig.defaults().logCapacity(65_536));
        pool = new WorkerPool(kernel, poolThreads());
    }

    @AfterEach
    void unloadModule() {
        List<String> alive;
        try {
            alive = pool.shutdown(Duration.ofSeconds(5));
        } finally {
            kernel.shutdown(); // even when the pool did not stop: the kernel's kthreads must not outlive the test
        }
        assertEquals(List.of(), alive, "pool threads still alive after unload");
        assertTrue(pool.liveThreads().isEmpty());
    }

    BtrfsWorkqueue queue(String name, int maxActive, int thresh) {
        return BtrfsWorkqueue.alloc(pool, "sdc", name, java.util.Set.of(), maxActive, thresh);
    }
}
