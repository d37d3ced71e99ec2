package org.jbtrfs.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;
import org.junit.jupiter.api.Test;

/**
 * The freeze levels' semaphore (kernel/locking/percpu-rwsem.c with kernel/rcu/sync.c): readers share, a writer blocks
 * new readers and waits for those inside, holds are given back from any thread, a reader nests where it may, and an
 * up_write without its down_write warns as rcu_sync_exit does and leaves a writer that keeps nobody out.
 */
class PercpuRwSemaphoreTest {
    private final Sched sched = new Sched();
    private final KernelLog log = new KernelLog(64, new ManualClock());

    @Test
    void aWriterWaitsForTheReadersInsideAndBlocksNewOnes() {
        PercpuRwSemaphore s = new PercpuRwSemaphore("level", sched, false);
        Object hold = s.downRead();
        TestThread<Void> writer = TestThread.run("writer", s::downWrite);
        Waits.within().until(() -> String.valueOf(sched.blocked().get("writer")).contains("percpu_down_write (readers)"));
        assertNull(s.tryDownRead(), "a writer waits: no new reader");
        TestThread<Object> reader = TestThread.call("reader", s::downRead);
        Waits.within().until(() -> String.valueOf(sched.blocked().get("reader")).contains("percpu_down_read"));
        TestThread.run("another task", () -> s.upRead(hold)).join(); // given back by another thread
        writer.join();
        assertTrue(s.writeHeld());
        s.upWrite(log);
        s.upRead(reader.join());
        assertEquals(0, s.readers());
        assertEquals(0, log.count(LogEntry.Kind.WARNING));
    }

    @Test
    void aNestedReaderEntersPastAWaitingWriterOnlyWhereItMayNest() {
        PercpuRwSemaphore nesting = new PercpuRwSemaphore("fs", sched, true);
        Object outer = nesting.downRead();
        TestThread<Void> writer = TestThread.run("writer", nesting::downWrite);
        Waits.within().until(() -> nesting.writeHeld());
        Object inner = nesting.tryDownRead(); // a nested transaction handle: no second sb_start_intwrite to wait on
        assertTrue(inner != null);
        nesting.upRead(inner);
        nesting.upRead(outer);
        writer.join();
        nesting.upWrite(log);

        PercpuRwSemaphore flat = new PercpuRwSemaphore("write", sched, false);
        Object first = flat.downRead();
        TestThread<Void> w2 = TestThread.run("writer2", flat::downWrite);
        Waits.within().until(() -> flat.writeHeld());
        assertNull(flat.tryDownRead(), "the user-write level does not nest");
        flat.upRead(first);
        w2.join();
        flat.upWrite(log);
    }

    @Test
    void anUpWriteWithoutItsDownWriteWarnsAndTheNextWriterKeepsNobodyOut() {
        PercpuRwSemaphore s = new PercpuRwSemaphore("level", sched, false);
        s.upWrite(log);
        assertTrue(log.contains("at kernel/rcu/sync.c:154 rcu_sync_exit"), log.dmesg());
        assertTrue(log.contains("at kernel/rcu/sync.c:155 rcu_sync_exit"), log.dmesg());
        assertTrue(s.unbalanced());
        s.downWrite();
        assertFalse(s.excludesReaders());
        Object hold = s.tryDownRead();
        assertTrue(hold != null, "a reader enters past the writer: rcu_sync_enter skipped its grace period");
        s.upRead(hold);
        s.upWrite(log);
        assertEquals(2, log.count(LogEntry.Kind.WARNING), "WARN_ON_ONCE: not again");
    }
}
