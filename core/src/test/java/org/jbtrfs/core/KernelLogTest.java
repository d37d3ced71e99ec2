package org.jbtrfs.core;

import org.jbtrfs.core.kernel.Kernel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.jbtrfs.testsupport.TestThread;
import org.junit.jupiter.api.Test;

class KernelLogTest {
    private final ManualClock clock = new ManualClock();
    private final KernelLog log = new KernelLog(64, clock);

    @Test
    void btrfsLinesUseTheKernelFormat() {
        LogEntry e = log.info("sdc", "qgroup scan paused");
        assertEquals("BTRFS info (device sdc): qgroup scan paused", e.message());
        assertEquals(LogLevel.INFO, e.level());
        assertEquals(LogEntry.Kind.TEXT, e.kind());
        assertEquals(Thread.currentThread().getName(), e.thread());

        assertEquals("BTRFS warning (device sdc): x", log.warn("sdc", "x").message());
        assertEquals("BTRFS error (device sdc): y", log.error("sdc", "y").message());
        assertEquals("BTRFS critical (device sdb): z", log.btrfs(LogLevel.CRIT, "sdb", "z").message());
        assertFalse(log.tainted(), "plain messages do not taint");
    }

    @Test
    void dmesgPrintsTheModuleClock() {
        clock.advance(1500, TimeUnit.MILLISECONDS);
        log.info("sdc", "disk space caching is enabled");
        assertEquals("[    1.500000] BTRFS info (device sdc): disk space caching is enabled\n", log.dmesg());
    }

    @Test
    void warnOnLogsTheKernelWarningAndTaintsW() {
        assertTrue(btrfsPutBlockGroup(true));

        List<LogEntry> warnings = log.matching(e -> e.kind() == LogEntry.Kind.WARNING);
        assertEquals(1, warnings.size());
        LogEntry w = warnings.get(0);
        assertEquals(LogLevel.WARNING, w.level());
        String[] lines = w.message().split("\n");
        assertEquals("WARNING: CPU: 0 PID: " + Thread.currentThread().getId()
            + " at fs/btrfs/block-group.c:125 btrfs_put_block_group", lines[0]);
        assertEquals("Tainted: G        W", lines[1]);
        assertEquals("Call Trace:", lines[2]);
        assertTrue(w.message().contains("core.KernelLogTest.warnOnLogsTheKernelWarningAndTaintsW"),
            "the trace starts at the caller of the warning function: " + w.message());
        assertEquals(Set.of(Taint.WARN), log.taints());
    }

    private boolean btrfsPutBlockGroup(boolean leaked) {
        return log.warnOn(leaked, "block-group.c", 125, "btrfs_put_block_group");
    }

    @Test
    void warnOnAFalseConditionDoesNothing() {
        long mark = log.mark();
        assertFalse(btrfsPutBlockGroup(false));
        assertEquals(mark, log.mark());
        assertFalse(log.tainted());
    }

    @Test
    void aFailedAssertionLogsThenThrowsAKernelBugAndTaintsD() {
        long mark = log.mark();

        KernelBug bug = assertThrows(KernelBug.class,
            () -> log.assertThat(false, "list_empty(&fs_info->trans_list)", "disk-io.c", 4210));

        assertEquals("assertion failed: list_empty(&fs_info->trans_list)", bug.getMessage());
        List<LogEntry> lines = log.since(mark);
        assertEquals(2, lines.size(), log::dmesg);
        assertEquals(LogEntry.Kind.ASSERTION, lines.get(0).kind());
        assertEquals(LogLevel.ERR, lines.get(0).level());
        assertEquals("assertion failed: list_empty(&fs_info->trans_list), in fs/btrfs/disk-io.c:4210", lines.get(0).message());
        assertEquals(LogEntry.Kind.BUG, lines.get(1).kind());
        assertTrue(lines.get(1).message().startsWith("kernel BUG at fs/btrfs/ctree.h:3153!\nTainted: G      D"),
            lines.get(1).message());
        assertEquals(Set.of(Taint.DIE), log.taints());
        assertTrue(log.contains("list_empty(&fs_info->trans_list)"));
    }

    @Test
    void aHoldingAssertionDoesNothing() {
        long mark = log.mark();
        log.assertThat(true, "list_empty(&fs_info->trans_list)", "disk-io.c", 4210);
        assertEquals(mark, log.mark());
        assertFalse(log.tainted());
    }

