package org.jbtrfs.stress.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.stress.ReplayToken;
import org.jbtrfs.stress.Shard;
import org.jbtrfs.stress.StressOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The picocli CLI: every option of the run command keeps its meaning; bad input is exit 2 with one clear line. */
class CliTest {
    private static StressOptions parse(String... args) {
        RunCommand run = new RunCommand(new Cli(System.out, System.err, false), 77);
        new CommandLine(run).parseArgs(args);
        return run.options();
    }

    private record Result(int code, String out, String err) { }

    private static Result main(String args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = StressMain.run(args.isEmpty() ? new String[0] : args.split(" "), new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8), false);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void defaultsFollowTheContract() {
        StressOptions o = parse();
        assertEquals(10_000_000_000L, o.durationNanos());
        assertEquals(Long.MAX_VALUE, o.cycles());
        assertEquals(77, o.seed());
        assertFalse(o.seedGiven(), "a clock seed is printed, not given");
        assertEquals(EnumSet.noneOf(FixSwitch.class), o.reverted());
        assertEquals(Crc32cImpl.GENERIC, o.crc32c());
        assertEquals(1, o.filesystems());
        assertEquals(StressOptions.Workload.LANES, o.workload(), "the explorer's lanes are the default");
        assertNull(o.kernel(), "every fix applied, proposed ones too");
        assertEquals(EnumSet.noneOf(FixSwitch.class), o.effectiveReverted());
        assertEquals(1, o.repeat());
        assertEquals(Shard.ALL, o.shard());
        assertEquals(StressOptions.LANES, o.lanes());
        assertNull(o.report());
    }

    /**
     * --apply puts fixes back on top of a profile, before --revert: --kernel 5.11 --apply all is every fix on 5.11's code
     * paths (no preemptive reclaim work), and a replay command of such a run says so again.
     */
    @Test
    void applyAddsFixesToAProfileBeforeRevert() {
        StressOptions o = parse("--kernel", "5.11", "--apply", "all", "--revert", "trans-list-assert");
        assertEquals(EnumSet.of(FixSwitch.TRANS_LIST_ASSERT), o.effectiveReverted());
        assertEquals(org.jbtrfs.core.KernelVersion.V5_11, o.config().version());
        String replay = org.jbtrfs.stress.report.Summary.Config.of(o).replayOptions();
        assertTrue(replay.startsWith(" --kernel 5.11 --apply "), replay);
        StressOptions again = parse(replay.trim().split(" "));
        assertEquals(o.config().appliedFixes(), again.config().appliedFixes());
        assertEquals(o.config().version(), again.config().version());
        assertEquals(EnumSet.complementOf(EnumSet.copyOf(FixSwitch.seed())),
            parse("--kernel", "5.12").effectiveReverted(), "without --apply a profile is what it was");
    }

    @Test
    void aKernelProfileRevertsWhatItLacksAndRevertRevertsMore() {
        StressOptions o = parse("--kernel", "5.12", "--revert", "trans-list-assert", "--workload", "full", "--replay", "7:3", "--repeat",
            "10", "--class", "abcd0123", "--stall-threshold", "0.25");
        EnumSet<FixSwitch> want = EnumSet.complementOf(EnumSet.copyOf(FixSwitch.seed()));
        want.add(FixSwitch.TRANS_LIST_ASSERT);
        assertEquals(want, o.effectiveReverted());
        assertEquals(StressOptions.Workload.FULL, o.workload());
        assertEquals(10, o.repeat());
        assertEquals("abcd0123", o.expectClass());
        assertEquals(250_000_000L, o.stallNanos());
    }


    /**
     * Stop 43, harness: a device model slower than virtio's made the 0.4 s stall threshold report the fill's own
     * writes (hunt 43002: 36 "fill block group" stalls of 0.4–1.2 s on 2 ms reads, 0.5 ms writes, 8 ms flushes). The
     * default scales with the model's cost of a read, a write and a flush, at most half the hung-task timeout; an
     * explicit threshold is taken as given.
     */
    @Test
    void theDefaultStallThresholdScalesWithASlowerDeviceModel() {
        assertEquals(StressOptions.DEFAULT_STALL_NANOS, parse().stallNanos(), "virtio");
        assertEquals(StressOptions.DEFAULT_STALL_NANOS, parse("--latency", "off").stallNanos());
        assertEquals(StressOptions.DEFAULT_STALL_NANOS, parse("--latency", "20,20,50,50").stallNanos(), "faster than virtio");
        assertEquals(StressOptions.DEFAULT_STALL_NANOS, parse("--workload", "minimal").stallNanos());
        // 60+0+300 µs against 120+0+600: twice the cost, twice the threshold
        assertEquals(800_000_000L, parse("--latency", "120,0,600,200").stallNanos());
        assertEquals(5_000_000_000L, parse("--latency", "2000,500,8000,200").stallNanos(), "half the hung-task timeout");
        assertEquals(1_500_000_000L, parse("--latency", "2000,500,8000,200", "--hung-task-timeout", "3").stallNanos());
        assertEquals(StressOptions.DEFAULT_STALL_NANOS, parse("--latency", "2000,500,8000,200", "--hung-task-timeout", "0.5").stallNanos(),
            "never below the default");
        assertEquals(250_000_000L, parse("--latency", "2000,500,8000,200", "--stall-threshold", "0.25").stallNanos(), "as given");
    }
    @Test
    void everyOptionParses() {
        StressOptions o = parse("--duration", "2.5", "--cycles", "9", "--seed", "0x10", "--revert", "qgroup-rescan-ro-remount,trans-list-assert",
            "--crc32c", "accelerated", "--filesystems", "3", "--workload=minimal", "--json", "out.json", "--replay", "5:17:2", "--shard", "2/3",
            "--report", "rep", "--lanes", "file,quota", "--hung-task-timeout", "3", "--stop-when-found", "orphan-roots-ro-mount",
            "--latency", "60,0,300,240");
        assertEquals(2_500_000_000L, o.durationNanos());
        assertEquals(9, o.cycles());
        assertEquals(16, o.seed());
        assertEquals(EnumSet.of(FixSwitch.QGROUP_RESCAN_RO_REMOUNT, FixSwitch.TRANS_LIST_ASSERT), o.reverted());
        assertEquals(Crc32cImpl.ACCELERATED, o.crc32c());
        assertEquals(3, o.filesystems());
        assertEquals(StressOptions.Workload.MINIMAL, o.workload());
        assertEquals("out.json", o.json().toString());
        assertEquals(new ReplayToken(5, 17, 2), o.replay());
        assertEquals(new Shard(2, 3), o.shard());
        assertEquals("rep", o.report().toString());
        assertEquals(List.of("lifecycle", "file", "quota"), o.lanes(), "the lifecycle lane always runs");
        assertEquals(3_000_000_000L, o.hungTaskNanos());
        assertEquals(java.util.Set.of("orphan-roots-ro-mount"), o.stopWhenFound());
        assertEquals("60,0,300,240", o.effectiveLatency().spec());
        assertEquals(org.jbtrfs.core.LatencyModel.parse("60,0,300,240"), o.config().latency());
    }

