package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

/**
 * Lockdep's circular-dependency check: two orders taken at different times, by different tasks, never deadlocking,
 * are reported — once; a trylock adds no dependency; lockdep off records nothing.
 */
class LockdepTest {
    private static Kernel kernel() { return new Kernel("lockdep-test", KernelConfig.defaults().lockdep(true)); }

    private static void nested(Mutex outer, Mutex inner) {
        outer.lock();
        try {
            inner.lock();
            inner.unlock();
        } finally {
            outer.unlock();
        }
    }

    private static List<LogEntry> warnings(Kernel k) {
        return k.log().entries().stream().filter(e -> e.kind() == LogEntry.Kind.WARNING).toList();
    }

    @Test
    void anAbbaOrderTakenAtDifferentTimesIsReportedOnce() {
        Kernel k = kernel();
        Mutex a = new Mutex("a_mutex", k.lockdep(), "&fs_info->a_mutex");
        Mutex b = new Mutex("b_mutex", k.lockdep(), "&fs_info->b_mutex");
        TestThread.run("first", () -> nested(a, b)).join();
        assertFalse(k.lockdep().reported());
        TestThread.run("second", () -> nested(b, a)).join();
        assertTrue(k.lockdep().reported());
        List<LogEntry> w = warnings(k);
        assertEquals(1, w.size());
        assertTrue(w.get(0).message().startsWith(
            "WARNING: possible circular locking dependency detected: &fs_info->a_mutex -> &fs_info->b_mutex\n"), w.get(0).message());
        assertTrue(w.get(0).message().contains("first in first"), "names where the existing dependency was taken");
        // debug_locks_off: no second report
        TestThread.run("third", () -> nested(b, a)).join();
        assertEquals(1, warnings(k).size());
    }

    @Test
    void aLongerCycleThroughAnRwSemaphoreIsReportedInItsCanonicalRotation() {
        Kernel k = kernel();
        Mutex a = new Mutex("a_mutex", k.lockdep(), "&fs_info->a_mutex");
        RwSemaphore s = new RwSemaphore("&fs_info->some_sem", k.lockdep());
        Mutex c = new Mutex("c_mutex", k.lockdep(), "&fs_info->c_mutex");
        TestThread.run("t1", () -> {
            a.lock();
            s.readLock().lock();
            s.readLock().unlock();
            a.unlock();
        }).join();
        TestThread.run("t2", () -> {
            s.writeLock().lock();
            c.lock();
            c.unlock();
            s.writeLock().unlock();
        }).join();
        assertFalse(k.lockdep().reported());
        TestThread.run("t3", () -> nested(c, a)).join();
        assertTrue(k.lockdep().reported());
        assertTrue(k.lockdep().report().startsWith(
            "WARNING: possible circular locking dependency detected: &fs_info->a_mutex -> &fs_info->some_sem -> &fs_info->c_mutex\n"),
            k.lockdep().report());
    }

    @Test
    void aTrylockAddsNoDependency() {
        Kernel k = kernel();
        Mutex a = new Mutex("a_mutex", k.lockdep(), "&fs_info->a_mutex");
        Mutex b = new Mutex("b_mutex", k.lockdep(), "&fs_info->b_mutex");
        TestThread.run("first", () -> nested(a, b)).join();
        TestThread.run("second", () -> {
            b.lock();
            assertTrue(a.tryLock());
            a.unlock();
            b.unlock();
        }).join();
        assertFalse(k.lockdep().reported());
        assertEquals(List.of("&fs_info->b_mutex"), k.lockdep().dependenciesOf("&fs_info->a_mutex"));
        assertEquals(List.of(), k.lockdep().dependenciesOf("&fs_info->b_mutex"));
    }

    @Test
    void aFlushWhileHoldingALockItsWorkTakesIsACycle() {
        Kernel k = kernel();
        Lockdep ld = k.lockdep();
        Lockdep.LockClass wq = ld.dynamicClass("(wq_completion)btrfs-test");
        Mutex m = new Mutex("m_mutex", ld, "&fs_info->m_mutex");
        // a work that takes m, as process_one_work runs it
        TestThread.run("kworker", () -> {
            Lockdep.Held h = ld.acquire(wq, false);
            m.lock();
            m.unlock();
            ld.release(h);
        }).join();
        TestThread.run("flusher", () -> {
            m.lock();
            ld.acquireRelease(wq);
            m.unlock();
        }).join();
        assertTrue(ld.reported());
        assertTrue(ld.report().startsWith("WARNING: possible circular locking dependency detected: "
            + "&fs_info->m_mutex -> (wq_completion)btrfs-test\n"), ld.report());
    }

