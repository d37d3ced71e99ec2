package org.jbtrfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.KernelConfig;
import org.junit.jupiter.api.Test;

/**
 * Nothing a mount started runs after umount, and after unload no thread serves the module. Threads are
 * pooled as the kernel pools them, and shared by every module of the JVM: kthreads and kworkers run on
 * lent threads, so neither mount cycles nor fresh modules create threads.
 */
class NoThreadLeftBehindTest {

    @Test
    void umountStopsEverythingTheMountStartedAndThreadsAreReused() {
        try (Repro r = new Repro(Crc32cImpl.GENERIC)) {
            int createdBefore = r.mod.kernel().kthreadd().threadsCreated();
            for (int i = 0; i < 50; i++) {
                Btrfs fs = r.mount(i % 2 == 0 ? "" : "ro");
                if (!fs.isReadOnly()) {
                    fs.createFile("f" + i);
                    fs.open("f" + i).closeFromWorker(); // a delayed iput: the cleaner runs it
                    // a cleaner mid-pass was not woken by the add (CLEANER_RUNNING): one whole pass after
                    // the add runs it
                    fs.runCleanerPass(Repro.WAIT);
                    assertTrue(fs.inspect().delayedIputs().isEmpty());
                    fs.unlink("f" + i);
                    fs.remount("ro");
                }
                fs.umount();
                assertTrue(Repro.noKthreadRuns(r.mod), "no kthread serves the unmounted fs");
                assertTrue(r.mod.workerPool().liveQueues().isEmpty(), "every btrfs workqueue of the fs was destroyed");
            }
            int created = r.mod.kernel().kthreadd().threadsCreated() - createdBefore;
            assertTrue(created <= 3, "kthreads are lent by the shared pool, not created per mount: " + created);
            int uuidKthreads = r.mod.kernel().kthreadd().kthreadsStarted() - 100;
            assertTrue(uuidKthreads == 1 || uuidKthreads == 2, "a cleaner and a transaction kthread per mount, and the first "
                + "read-write mount's btrfs-uuid kthreads: the new tree's scan, and open_ctree's check unless the scan ended "
                + "first: " + uuidKthreads);
            UnloadReport rep = r.mod.unload();
            assertTrue(rep.clean(), rep.toString());
        }
    }

    @Test
    void afterUnloadNoThreadServesTheModule() {
        try (BtrfsModule mod = BtrfsModule.load(KernelConfig.defaults())) {
            var dev = mod.createDevice("sdc", 64L << 20);
            mod.mkfs(dev);
            mod.mount(dev, "").umount();
            List<Thread> threads = mod.liveThreads();
            assertTrue(!threads.isEmpty(), "the pools are alive while the module is loaded");
            UnloadReport rep = mod.unload();
            assertEquals(List.of(), rep.threadsAlive());
            for (Thread t : threads) {
                // back in the JVM-wide pool (renamed idle) or retired: either way no longer the module's
                assertTrue(!t.isAlive() || t.getName().startsWith("jbtrfs-idle/"), t.getName() + " still serves the module after rmmod");
            }
            assertTrue(mod.liveThreads().isEmpty());
        }
    }
}
