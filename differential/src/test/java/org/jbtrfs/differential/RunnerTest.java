package org.jbtrfs.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.jbtrfs.differential.scenario.ScenarioParser;
import org.junit.jupiter.api.Test;

/** The runner against a scripted target: dmesg windows, ratelimit marks, tallies, a failing step. */
class RunnerTest {
    /** Logs one line per lifecycle call; fails remount when told to. */
    static final class Scripted implements Target {
        final List<String> log = new ArrayList<>();
        String failRemount;

        @Override public String name() { return "scripted"; }
        @Override public void mkfs(long bytes) { log.add("BTRFS: device fsid x"); }
        @Override public void mount(String o) { log.add("BTRFS info (device s): first mount"); }
        @Override public void remount(String o) {
            if (failRemount != null) {
                throw new TargetException(failRemount);
            }
            log.add("BTRFS info (device s state M): qgroup scan paused");
        }
        @Override public void umount() { log.add("BTRFS info (device s): last unmount"); }
        @Override public long createSubvolume(String n) { return 256; }
        @Override public void deleteSubvolume(String n) { }
        @Override public void subvolumeSync() { }
        @Override public void createFile(String p) { }
        @Override public void unlink(String p) { }
        @Override public void write(String p, int b) { }
        @Override public void extents(String p, int c) { }
        @Override public void files(String d, int c) { }
        @Override public void open(String h, String p) { }
        @Override public void close(String h) { }
        @Override public void quotaEnable() { }
        @Override public void quotaRescan() { log.add("_btrfs_printk: 7 callbacks suppressed"); }
        @Override public void quotaRescanWait() { }
        @Override public void sync() { }
        @Override public void fsSync() { }
        @Override public void freeze() { }
        @Override public void thaw() { }
        @Override public void crash() { }
        @Override public void recover() { }
        @Override public RootTreeFacts rootTree() {
            return new RootTreeFacts(Map.of(5L, new RootTreeFacts.Root(1, false), 256L, new RootTreeFacts.Root(0, true)), Set.of(256L));
        }
        @Override public QuotaFacts quota() { return new QuotaFacts(null, Map.of(), Map.of()); }
        @Override public long dmesgMark() { return log.size(); }
        @Override public List<String> dmesgSince(long mark) { return List.copyOf(log.subList((int) mark, log.size())); }
        @Override public List<String> healthProblems(long mark) { return List.of(); }
        @Override public boolean rescanRunning() { return false; }
        @Override public OptionalInt openTransactions() { return OptionalInt.empty(); }
        @Override public String whyNoTransactions() { return "scripted"; }
        @Override public void close() { }
    }

    private static Map<String, String> values(TargetRun r) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        r.observations().forEach(o -> m.put(o.key(), o.value()));
        return m;
    }

    @Test
    void dmesgWindowsRunFromThePreviousDmesgObservationAndRepeatsAreTallied() {
        TargetRun r = Runner.run(ScenarioParser.parse("t.scn", String.join("\n", "scenario t", "mkfs 256M",
            "repeat 2", "  mount", "  remount ro", "  observe dmesg /qgroup scan \\w+/ as a", "  observe root-tree as b",
            "  umount", "  observe dmesg /(first mount|last unmount)/ as c", "end",
            "mount", "quota rescan", "remount ro", "observe dmesg /qgroup scan paused/ as d", "umount",
            "observe qgroups as e", "observe transactions as f")), new Scripted());
        assertNull(r.error());
        Map<String, String> v = values(r);
        assertEquals("qgroup scan paused ×2 (of 2)", v.get("a: dmesg /qgroup scan \\w+/"));
        assertEquals("refs 0, drop progress set ×2 (of 2)", v.get("b: root item 256"));
        assertEquals("present ×2 (of 2)", v.get("b: orphan item 256"));
        assertEquals("last unmount ×2 (of 2)", v.get("c: dmesg /(first mount|last unmount)/"), "the window starts after 'a'");
        assertEquals("qgroup scan paused [ratelimit dropped lines]", v.get("d: dmesg /qgroup scan paused/"));
        assertEquals("no quota tree", v.get("e: qgroup status"));
        assertEquals(Observation.Kind.UNOBSERVABLE, r.observations().get(r.observations().size() - 1).kind());
    }

    @Test
    void aFailingStepStopsTheRunAndIsNamed() {
        Scripted t = new Scripted();
        t.failRemount = "EBUSY: mount point busy";
        TargetRun r = Runner.run(ScenarioParser.parse("t.scn", "scenario t\nmkfs 256M\nmount\nobserve root-tree as x\nremount ro\n"
            + "observe root-tree as y\numount"), t);
        assertEquals("line 5 'remount ro': EBUSY: mount point busy", r.error());
        assertEquals("refs 1", values(r).get("x: root item 5"), "observations before the failure are kept");
        assertNull(values(r).get("y: root item 5"));
    }

    @Test
    void medians() {
        assertEquals(2.0, Runner.median(new long[] {3, 1, 2}));
        assertEquals(2.5, Runner.median(new long[] {4, 1, 2, 3}));
        assertEquals("412 µs", Runner.micros(412_000));
        assertEquals("71.2 µs", Runner.micros(71_200));
    }
}