    @Test
    void aDestroyedWorkqueuesClassTakesItsDependenciesAlong() {
        Kernel k = kernel();
        Lockdep ld = k.lockdep();
        Mutex m = new Mutex("m_mutex", ld, "&fs_info->m_mutex");
        Lockdep.LockClass wq = ld.dynamicClass("(wq_completion)btrfs-test");
        TestThread.run("flusher", () -> {
            m.lock();
            ld.acquireRelease(wq);
            m.unlock();
        }).join();
        assertEquals(1, ld.dependencyCount());
        ld.unregister(wq); // destroy_workqueue: lockdep_unregister_key
        assertEquals(0, ld.dependencyCount());
        // the next instance's work may take m: no cycle with the destroyed one's flush
        Lockdep.LockClass wq2 = ld.dynamicClass("(wq_completion)btrfs-test");
        TestThread.run("kworker", () -> {
            Lockdep.Held h = ld.acquire(wq2, false);
            m.lock();
            m.unlock();
            ld.release(h);
        }).join();
        assertFalse(ld.reported());
    }

    @Test
    void aPercpuReaderReleasedByAnotherTaskLeavesNothingHeld() {
        Kernel k = kernel();
        PercpuRwSemaphore s = new PercpuRwSemaphore("sb_writers.fs", k.sched(), true, k.lockdep(), "sb_internal");
        Mutex m = new Mutex("m_mutex", k.lockdep(), "&fs_info->m_mutex");
        java.util.concurrent.atomic.AtomicReference<Object> hold = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CountDownLatch taken = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
        TestThread<Void> starter = TestThread.run("starter", () -> {
            hold.set(s.downRead());
            taken.countDown();
            TestThread.await(ended);
            // had this task's held locks kept sb_internal, this would record sb_internal -> m_mutex
            m.lock();
            m.unlock();
        });
        TestThread.await(taken);
        TestThread.run("ender", () -> s.upRead(hold.get())).join();
        ended.countDown();
        starter.join();
        assertEquals(List.of(), k.lockdep().dependenciesOf("sb_internal"));
        assertEquals(0, s.readers());
    }

    @Test
    void anOopsTurnsLockdepOffAsOopsEnterDoes() {
        Kernel k = kernel();
        Mutex a = new Mutex("a_mutex", k.lockdep(), "&fs_info->a_mutex");
        Mutex b = new Mutex("b_mutex", k.lockdep(), "&fs_info->b_mutex");
        TestThread.run("first", () -> nested(a, b)).join();
        k.log().oops(LogEntry.Kind.OOPS, "BUG: kernel NULL pointer dereference, address: 0000000000000000");
        TestThread.run("second", () -> nested(b, a)).join();
        assertFalse(k.lockdep().reported(), "a task that died holding locks never released them: lockdep trusts nothing");
    }

    @Test
    void aWorkReturningWithALockHeldIsReported() {
        Kernel k = kernel();
        Lockdep ld = k.lockdep();
        Mutex m = new Mutex("m_mutex", ld, "&fs_info->m_mutex");
        TestThread.run("kworker", () -> {
            int before = ld.depth();
            ld.checkWorkLeak(before, 0, "balanced_work");
            m.lock(); // the work "forgets" to unlock
            ld.checkWorkLeak(before, 0, "leaky_work");
            m.unlock();
        }).join();
        List<LogEntry> bugs = k.log().matching(e -> e.message().startsWith("BUG: workqueue leaked lock or atomic"));
        assertEquals(1, bugs.size());
        assertTrue(bugs.get(0).message().contains("last function: leaky_work"), bugs.get(0).message());
        assertTrue(bugs.get(0).message().contains("[&fs_info->m_mutex]"), bugs.get(0).message());
    }

    @Test
    void offRecordsNothing() {
        Kernel k = new Kernel("no-lockdep", KernelConfig.defaults());
        Mutex a = new Mutex("a_mutex", k.lockdep(), "&fs_info->a_mutex");
        Mutex b = new Mutex("b_mutex", k.lockdep(), "&fs_info->b_mutex");
        nested(a, b);
        nested(b, a);
        assertFalse(k.lockdep().reported());
        assertNull(k.lockdep().report());
        assertEquals(0, k.lockdep().dependencyCount());
        assertTrue(warnings(k).isEmpty());
    }
}
