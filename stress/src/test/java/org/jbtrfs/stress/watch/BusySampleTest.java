package org.jbtrfs.stress.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.stress.classify.Observation;
import org.junit.jupiter.api.Test;

/**
 * The watchdog's stall sample and hung mark belong to the operation whose start it read. Port bug of the runner
 * (not a kernel behaviour), found triaging seed 41004's {@code stall:mount -o ro in Kthread.stop <-
 * CloseCtree.closeCtree@lifecycle}: the report said the operation was blocked 0.03 s — under the 0.4 s stall
 * threshold the watchdog must have seen passed — and no lost-wake-up report or panic was in the kernel log. The
 * watchdog had read the start of the lane's previous operation (past the threshold), taken the thread's stack as
 * that operation ended and the next, a {@code mount -o ro} whose failure ran close_ctree, began, and written the
 * frame onto the new one. Nothing in the kernel's or the port's kthread code was involved.
 */
class BusySampleTest {
    @Test
    void aSampleOfAnOperationThatEndedIsNotWrittenOntoTheNext() {
        List<Observation.Stall> stalls = new ArrayList<>();
        Busy b = new Busy("lifecycle");
        b.stallSink(stalls::add);
        b.enter("mount");
        long previous = b.startedAt();
        b.exit();
        b.enter("mount -o ro");

        assertFalse(b.sample(previous, "Kthread.stop <- CloseCtree.closeCtree", null), "the sampled operation ended");
        assertFalse(b.markHung(previous), "nor is the next one marked hung for it");
        b.exit();

        assertEquals(List.of(), stalls, "a short operation is no stall");
    }

    @Test
    void aSampleOfTheRunningOperationIsItsStall() {
        List<Observation.Stall> stalls = new ArrayList<>();
        Busy b = new Busy("lifecycle");
        b.stallSink(stalls::add);
        b.enter("umount");

        assertTrue(b.sample(b.startedAt(), "Kthread.stop <- CloseCtree.closeCtree", null));
        b.exit();

        assertEquals(1, stalls.size());
        assertEquals("Kthread.stop <- CloseCtree.closeCtree", stalls.get(0).frame());
        assertEquals("umount", stalls.get(0).op());
    }

    @Test
    void theRunningOperationIsMarkedHungOnce() {
        Busy b = new Busy("lifecycle");
        b.enter("remount ro");
        long started = b.startedAt();

        assertTrue(b.markHung(started));
        assertFalse(b.markHung(started), "once");
    }

    /**
     * An operation sampled past the threshold that, less the JIT's compile time meanwhile, waited less than the threshold
     * is a note, not a stall: the known "load stall" of every hunt (`stall:fill block group …
     * AsyncCow.cowFileRangeAsync@file`, stops 28 to 42) came mostly in a cold JVM's first cycles, where the compilers
     * take most of two CPUs — a cost the kernel, which has no JIT, does not pay (docs/explorer.md, *Stop 42*).
     */
    @Test
    void anOperationThatWaitedWhileTheJitCompiledIsANoteNotAStall() {
        List<Observation.Stall> stalls = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong jit = new java.util.concurrent.atomic.AtomicLong(1_000);
        Busy b = new Busy("file");
        b.jitClock(jit::get);
        b.stallThreshold(400_000_000L);
        b.stallSink(stalls::add);
        b.warmUpSink(notes::add);
        b.enter("fill block group");
        b.sample(b.startedAt(), "Sched.waitUntil <- AsyncCow.cowFileRangeAsync", null);
        jit.addAndGet(60_000); // a minute of compiling: more than the operation took, however long the test ran

        b.exit();

        assertEquals(List.of(), stalls);
        assertEquals(1, notes.size());
        assertTrue(notes.get(0).startsWith("not a stall: file 'fill block group' blocked"), notes.get(0));
        assertTrue(notes.get(0).contains("while the JIT compiled for 60000 ms"), notes.get(0));
    }

    @Test
    void withoutCompilingMeanwhileItIsAStall() {
        List<Observation.Stall> stalls = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Busy b = new Busy("file");
        b.jitClock(() -> 1_000); // the JIT did nothing during the operation
        b.stallThreshold(1); // and the operation took longer than that
        b.stallSink(stalls::add);
        b.warmUpSink(notes::add);
        b.enter("fill block group");
        b.sample(b.startedAt(), "Sched.waitUntil <- AsyncCow.cowFileRangeAsync", null);

        b.exit();

        assertEquals(1, stalls.size());
        assertEquals(List.of(), notes);
    }

    /**
     * Stop 60: a wait for writeback while the perturbation held the filesystem's kworkers (the delalloc queue's ordered
     * chain of a sparse file's compressed chunks, each delayed at a focused async-chunk hook) is the explorer's delay,
     * not a stall — as the JIT's is the JVM's (14 such classes in 300 s with every fix applied once a second writer
     * queued chunks by the dozen: seed 60001).
     */
    @Test
    void aWaitWhileThePerturbationHeldTheKworkersIsANoteNotAStall() {
        List<Observation.Stall> stalls = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong delayed = new java.util.concurrent.atomic.AtomicLong(5_000_000_000L);
        Busy b = new Busy("file");
        b.jitClock(() -> 1_000);
        b.kernelDelayClock(delayed::get);
        b.stallThreshold(1); // the operation took longer than that, and not longer than the perturbation's delays
        b.stallSink(stalls::add);
        b.warmUpSink(notes::add);
        b.enter("sync file");
        b.sample(b.startedAt(), "Sched.waitUntil <- AsyncCow.cowFileRangeAsync", null);
        delayed.addAndGet(60_000_000_000L); // more than the operation took, however long the test ran

        b.exit();

        assertEquals(List.of(), stalls);
        assertEquals(1, notes.size());
        assertTrue(notes.get(0).contains("while the perturbation held its filesystem's kernel threads for 60.00 s"), notes.get(0));
    }

    /**
     * A wait that is one of the classified lost wake-ups (close_ctree's kthread_park of the cleaner) stays a stall
     * whatever the perturbation did meanwhile: its waker is the lost one, not a delayed kworker.
     */
    @Test
    void aLostWakeupsWaitIsAStallWhateverThePerturbationDid() {
        List<Observation.Stall> stalls = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong delayed = new java.util.concurrent.atomic.AtomicLong();
        Busy b = new Busy("lifecycle");
        b.jitClock(() -> 1_000);
        b.kernelDelayClock(delayed::get);
        b.stallThreshold(1);
        b.stallSink(stalls::add);
        b.warmUpSink(s -> { });
        b.enter("umount");
        b.sample(b.startedAt(), "Kthread.park <- CloseCtree.closeCtree", null);
        delayed.addAndGet(60_000_000_000L);

        b.exit();

        assertEquals(1, stalls.size());
    }
}