    /** The explorer's workloads run on a virtio disk's latencies unless told otherwise; the benchmark cycle without. */
    @Test
    void theLatencyModelDefaultsByWorkload() {
        assertEquals(org.jbtrfs.core.LatencyModel.VIRTIO_BLK, parse().config().latency());
        assertEquals(org.jbtrfs.core.LatencyModel.VIRTIO_BLK, parse("--workload", "full").config().latency());
        assertEquals(org.jbtrfs.core.LatencyModel.NONE, parse("--workload", "minimal").config().latency());
        assertEquals(org.jbtrfs.core.LatencyModel.NONE, parse("--latency", "off").config().latency());
        assertEquals(org.jbtrfs.core.LatencyModel.VIRTIO_BLK, parse("--workload", "minimal", "--latency", "virtio").config().latency());
    }

    @Test
    void onlyCyclesLiftsTheDurationBound() {
        assertEquals(Long.MAX_VALUE, parse("--cycles", "5").durationNanos());
    }

    @Test
    void allAndNoneRevert() {
        assertEquals(EnumSet.allOf(FixSwitch.class), parse("--revert", "all").reverted());
        assertTrue(parse("--revert", "none").reverted().isEmpty());
    }

    @Test
    void runIsTheDefaultCommand() {
        assertArrayEquals(new String[] {"run", "--seed", "3"}, StressMain.withCommand(new String[] {"--seed", "3"}));
        assertArrayEquals(new String[] {"run"}, StressMain.withCommand(new String[0]));
        assertArrayEquals(new String[] {"merge", "a.json"}, StressMain.withCommand(new String[] {"merge", "a.json"}));
        assertArrayEquals(new String[] {"help"}, StressMain.withCommand(new String[] {"--help"}));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--revert no-such-fix", "--duration -1", "--replay 12", "--replay x:1", "--replay 1:-2", "--bogus 1",
        "--crc32c fast", "--filesystems 0", "--workload heavy", "--cycles", "stray", "--shard 3/2", "--shard 0/0", "--shard 1/0",
        "--shard x/y", "--shard 2", "--shard 1/", "--lanes file,disk", "--faults disk-full", "--faults all --workload minimal",
        "--faults commit-transaction-eio --workload minimal", "--latency slow", "--latency 1,2,3", "--stall-threshold 0", "--repeat 0", "--kernel 4.19",
        "--swarm 2", "--swarm -0.1", "--swarm x", "--swarm 0.5 --workload full", "--apply all", "--kernel 5.11 --apply no-such-fix",
        "replay", "replay 1:x", "merge", "report a.json"})
    void usageErrorsExitWithTwoAndOneClearLine(String args) {
        Result r = main(args);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("jbtrfs-stress: "), r.err());
        assertTrue(r.err().contains("Usage: jbtrfs-stress "), r.err());
    }

    @Test
    void aShardOutOfRangeSaysWhatAShardIs() {
        for (String bad : new String[] {"3/2", "0/0", "1/0", "x/y"}) {
            String first = main("--shard " + bad).err().lines().findFirst().orElseThrow();
            assertTrue(first.contains("'" + bad + "' is not a shard: expected i/n") && first.contains("1 <= i <= n"), first);
        }
        assertTrue(main("--lanes file,disk").err().contains("unknown lane 'disk': the lanes are lifecycle, file, subvol, quota, sync, dev2"));
        assertTrue(main("--revert nope").err().contains("orphan-roots-ro-mount"), "an unknown switch names the valid ones");
        assertTrue(main("--faults disk-full").err().contains("unknown fault 'disk-full': the faults are del-orphan-item-enomem, "
            + "start-transaction-enospc, commit-transaction-eio, orphan-cleanup-enomem, write-and-wait-transaction-eio"));
        assertTrue(main("--faults all --workload minimal").err().contains("needs the lanes or the full workload"));
        assertTrue(main("--swarm 2").err().contains("--swarm must be a probability from 0 to 1, not 2.0"));
        assertTrue(main("--swarm 0.5 --workload full").err().contains("--swarm needs the lanes workload"));
    }

    @Test
    void helpIsExitZero() {
        Result top = main("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("merge") && top.out().contains("replay"), top.out());
        Result run = main("run --help");
        assertEquals(0, run.code());
        assertTrue(run.out().contains("--shard") && run.out().contains("--report"), run.out());
    }
}