    @Test
    void withAssertionsOffAFailedAssertionDoesNothing() {
        log.setAssertionsEnabled(false);
        assertFalse(log.assertionsEnabled());
        long mark = log.mark();

        log.assertThat(false, "list_empty(&fs_info->trans_list)", "disk-io.c", 4210);

        assertEquals(mark, log.mark());
        assertFalse(log.tainted());
    }

    @Test
    void theKernelContextAppliesTheAssertionSwitch() {
        try (Kernel off = new Kernel("noassert", KernelConfig.defaults().assertions(false));
             Kernel on = new Kernel("assert", KernelConfig.defaults())) {
            assertFalse(off.log().assertionsEnabled());
            off.log().assertThat(false, "0", "ctree.c", 1);
            assertTrue(on.log().assertionsEnabled());
            assertThrows(KernelBug.class, () -> on.log().assertThat(false, "0", "ctree.c", 1));
        }
    }

    @Test
    void theRingIsBoundedAndSequenceNumbersAreNeverReused() {
        for (int i = 0; i < 200; i++) {
            log.info("sdc", "line " + i);
        }
        List<LogEntry> entries = log.entries();
        assertEquals(64, entries.size());
        assertEquals(136, entries.get(0).seq());
        assertEquals("BTRFS info (device sdc): line 136", entries.get(0).message());
        assertEquals(199, entries.get(63).seq());
        assertEquals(200, log.mark());
        assertFalse(log.contains("line 135"), "the oldest lines fell out");
    }

    @Test
    void sinceReturnsTheLinesAfterAMark() {
        log.info("sdc", "before");
        long mark = log.mark();
        log.info("sdc", "after 1");
        log.warn("sdc", "after 2");

        List<String> since = log.since(mark).stream().map(LogEntry::message).toList();

        assertEquals(List.of("BTRFS info (device sdc): after 1", "BTRFS warning (device sdc): after 2"), since);
        assertEquals(List.of(), log.since(log.mark()));
    }

    @Test
    void oopsTaintsDAndReturnsTheFirstLineAsMessage() {
        KernelOops oops = log.oops(LogEntry.Kind.USE_AFTER_FREE, "BUG: KASAN: use-after-free in x\nmore");
        assertEquals("BUG: KASAN: use-after-free in x", oops.getMessage());
        assertEquals(1, log.count(LogEntry.Kind.USE_AFTER_FREE));
        assertEquals(LogLevel.EMERG, log.entries().get(0).level());
        assertTrue(log.entries().get(0).message().endsWith("Tainted: G      D"));
        assertEquals(EnumSet.of(Taint.DIE), log.taints());
    }

    @Test
    void uncaughtKernelBugsAndOopsesAreNotReportedTwice() {
        log.uncaught("kthread x", new KernelBug("already logged"));
        log.uncaught("kthread x", new KernelOops("already logged"));
        assertEquals(0, log.mark());
        log.uncaught("kthread x", new NullPointerException("npe"));
        assertEquals(1, log.count(LogEntry.Kind.OOPS));
        assertTrue(log.contains("Oops: unexpected exception in kthread x: java.lang.NullPointerException: npe"));
    }

    @Test
    void taintLineHasTheKernelColumns() {
        assertEquals("Tainted: G", log.taintLine());
        log.taint(Taint.BAD_PAGE);
        log.taint(Taint.WARN);
        assertEquals("Tainted: G    B   W", log.taintLine(), "as in the seed's umount WARNINGs");
        log.taint(Taint.DIE);
        assertEquals("Tainted: G    B D W", log.taintLine());
    }

    @Test
    void concurrentLoggersGetDistinctConsecutiveSequenceNumbers() throws Exception {
        KernelLog big = new KernelLog(10_000, clock);
        List<TestThread<Void>> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            threads.add(TestThread.run("logger-" + t, () -> {
                for (int i = 0; i < 1000; i++) {
                    big.info("sd" + id, "n" + i);
                }
            }));
        }
        for (TestThread<Void> t : threads) {
            t.join();
        }
        long[] seqs = big.entries().stream().mapToLong(LogEntry::seq).toArray();
        assertEquals(LongStream.range(0, 4000).boxed().toList(), LongStream.of(seqs).boxed().toList());
    }

    @Test
    void capacityMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new KernelLog(0, clock));
    }
}
